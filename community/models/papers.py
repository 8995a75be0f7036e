"""A paper, once per canonical id; each episode that cites it does so through a Post of kind paper."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, Enum, String, Text, false
from sqlalchemy.orm import Mapped, mapped_column

from community.models.base import Base, utcnow


class MetadataStatus(str, enum.Enum):
    """Where a paper's bibliographic details stand.

    none: nothing to fetch (a link, or an id no API here answers for: ACL, PMLR, NeurIPS);
    pending: asked for, not fetched yet ("fetching details…");
    fetched: filled from the source (or from verified data, for the demo);
    failed: the source did not answer usefully; retried later, nothing invented meanwhile."""

    none = "none"
    pending = "pending"
    fetched = "fetched"
    failed = "failed"


class Paper(Base):
    __tablename__ = "papers"

    id: Mapped[int] = mapped_column(primary_key=True)
    # From community.paper_ids: "arxiv:2005.11401", "doi:10.1038/nature14539", "url:https://...".
    canonical_id: Mapped[str] = mapped_column(String(600), unique=True)
    url: Mapped[str] = mapped_column(String(2000))
    source: Mapped[str] = mapped_column(String(40))
    # Empty until the metadata lands when the submitter gave none (see MetadataStatus).
    title: Mapped[str] = mapped_column(String(300), default="")
    authors: Mapped[list[str]] = mapped_column(JSON, default=list)  # full names, in the paper's order
    year: Mapped[int | None]
    venue: Mapped[str] = mapped_column(String(300), default="", server_default="")
    abstract: Mapped[str] = mapped_column(Text, default="", server_default="")
    # The published version's DOI (for doi: ids, the id itself; for arXiv, the journal's if it gave one).
    doi: Mapped[str | None] = mapped_column(String(300))
    # "article", "inproceedings" or "misc"; None: decided from the venue when exported.
    bibtex_type: Mapped[str | None] = mapped_column(String(20))
    arxiv_category: Mapped[str] = mapped_column(String(40), default="", server_default="")  # primaryClass
    metadata_status: Mapped[MetadataStatus] = mapped_column(
        Enum(MetadataStatus, native_enum=False, create_constraint=True, length=10, name="metadata_status"),
        default=MetadataStatus.none, server_default=MetadataStatus.none.value)
    metadata_checked_at: Mapped[datetime | None]  # the last attempt, successful or not
    metadata_attempts: Mapped[int] = mapped_column(default=0, server_default="0")  # failures in a row
    metadata_error: Mapped[str | None] = mapped_column(String(300))
    # A link (a url: id) someone who submitted it, or a moderator, confirmed is a paper: exported then.
    confirmed_paper: Mapped[bool] = mapped_column(default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    @property
    def arxiv_id(self) -> str | None:
        return self.canonical_id.removeprefix("arxiv:") if self.canonical_id.startswith("arxiv:") else None

    @property
    def is_link(self) -> bool:
        """A web page that no identifier names as a paper, unless confirmed as one."""
        return self.canonical_id.startswith("url:") and not self.confirmed_paper

    @property
    def display_title(self) -> str:
        """The title, or what names the paper until its details land ("arXiv 2005.11401")."""
        if self.title:
            return self.title
        kind, _, rest = self.canonical_id.partition(":")
        return f"{self.source} {rest}" if kind != "url" else self.url

    @property
    def pending(self) -> bool:
        return self.metadata_status == MetadataStatus.pending
