"""The real worker process (`flask --app community worker`) against a local SMTP server.

- 200 notification mails queued in one transaction; the worker is SIGKILLed mid-batch,
  while it waits for the mail server's answer to one of them; a new worker takes over:
  every mail arrives exactly once (the killed job is taken back by the relay when its
  lease runs out, and its mail, never accepted, is sent by the next attempt).
- The mail server refuses a digest twice: it arrives on the third attempt, once.

The queue is Huey on a SQLite file with the SQLite database, and on Redis with PostgreSQL
when TEST_REDIS_URL is set (else SQLite again): both engines a deployment can use.
"""

from __future__ import annotations

import email
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import func, select

from community.extensions import db
from community.models import Job, JobStatus, Notification, NotificationKind
from community.services import notifications
from tests.reliability.support import app_env, free_port

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("TEST_REDIS_URL")
WAIT = 180  # seconds at most for a batch on a busy 2-core machine (not a timing assertion: a bound)

pytestmark = pytest.mark.reliability


class Inbox:
    """An aiosmtpd handler: keeps what it accepts; `answer` may refuse or kill first."""

    def __init__(self):
        self.messages: list[email.message.Message] = []
        self.arrivals = 0
        self.answer = None  # (arrival number) -> an SMTP reply to give instead of accepting, or None
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's API)
        with self.lock:
            self.arrivals += 1
            refusal = self.answer(self.arrivals) if self.answer else None
            if refusal:
                return refusal
            self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture
def smtp():
    from aiosmtpd.controller import Controller

    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, inbox
    controller.stop()


@pytest.fixture
def queue(database) -> str:
    return "redis" if database == "postgresql" and REDIS_URL else "sqlite"


@pytest.fixture
def app_config(smtp, tmp_path, queue):
    config = {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": smtp[0].port, "JOBS_IMMEDIATE": False,
              "JOBS_SQLITE_PATH": str(tmp_path / "instance" / "jobs.sqlite")}
    if queue == "redis":
        config["JOBS_REDIS_URL"] = REDIS_URL
    return config


@pytest.fixture
def start_worker(app, smtp, tmp_path, queue):
    """Starts `flask --app community worker` on the test's database and queue; stops them all."""
    if queue == "redis":
        app.extensions["jobs"].huey.flush()  # the queue of an earlier test is not this one's
    env = app_env(tmp_path, app.config["SQLALCHEMY_DATABASE_URI"])
    env.update(PYTHONPATH=str(ROOT), PUBLIC_URL="http://localhost", MAIL_SERVER="127.0.0.1",
               MAIL_PORT=str(smtp[0].port), JOBS_RELAY_SECONDS="1", JOBS_LEASE_SECONDS="3", JOBS_BACKOFF="2")
    if queue == "redis":
        env["REDIS_URL"] = REDIS_URL
    workers: list[subprocess.Popen] = []

    def start() -> subprocess.Popen:
        log = open(tmp_path / f"worker-{len(workers)}.log", "wb")
        process = subprocess.Popen([sys.executable, "-m", "flask", "--app", "community", "worker", "--threads", "1"],
                                   cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        workers.append(process)
        return process

    yield start
    for process in workers:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=40)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def wait_until(condition, what: str, seconds: float = WAIT) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"gave up waiting ({seconds} s) for {what}")


def job_states(name: str) -> Counter:
    db.session.commit()  # read what the worker committed
    return Counter(dict(db.session.execute(
        select(Job.status, func.count(Job.id)).where(Job.name == name).group_by(Job.status)).all()))


def test_a_worker_killed_mid_batch_loses_no_mail_and_sends_none_twice(app, factories, smtp, start_worker):
    _, inbox = smtp
    ada = factories.user("ada")
    readers = [factories.user(f"reader{i:03d}") for i in range(200)]
    post = factories.comment(ada, factories.episode(1, "An episode"))
    notifications.notify(readers, NotificationKind.mention, post=post, actor=ada, message="ada mentioned you")
    db.session.commit()  # 200 jobs, handed to the queue as this commits
    assert job_states("notifications.email") == Counter({JobStatus.queued: 200})

    first = start_worker()
    kill_at = 77

    def kill_during(arrival: int):
        # The worker is waiting for the server's answer to this mail: it dies before any
        # answer, so the server accepts nothing (the reply below goes to a closed socket).
        if arrival == kill_at:
            first.send_signal(signal.SIGKILL)
            first.wait()
            return "451 the sender went away"
        return None

    inbox.answer = kill_during
    wait_until(lambda: first.poll() is not None, "the first worker to be killed")
    assert first.returncode == -signal.SIGKILL
    states = job_states("notifications.email")
    assert states[JobStatus.done] == kill_at - 1 and states[JobStatus.running] == 1  # mid-batch, one in flight
    assert len(inbox.messages) == kill_at - 1

    start_worker()
    wait_until(lambda: job_states("notifications.email") == Counter({JobStatus.done: 200}), "all 200 jobs done")
    received = Counter(message["To"] for message in inbox.messages)
    assert set(received) == {reader.email for reader in readers}
    assert set(received.values()) == {1}  # every mail exactly once
    db.session.expire_all()
    # The job the kill interrupted ran twice (the relay took it back); every other once.
    attempts = Counter(db.session.scalars(select(Job.attempts).where(Job.name == "notifications.email")))
    assert attempts == Counter({1: 199, 2: 1})
    assert db.session.scalar(select(func.count(Notification.id)).where(Notification.emailed_at.is_(None))) == 0


def test_a_refused_digest_arrives_on_the_third_attempt_and_only_once(app, factories, smtp, start_worker):
    _, inbox = smtp
    ada, bob = factories.user("ada"), factories.user("bob", email="bob@example.org")
    bob.email_prefs = {"reply": "daily"}
    db.session.commit()
    top = factories.comment(bob, factories.episode(1, "An episode"))
    for body in ("one", "two"):
        notifications.notify([bob], NotificationKind.reply, post=top, actor=ada, message=f"ada replied: {body}",
                             event_key=body)
    db.session.commit()
    inbox.answer = lambda arrival: "451 4.3.0 try again later" if arrival <= 2 else None
    result = app.test_cli_runner().invoke(args=["notifications", "send-digests"])
    assert "queued 1 digests" in result.output
    start_worker()
    wait_until(lambda: job_states("notifications.digest") == Counter({JobStatus.done: 1}), "the digest to go out")
    assert inbox.arrivals == 3
    [digest] = inbox.messages
    assert digest["To"] == "bob@example.org" and "2 new notifications" in digest["Subject"]
    job = db.session.scalars(select(Job).where(Job.name == "notifications.digest")).one()
    assert job.attempts == 3 and "try again later" in job.last_error  # the console shows it was retried
    # The next day's run finds nothing left to send: the digest was recorded as sent.
    result = app.test_cli_runner().invoke(args=["notifications", "send-digests"])
    assert "queued 0 digests" in result.output
    assert len(inbox.messages) == 1
