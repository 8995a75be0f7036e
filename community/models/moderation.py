"""The append-only log of moderator decisions."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from community.models.accounts import User
from community.models.base import Base, utcnow
from community.models.discussion import Post


class ModerationAction(Base):
    """Never updated or deleted: the public log is this table."""

    __tablename__ = "moderation_actions"
    __table_args__ = (Index("ix_moderation_actions_created_at", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    moderator_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(30), index=True)
    post_id: Mapped[int | None] = mapped_column(ForeignKey("posts.id", ondelete="SET NULL"), index=True)
    target_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    moderator: Mapped[User | None] = relationship(foreign_keys=[moderator_id], lazy="joined")
    target_user: Mapped[User | None] = relationship(foreign_keys=[target_user_id], lazy="joined")
    post: Mapped[Post | None] = relationship(lazy="joined")
