"""Background work that survives: an outbox of jobs written in the caller's transaction.

    @jobs.handler("mail.send")
    def send_mail(to, subject, ...): ...        # takes ids and plain values, never objects

    jobs.enqueue("papers.enrich", paper_id=paper.id)   # inside the request's transaction

A job row exists if and only if the transaction that enqueued it committed. After the
commit the rows are handed to the job engine (community/job_queue.py: Huey); a periodic
relay hands over again what a dead process never handed over and what a dead worker left
running. A run claims its row (queued -> running, one winner), runs the handler, and
records done or the error; failures are retried with backoff until max_attempts. A done
job never runs again. Like every service, nothing here commits: the runner does.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update

from community.extensions import db
from community.models import Job, JobStatus, User
from community.models.base import utcnow
from community.services import DomainError, NotFound, admin_log

PENDING = "jobs_to_hand_over"  # the session.info key: ids to hand to the engine after commit
# Seconds to wait before the 2nd, 3rd, ... attempt; the last figure repeats.
BACKOFF = (10, 60, 300, 1800, 3600)


@dataclass(frozen=True)
class Handler:
    run: Callable[..., object]
    max_attempts: int


HANDLERS: dict[str, Handler] = {}


def handler(name: str, *, max_attempts: int = 5):
    """Register the function that runs jobs called `name`; it receives the job's args."""

    def decorator(function):
        if name in HANDLERS and HANDLERS[name].run is not function:
            raise ValueError(f"a job handler named {name!r} is already registered")
        HANDLERS[name] = Handler(function, max_attempts)
        return function

    return decorator


def enqueue(name: str, *, unique_key: str | None = None, delay_seconds: float = 0, **args) -> Job:
    """Write a job in the current transaction. `args` must be JSON (ids, strings, numbers).
    With `unique_key`, a job of that key not yet finished is returned instead of a new one."""
    if name not in HANDLERS:
        raise LookupError(f"no job handler named {name!r} (is its module imported?)")
    if unique_key is not None:
        waiting = db.session.scalar(select(Job).where(
            Job.unique_key == unique_key, Job.status.in_((JobStatus.queued, JobStatus.running))).limit(1))
        if waiting is not None:
            return waiting
    now = utcnow()
    job = Job(name=name, args=args, status=JobStatus.queued, attempts=0, max_attempts=HANDLERS[name].max_attempts,
              unique_key=unique_key, run_after=now + timedelta(seconds=delay_seconds), created_at=now)
    db.session.add(job)
    db.session.flush()
    db.session.info.setdefault(PENDING, []).append(job.id)
    return job


def take_pending(session) -> list[int]:
    """The ids enqueued in a transaction that has just committed (emptied as it is read)."""
    return session.info.pop(PENDING, None) or []


def forget_pending(session) -> None:
    """A rolled-back transaction wrote no job: nothing to hand over."""
    session.info.pop(PENDING, None)


# ---------------------------------------------------------------- running

def claim(job_id: int) -> Job | None:
    """queued -> running for exactly one caller (a compare-and-set on the row); None when
    the job is done, failed, running elsewhere or not due yet (a duplicate hand-over)."""
    now = utcnow()
    claimed = db.session.execute(
        update(Job).where(Job.id == job_id, Job.status == JobStatus.queued,
                          Job.run_after <= now + timedelta(seconds=1))
        .values(status=JobStatus.running, attempts=Job.attempts + 1, started_at=now, finished_at=None)
        .execution_options(synchronize_session=False))
    if claimed.rowcount != 1:
        return None
    return db.session.scalars(select(Job).where(Job.id == job_id).execution_options(populate_existing=True)).one()


def execute(job: Job) -> None:
    """Run the handler in the caller's transaction; the caller commits it with finish()."""
    if job.name not in HANDLERS:
        raise LookupError(f"no job handler named {job.name!r}")
    HANDLERS[job.name].run(**job.args)


def finish(job: Job) -> None:
    """Done for good. last_error stays: the console shows why a done job needed retries."""
    job.status = JobStatus.done
    job.finished_at = utcnow()
    db.session.flush()


def backoff_seconds(attempts: int, schedule: tuple[int, ...] = BACKOFF) -> int:
    return schedule[min(attempts, len(schedule)) - 1]


def record_failure(job_id: int, error: BaseException, schedule: tuple[int, ...] = BACKOFF) -> datetime | None:
    """After a failed attempt (its own transaction rolled back): queue the next attempt and
    return when it is due, or mark the job failed when its attempts are used up (None)."""
    job = db.session.scalars(select(Job).where(Job.id == job_id).execution_options(populate_existing=True)).one()
    if job.status != JobStatus.running:
        return None  # a stale-lease relay took it back meanwhile: its new run decides
    now = utcnow()
    job.last_error = "".join(traceback.format_exception_only(type(error), error)).strip()[:2000]
    job.finished_at = now
    if job.attempts >= job.max_attempts:
        job.status = JobStatus.failed
        db.session.flush()
        return None
    job.status = JobStatus.queued
    job.run_after = now + timedelta(seconds=backoff_seconds(job.attempts, schedule))
    db.session.flush()
    return job.run_after


def relay(*, grace_seconds: float, lease_seconds: float) -> list[tuple[int, datetime]]:
    """What the engine should have and may not: (id, due) to hand over again.
    - queued rows overdue by grace_seconds: their hand-over was lost (the process that
      committed them died first), at most once per lease_seconds each;
    - running rows whose lease (started_at + lease_seconds) ran out: their worker died
      mid-job. The attempt counts; with attempts used up the job fails."""
    now = utcnow()
    overdue = now - timedelta(seconds=grace_seconds)
    stale = now - timedelta(seconds=lease_seconds)
    lost = list(db.session.scalars(select(Job).where(
        Job.status == JobStatus.queued, Job.run_after <= overdue,
        (Job.relayed_at.is_(None)) | (Job.relayed_at < stale)).order_by(Job.run_after).limit(10_000)))
    for job in db.session.scalars(select(Job).where(Job.status == JobStatus.running, Job.started_at < stale)):
        job.last_error = f"the worker stopped during attempt {job.attempts} (no result within {lease_seconds:g} s)"
        job.finished_at = now
        if job.attempts >= job.max_attempts:
            job.status = JobStatus.failed
        else:
            job.status = JobStatus.queued
            job.run_after = now
            lost.append(job)
    for job in lost:
        job.relayed_at = now
    db.session.flush()
    return [(job.id, job.run_after) for job in lost]


# ---------------------------------------------------------------- the console

@dataclass(frozen=True)
class Overview:
    counts: dict[JobStatus, int]
    retried: int  # jobs that needed more than one attempt (done, waiting or failed)
    failed: list[Job]
    retrying: list[Job]  # queued again after a failed attempt


def overview(limit: int = 100) -> Overview:
    counts = dict.fromkeys(JobStatus, 0)
    counts.update(db.session.execute(select(Job.status, func.count(Job.id)).group_by(Job.status)).all())
    retried = db.session.scalar(select(func.count(Job.id)).where(
        (Job.attempts > 1) | ((Job.attempts == 1) & (Job.status == JobStatus.queued)))) or 0
    failed = list(db.session.scalars(select(Job).where(Job.status == JobStatus.failed)
                                     .order_by(Job.finished_at.desc(), Job.id.desc()).limit(limit)))
    retrying = list(db.session.scalars(select(Job).where(Job.status == JobStatus.queued, Job.attempts > 0)
                                       .order_by(Job.run_after).limit(limit)))
    return Overview(counts, retried, failed, retrying)


class NotRetriable(DomainError):
    """Only a failed job can be retried (a queued or running one is on its way; done is done)."""


def retry(actor: User, job_id: int) -> Job:
    """A failed job gets one more attempt, now (logged in the admin log)."""
    job = db.session.get(Job, job_id)
    if job is None:
        raise NotFound("No such job.")
    if job.status != JobStatus.failed:
        raise NotRetriable(f"Job {job.id} is {job.status.value}: only failed jobs can be retried.")
    job.status = JobStatus.queued
    job.max_attempts = job.attempts + 1
    job.run_after = utcnow()
    job.relayed_at = None
    admin_log.record(actor, "job.retry", target_type="job", target_id=job.id,
                     summary=f"Retried job {job.id} ({job.name}) after {job.attempts} attempts",
                     before={"status": "failed", "last_error": job.last_error[:200]}, after={"status": "queued"})
    db.session.flush()
    db.session.info.setdefault(PENDING, []).append(job.id)
    return job
