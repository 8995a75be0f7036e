"""The podcast feeds the site imports episodes from, and what their last refresh did."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, String, Text, true
from sqlalchemy.orm import Mapped, mapped_column

from community.models.base import Base, utcnow


class FeedSource(Base):
    """One feed URL. `flask feeds refresh` (hourly from a timer) and "refresh now" in the
    console fetch every active one with a conditional GET: the validators the server gave
    last time (etag, last_modified) are sent back, and a 304 means nothing is parsed."""

    __tablename__ = "feed_sources"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(2000), unique=True)
    etag: Mapped[str | None] = mapped_column(String(500))
    last_modified: Mapped[str | None] = mapped_column(String(100))  # as the server sent it (an HTTP date)
    last_checked_at: Mapped[datetime | None]
    # One line a person reads: "imported", "not modified (304)", "failed"
    last_status: Mapped[str] = mapped_column(String(100), default="", server_default="")
    last_error: Mapped[str | None] = mapped_column(Text)  # set by a failed refresh, cleared by a good one
    # What the last import did: {"created": 1, "updated": 0, ..., "chapter_failures": [...]}
    last_counts: Mapped[dict] = mapped_column(JSON, default=dict, server_default="{}")
    active: Mapped[bool] = mapped_column(default=True, server_default=true())
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
