"""What a reader chose to hear about: an episode, a thread (a post and every reply under
it) or a paper watched, or a thread muted."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from community.models.base import Base, utcnow


class Watch(Base):
    __tablename__ = "watches"
    __table_args__ = (
        # One target per row; NULLs differ in a unique constraint, so each pair is unique per user.
        CheckConstraint(" + ".join(f"(CASE WHEN {c} IS NULL THEN 0 ELSE 1 END)" for c in (
            "episode_id", "post_id", "paper_id")) + " = 1", name="one_target"),
        UniqueConstraint("user_id", "episode_id", name="uq_watches_user_id_episode_id"),
        UniqueConstraint("user_id", "post_id", name="uq_watches_user_id_post_id"),
        UniqueConstraint("user_id", "paper_id", name="uq_watches_user_id_paper_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    episode_id: Mapped[int | None] = mapped_column(ForeignKey("episodes.id", ondelete="CASCADE"), index=True)
    post_id: Mapped[int | None] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"), index=True)
    paper_id: Mapped[int | None] = mapped_column(ForeignKey("papers.id", ondelete="CASCADE"), index=True)
    # A muted thread (posts only): nothing under it notifies this user, whatever the reason.
    muted: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
