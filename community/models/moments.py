"""Moments: discussion anchored to what was said. A moment is a span of an episode's
transcript (community/anchoring.py keeps it: quote, context, position, time) with either
the post that starts discussion there, or a guest's correction of their own words."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from community.models.base import Base, utcnow
from community.models.accounts import User
from community.models.discussion import Post
from community.models.episodes import Episode


class Moment(Base):
    __tablename__ = "moments"

    id: Mapped[int] = mapped_column(primary_key=True)
    episode_id: Mapped[int] = mapped_column(ForeignKey("episodes.id", ondelete="CASCADE"), index=True)
    # The anchored post (comment, question, paper), or None for a guest's correction.
    post_id: Mapped[int | None] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"), unique=True)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    correction: Mapped[str | None] = mapped_column(Text)  # a guest's "I misspoke: it was 2019"
    # The anchor, as anchoring.Anchor keeps it, on transcript revision `revision`.
    quote: Mapped[str] = mapped_column(Text)
    prefix: Mapped[str] = mapped_column(String(64), default="")
    suffix: Mapped[str] = mapped_column(String(64), default="")
    start: Mapped[int] = mapped_column(Integer)
    end: Mapped[int] = mapped_column(Integer)
    time_start: Mapped[float | None] = mapped_column(Float)
    time_end: Mapped[float | None] = mapped_column(Float)
    revision: Mapped[int] = mapped_column(Integer)
    # Not found again on a later revision: shown as drifted, with its original quote.
    drifted: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    # No backref: a post's moment is set on it only where chips are shown
    # (services.moments.load_for: one query, on episodes that have a transcript).
    post: Mapped[Post | None] = relationship(Post, lazy="raise")
    episode: Mapped[Episode] = relationship(Episode, lazy="joined", innerjoin=True)
    author: Mapped[User | None] = relationship(User, lazy="joined")  # a correction names its guest

    @property
    def seconds(self) -> int:
        return int(self.time_start or 0)
