"""Transcripts of episodes, kept as revisions: a correction is a new revision, never an
overwrite, so anchors made on an older one can be found again (community/anchoring.py)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from community.models.base import Base, utcnow


class TranscriptRevision(Base):
    __tablename__ = "transcript_revisions"
    __table_args__ = (UniqueConstraint("episode_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    episode_id: Mapped[int] = mapped_column(ForeignKey("episodes.id", ondelete="CASCADE"), index=True)
    number: Mapped[int]  # 1, 2, ... per episode; the highest is the one shown
    kind: Mapped[str] = mapped_column(String(10))  # vtt, srt, json, html
    source_url: Mapped[str | None] = mapped_column(String(2000))  # podcast:transcript, or None for an upload
    language: Mapped[str | None] = mapped_column(String(35))
    note: Mapped[str] = mapped_column(String(300), default="")  # what this revision corrected
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    segments: Mapped[list[TranscriptSegment]] = relationship(
        back_populates="revision", cascade="all, delete-orphan", lazy="raise", order_by="TranscriptSegment.position")


class TranscriptSegment(Base):
    __tablename__ = "transcript_segments"
    __table_args__ = (Index("ix_transcript_segments_revision_id_position", "revision_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    revision_id: Mapped[int] = mapped_column(ForeignKey("transcript_revisions.id", ondelete="CASCADE"))
    position: Mapped[int]
    start: Mapped[float] = mapped_column(Float)
    end: Mapped[float | None] = mapped_column(Float)
    speaker: Mapped[str] = mapped_column(String(200), default="")  # as the file names them
    # The episode's Person the speaker label was matched to (by name; confirmable in the console).
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    text: Mapped[str] = mapped_column(Text)

    revision: Mapped[TranscriptRevision] = relationship(back_populates="segments", lazy="raise")
