"""The job engine under services/jobs.py: Huey, on a SQLite file in the instance folder by
default (one command, no service to run) and on Redis when REDIS_URL is set.

The outbox table is the truth; Huey carries job ids from the committing process to the
worker, wakes retries when they are due and runs the relay every JOBS_RELAY_SECONDS.
- After each commit, the job ids written in it are handed to Huey (a session event).
- In TESTING (or JOBS_IMMEDIATE=True) they run right there, in-process, instead.
- `flask --app community worker` consumes them (community/cli.py).
This module commits (it is the runner, as a view is for a request) and is wired by the factory.
"""

from __future__ import annotations

import atexit
import logging
import os
import queue
import threading
from datetime import datetime
from functools import cached_property

from flask import Flask, current_app, has_app_context, has_request_context, request
from huey import RedisHuey, SqliteHuey
from huey.consumer import Consumer
from sqlalchemy import event

from community import config as settings
from community.extensions import db
from community.models.base import utcnow
from community.services import jobs, mail, notifications  # noqa: F401  (mail and notifications register handlers)

log = logging.getLogger("community.jobs")


def init_app(app: Flask) -> None:
    app.extensions["jobs"] = JobEngine(app)
    # Session events belong to the session class, shared by every app of the process.
    if not event.contains(db.session, "after_commit", hand_over_committed):
        event.listen(db.session, "after_commit", hand_over_committed)
        event.listen(db.session, "after_rollback", jobs.forget_pending)


def engine(app: Flask | None = None) -> JobEngine:
    return (app or current_app).extensions["jobs"]


def hand_over_committed(session) -> None:
    """The transaction committed: its jobs exist now, give them to the engine."""
    ids = jobs.take_pending(session)
    if ids and has_app_context():
        engine().committed(ids)


class JobEngine:
    def __init__(self, app: Flask):
        self.app = app
        config = app.config
        immediate = config.get("JOBS_IMMEDIATE")
        self.immediate = app.testing if immediate is None else bool(immediate)
        self.redis_url = config.get("JOBS_REDIS_URL") or config.get("REDIS_URL")
        self.sqlite_path = config.get("JOBS_SQLITE_PATH") or os.path.join(app.instance_path, "jobs.sqlite")
        self.backoff = tuple(config.get("JOBS_BACKOFF") or jobs.BACKOFF)
        self.lease_seconds = float(config.get("JOBS_LEASE_SECONDS", 600))
        self.relay_seconds = int(config.get("JOBS_RELAY_SECONDS", 30))
        self.courier = Courier(self)

    @cached_property
    def huey(self):
        """Made on first use: an app that runs its jobs in-process never opens a queue."""
        if self.redis_url:
            from redis import ConnectionPool

            # A Redis that stops answering costs seconds, not a request (the relay catches up).
            pool = ConnectionPool.from_url(self.redis_url, socket_connect_timeout=2, socket_timeout=5)
            huey = RedisHuey("gi-community", connection_pool=pool, results=False)
        else:
            os.makedirs(os.path.dirname(self.sqlite_path) or ".", exist_ok=True)
            huey = SqliteHuey("gi-community", filename=self.sqlite_path, results=False)
        huey.run_task = huey.task(name="jobs.run")(self.run)
        # Every time the scheduler checks periodic tasks (every relay_seconds, see Worker).
        huey.periodic_task(lambda moment: True, name="jobs.relay")(self.relay)
        return huey

    @property
    def where(self) -> str:
        return "Redis" if self.redis_url else f"SQLite file {self.sqlite_path}"

    def base_url(self) -> str:
        """Links in mail name the site (PUBLIC_URL); without one (tests, a bare debug run)
        the address of the request that enqueued the job, else `make run`'s."""
        return (settings.public_url(self.app.config)
                or (request.host_url if has_request_context() else None) or "http://127.0.0.1:5000")

    # ------------------------------------------------------------ handing over

    def committed(self, ids: list[int]) -> None:
        if self.immediate:
            base_url = self.base_url()
            for job_id in ids:
                self.run(job_id, base_url=base_url)
        else:
            self.courier.carry([(job_id, None) for job_id in ids])

    def hand_over(self, items: list[tuple[int, datetime | None]]) -> None:
        """Into Huey's queue (or its schedule, for a retry not due yet). A failure here loses
        nothing: the rows are committed, and the relay hands them over once overdue."""
        now = utcnow()
        try:
            run_task = self.huey.run_task
            for job_id, due in items:
                wait = (due - now).total_seconds() if due is not None else 0
                if wait > 1:
                    run_task.schedule(args=(job_id,), delay=wait)
                else:
                    run_task(job_id)
        except Exception:  # the queue's storage is down: logged; the relay will catch up
            log.exception("could not hand jobs %s to the queue (%s); the relay will retry", [i for i, _ in items],
                          self.where)

    # ------------------------------------------------------------ running

    def run(self, job_id: int, base_url: str | None = None) -> None:
        """One attempt at one job, in a fresh app context (a session of its own)."""
        app = self.app
        with app.app_context(), app.test_request_context(base_url=base_url or self.base_url()):
            job = jobs.claim(job_id)
            db.session.commit()
            if job is None:
                return  # done already, failed, running elsewhere, or not due: a duplicate hand-over
            try:
                jobs.execute(job)
                jobs.finish(job)
                db.session.commit()
                return
            except Exception as error:
                db.session.rollback()
                failure = error
            due = jobs.record_failure(job_id, failure, self.backoff)
            db.session.commit()
            if due is None:
                log.error("job %s (%s) failed for good: %s", job_id, job.name, failure)
            else:
                log.warning("job %s (%s) failed (attempt %s), retried at %s: %s", job_id, job.name, job.attempts,
                            due.isoformat(timespec="seconds"), failure)
                if not self.immediate:
                    self.hand_over([(job_id, due)])

    def relay(self) -> int:
        """Hand over again what the queue should hold and may not (services.jobs.relay)."""
        with self.app.app_context():
            items = jobs.relay(grace_seconds=max(self.relay_seconds, 5), lease_seconds=self.lease_seconds)
            db.session.commit()
        if items:
            log.warning("relay: handing %s job(s) over again", len(items))
            self.hand_over(items)
        return len(items)

    def run_worker(self, threads: int = 2) -> None:
        """Consume until SIGTERM or SIGINT (both let running jobs finish; a second one stops now)."""
        self.immediate = False
        logging.getLogger("huey").setLevel(logging.WARNING)
        consumer = Worker(self.huey, relay_seconds=self.relay_seconds, workers=threads, worker_type="thread",
                          graceful_signal="TERM", shutdown_timeout=30,
                          # SQLite has no blocking read: look for work at least every second.
                          max_delay=10.0 if self.redis_url else 1.0)
        consumer.run()


class Courier:
    """Hands committed job ids to the queue from a thread of its own, one per process: the
    request that committed them does not wait for the queue's write (a SQLite queue syncs
    its file: milliseconds). Ids still in memory when the process dies are not lost: their
    rows are committed, and the relay hands them over once overdue."""

    def __init__(self, engine: JobEngine):
        self.engine = engine
        self.waiting: queue.SimpleQueue = queue.SimpleQueue()
        self.pid: int | None = None  # the thread belongs to the process that started it (gunicorn forks)
        self.lock = threading.Lock()

    def carry(self, items: list[tuple[int, datetime | None]]) -> None:
        if self.pid != os.getpid():
            with self.lock:
                if self.pid != os.getpid():
                    self.waiting = queue.SimpleQueue()
                    threading.Thread(target=self._loop, args=(self.waiting,), daemon=True, name="job-courier").start()
                    atexit.register(self.drain, self.waiting)
                    self.pid = os.getpid()
        self.waiting.put(items)

    def _loop(self, waiting: queue.SimpleQueue) -> None:
        while True:
            self.engine.hand_over(waiting.get())

    def drain(self, waiting: queue.SimpleQueue) -> None:
        """At a clean exit, what is still waiting goes now rather than at the next relay."""
        while True:
            try:
                items = waiting.get_nowait()
            except queue.Empty:
                return
            self.engine.hand_over(items)


class Worker(Consumer):
    """Huey's consumer with the periodic check (our relay) every relay_seconds instead of 60."""

    def __init__(self, huey, *, relay_seconds: int, **options):
        self.relay_seconds = relay_seconds
        super().__init__(huey, **options)

    def _create_scheduler(self):
        scheduler = super()._create_scheduler()
        scheduler.periodic_task_seconds = self.relay_seconds
        return scheduler
