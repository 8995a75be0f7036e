"""Flags from readers and the append-only log of moderator decisions."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Enum, Float, ForeignKey, Index, String, Text, UniqueConstraint
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
    post: Mapped[Post | None] = relationship(lazy="raise")  # the log links by id; never loads posts


class FlagReason(str, enum.Enum):
    spam = "spam"
    off_topic = "off_topic"
    unkind = "unkind"
    citation = "citation"  # "needs citation": a gentle request for a source; notifies, never hides
    other = "other"  # a note is then required


FLAG_REASON_LABELS = {
    FlagReason.spam: "Spam",
    FlagReason.off_topic: "Off-topic",
    FlagReason.unkind: "Unkind",
    FlagReason.citation: "Needs citation",
    FlagReason.other: "Other",
}


class Flag(Base):
    """One per reader per post (the constraint decides races); withdrawing deletes it."""

    __tablename__ = "flags"
    __table_args__ = (UniqueConstraint("user_id", "post_id"), Index("ix_flags_post_id_resolved_at", "post_id", "resolved_at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"))
    reason: Mapped[FlagReason] = mapped_column(
        Enum(FlagReason, native_enum=False, create_constraint=True, length=12, name="flag_reason"))
    note: Mapped[str] = mapped_column(String(500), default="")
    # The flagger's weight when flagging (by role and account age); see services.moderation.
    weight: Mapped[float] = mapped_column(Float, default=1.0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Set when a moderator acts on the post: the flag leaves the queue but stays on record.
    resolved_at: Mapped[datetime | None]

    user: Mapped[User] = relationship(foreign_keys=[user_id], lazy="joined")
