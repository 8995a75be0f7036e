"""In-app notifications: one row per (user, event)."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from community.models.accounts import User
from community.models.base import Base, utcnow
from community.models.discussion import Post


class NotificationKind(str, enum.Enum):
    reply = "reply"
    mention = "mention"
    answer = "answer"  # a question you asked or voted for was answered
    merged = "merged"  # your question was merged into another
    moderation = "moderation"  # an outcome about your post or account
    citation = "citation"  # a "needs citation" flag: a gentle request for a source
    episode = "episode"  # a new episode with a guest you follow
    question = "question"  # a new question on an episode you were a guest on
    watching = "watching"  # a new post in an episode, thread or paper you watch


class Notification(Base):
    __tablename__ = "notifications"
    __table_args__ = (
        # The same event never notifies the same person twice.
        UniqueConstraint("user_id", "kind", "post_id", "event_key"),
        Index("ix_notifications_user_id_read_at", "user_id", "read_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[NotificationKind] = mapped_column(
        Enum(NotificationKind, native_enum=False, create_constraint=True, length=12, name="notification_kind"))
    post_id: Mapped[int | None] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"))
    # The other post the message quotes (services.watching.describe): the one replied to, or
    # a guest's answer. Its text shows only while that post is public too.
    about_id: Mapped[int | None] = mapped_column(ForeignKey("posts.id", ondelete="SET NULL"))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    # Tells apart two events of one kind on one post (e.g. two moderation actions).
    event_key: Mapped[str] = mapped_column(String(60), default="")
    message: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None]
    emailed_at: Mapped[datetime | None]

    # Loaded on purpose where needed (mail): joining posts + authors here made every
    # notifications page a nested join over the whole posts table.
    post: Mapped[Post | None] = relationship(lazy="raise", foreign_keys=[post_id])
    about: Mapped[Post | None] = relationship(lazy="raise", foreign_keys=[about_id])
    actor: Mapped[User | None] = relationship(foreign_keys=[actor_id], lazy="joined")

    @property
    def text(self) -> str:
        """What to show. Replies, mentions, answers and what you watch quote posts as first
        written, but only while both are public: a post removed, hidden or deleted since
        must not live on in someone's notifications or mail. Needs `post` and `about` loaded."""
        if self.kind in QUOTING and not (self.post is not None and self.post.is_live and (
                self.about_id is None or (self.about is not None and self.about.is_live))):
            who = self.actor.name if self.actor else "Someone"
            return f"{who} {QUOTING[self.kind]}"
        return self.message


# What a quoting notification says instead of the quote once a quoted post is not public.
QUOTING = {NotificationKind.reply: "replied to your post", NotificationKind.mention: "mentioned you",
           NotificationKind.answer: "answered a question", NotificationKind.question: "asked you a question",
           NotificationKind.watching: "posted in something you watch"}
