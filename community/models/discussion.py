"""Posts (every piece of user-written content), votes, edit history, read marks."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, Enum, false, text, ForeignKey, Index, Integer, SmallInteger, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from community.models.accounts import User
from community.models.base import Base, utcnow
from community.models.episodes import Episode
from community.models.papers import Paper


class PostKind(str, enum.Enum):
    comment = "comment"
    paper = "paper"
    question = "question"
    suggestion = "suggestion"


class PostStatus(str, enum.Enum):
    visible = "visible"
    pending = "pending"  # waiting for a moderator before anyone else sees it
    hidden = "hidden"  # reversible: flagged past the threshold, or hidden by a moderator
    removed = "removed"  # by moderators; the thread keeps a placeholder with the reason
    deleted = "deleted"  # by its author; a tombstone that keeps the replies in place


def _enum(cls, name: str, length: int) -> Enum:
    return Enum(cls, native_enum=False, create_constraint=True, length=length, name=name)


class Post(Base):
    __tablename__ = "posts"
    __table_args__ = (
        # The episode page loads every post of an episode in one indexed range scan.
        Index("ix_posts_episode_id_kind", "episode_id", "kind"),
        Index("ix_posts_root_id", "root_id"),
        Index("ix_posts_author_id_created_at", "author_id", "created_at"),
        # "New since your last visit" (services/activity): an episode's posts after a moment.
        Index("ix_posts_episode_id_created_at", "episode_id", "created_at"),
        # One entry per paper per episode: a second submission becomes a vote (NULLs never clash).
        Index("uq_posts_episode_id_paper_id", "episode_id", "paper_id", unique=True),
        # Lists by kind: the suggestion board, questions across episodes, the paper graph.
        Index("ix_posts_kind_status_score", "kind", "status", "score"),
        # The moderation queue is an OR of these three; each side has its own index.
        Index("ix_posts_flag_count", "flag_count"),
        Index("ix_posts_status", "status"),
        Index("ix_posts_open_appeals", "appealed_at",
              sqlite_where=text("appealed_at IS NOT NULL AND appeal_resolved_at IS NULL"),
              postgresql_where=text("appealed_at IS NOT NULL AND appeal_resolved_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[PostKind] = mapped_column(_enum(PostKind, "post_kind", 12), default=PostKind.comment)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    episode_id: Mapped[int | None] = mapped_column(ForeignKey("episodes.id", ondelete="CASCADE"))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"), index=True)
    # The top of the thread (itself for a top-level post): a permalink loads one thread in one query.
    root_id: Mapped[int | None] = mapped_column(Integer)
    depth: Mapped[int] = mapped_column(SmallInteger, default=0)
    body_source: Mapped[str] = mapped_column(Text, default="")
    body_html: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[PostStatus] = mapped_column(_enum(PostStatus, "post_status", 10), default=PostStatus.visible)
    status_reason: Mapped[str | None] = mapped_column(String(500))
    score: Mapped[int] = mapped_column(default=0)
    flag_count: Mapped[int] = mapped_column(default=0)
    reply_count: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    edited_at: Mapped[datetime | None]
    deleted_at: Mapped[datetime | None]  # the author's delete, which they may undo for a few seconds
    # Kind paper: which paper, and the moment in the episode where it comes up.
    paper_id: Mapped[int | None] = mapped_column(ForeignKey("papers.id", ondelete="CASCADE"), index=True)
    # A paper's moment in its episode; for a question answered on air, the moment in linked_episode.
    moment_seconds: Mapped[int | None]
    # Questions (open, answered, declined, merged) and suggestions (suggested, contacted,
    # scheduled, recorded, declined) move through stages; see services.questions / guests.
    stage: Mapped[str | None] = mapped_column(String(20), index=True)
    stage_note: Mapped[str | None] = mapped_column(String(500))
    answer_id: Mapped[int | None] = mapped_column(ForeignKey("posts.id", ondelete="SET NULL"))
    linked_episode_id: Mapped[int | None] = mapped_column(ForeignKey("episodes.id", ondelete="SET NULL"))
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("posts.id", ondelete="SET NULL"))
    # A suggestion's nominee, and the key duplicates are found by (case and accents folded).
    title: Mapped[str | None] = mapped_column(String(300))
    title_key: Mapped[str | None] = mapped_column(String(300), index=True)
    details: Mapped[dict | None] = mapped_column(JSON)
    # Moderation: a locked thread takes no new replies; an author may appeal a hidden or
    # removed post once, which puts it back in the queue.
    locked: Mapped[bool] = mapped_column(default=False, server_default=false())
    flag_weight: Mapped[float] = mapped_column(default=0.0, server_default="0")
    appeal_note: Mapped[str | None] = mapped_column(String(1000))
    appealed_at: Mapped[datetime | None]
    appeal_resolved_at: Mapped[datetime | None]

    author: Mapped[User] = relationship(lazy="joined", innerjoin=True)
    paper: Mapped[Paper | None] = relationship(lazy="joined")
    episode_link: Mapped[Episode | None] = relationship(foreign_keys=[linked_episode_id], lazy="raise")
    episode: Mapped[Episode | None] = relationship(foreign_keys=[episode_id], lazy="raise")

    @property
    def is_live(self) -> bool:
        return self.status == PostStatus.visible

    @property
    def is_tombstone(self) -> bool:
        return self.status in (PostStatus.deleted, PostStatus.removed)


class Vote(Base):
    """One upvote per user per post; the unique constraint, not a read, enforces it."""

    __tablename__ = "votes"
    __table_args__ = (UniqueConstraint("user_id", "post_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"), index=True)
    value: Mapped[int] = mapped_column(SmallInteger, default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Revision(Base):
    """The source a post had before an edit; the newest text lives on the post."""

    __tablename__ = "revisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    post_id: Mapped[int] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"), index=True)
    editor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    body_source: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    editor: Mapped[User | None] = relationship(lazy="joined")


class ThreadVisit(Base):
    """When a user last read an episode's discussion: drives "new since your last visit"."""

    __tablename__ = "thread_visits"
    __table_args__ = (UniqueConstraint("user_id", "episode_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    episode_id: Mapped[int] = mapped_column(ForeignKey("episodes.id", ondelete="CASCADE"), index=True)
    visited_at: Mapped[datetime] = mapped_column(default=utcnow)
    # The visit before this one: an upsert moves visited_at here and returns it, in one statement.
    previous_visited_at: Mapped[datetime | None]
