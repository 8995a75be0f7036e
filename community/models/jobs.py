"""The job outbox: a row per piece of background work, written in the transaction that
caused it, so a job exists if and only if that transaction committed (services/jobs.py)."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, Enum, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from community.models.base import Base, utcnow


class JobStatus(str, enum.Enum):
    queued = "queued"  # waiting for run_after (a retry waits here too)
    running = "running"  # claimed by a worker at started_at (its lease)
    done = "done"  # never runs again
    failed = "failed"  # attempts used up; an admin may retry it


class Job(Base):
    __tablename__ = "jobs"
    __table_args__ = (
        # The relay's and the console's questions: what is due, what is stale, how many of each.
        Index("ix_jobs_status_run_after", "status", "run_after"),
        Index("ix_jobs_unique_key", "unique_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(60))  # a registered handler, e.g. "mail.send"
    args: Mapped[dict] = mapped_column(JSON, default=dict)  # ids and plain values, never objects
    status: Mapped[JobStatus] = mapped_column(
        Enum(JobStatus, native_enum=False, create_constraint=True, length=10, name="job_status"),
        default=JobStatus.queued)
    attempts: Mapped[int] = mapped_column(default=0)
    max_attempts: Mapped[int] = mapped_column(default=5)
    last_error: Mapped[str] = mapped_column(Text, default="")
    # At most one unfinished job per key (e.g. one digest per user waiting at a time).
    unique_key: Mapped[str | None] = mapped_column(String(100))
    run_after: Mapped[datetime] = mapped_column(default=utcnow)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    # When the relay last handed the row to the engine again (a lost hand-over, a stale lease).
    relayed_at: Mapped[datetime | None]
