"""A paper, once per canonical id; each episode that cites it does so through a Post of kind paper."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from community.models.base import Base, utcnow


class Paper(Base):
    __tablename__ = "papers"

    id: Mapped[int] = mapped_column(primary_key=True)
    # From community.paper_ids: "arxiv:2005.11401", "doi:10.1038/nature14539", "url:https://...".
    canonical_id: Mapped[str] = mapped_column(String(600), unique=True)
    url: Mapped[str] = mapped_column(String(2000))
    source: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(300))
    authors: Mapped[str] = mapped_column(Text, default="")
    year: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def arxiv_id(self) -> str | None:
        return self.canonical_id.removeprefix("arxiv:") if self.canonical_id.startswith("arxiv:") else None

    @property
    def doi(self) -> str | None:
        return self.canonical_id.removeprefix("doi:") if self.canonical_id.startswith("doi:") else None
