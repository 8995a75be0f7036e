"""The ReDoS of issue 15 (item 1) over real HTTP: gunicorn with 2 workers on SQLite.

A member registered through the real form sends the reported body and every shape of
tests/unit/test_markup_linear.py at 20,000 characters, to /markup/preview and as a
comment, while another thread asks /healthz every 100 ms. Each answer must come within a
second: 200 (preview), 302 (comment) or a 4xx with a message, never a 500. /healthz must
answer 200 within a second throughout: no body pinned a worker.
"""

from __future__ import annotations

import threading
import time

import pytest

from tests.reliability.support import (
    Client, Server, SqliteDatabase, app_env, first_episode_slug, post_id_from, prepare_database, requires_gunicorn,
)
from tests.unit.test_markup_linear import SHAPES

pytestmark = [requires_gunicorn, pytest.mark.reliability]

SECONDS = 1.0
BODIES = {"the reported ReDoS": "-  " * 43 + "x", **{name: shape(20_000) for name, shape in SHAPES.items()}}


class HealthPoller(threading.Thread):
    """GET /healthz every 100 ms; records (status, seconds) for each poll."""

    def __init__(self, port: int):
        super().__init__(name="healthz-poller", daemon=True)
        self.port = port
        self.done = threading.Event()
        self.polls: list[tuple[int | str, float]] = []

    def run(self) -> None:
        while not self.done.is_set():
            start = time.monotonic()
            try:
                status: int | str = Client(self.port, timeout=10).get("/healthz").status
            except OSError as error:
                status = f"{type(error).__name__}: {error}"
            self.polls.append((status, time.monotonic() - start))
            self.done.wait(0.1)


def check(name: str, kind: str, response, elapsed: float, expected: int) -> str | None:
    """What is wrong with one answer, or None."""
    if elapsed >= SECONDS:
        return f"{kind} {name!r}: {elapsed:.2f} s"
    if response.status == expected:
        if kind == "preview" and "html" not in response.json():
            return f"preview {name!r}: no html in {response.text[:200]!r}"
        if kind == "comment":
            post_id_from(response.location)
        return None
    if 400 <= response.status < 500 and response.message().strip():
        return None
    return f"{kind} {name!r}: {response.status} {response.message()[:200]!r}"


def test_no_body_pins_a_worker(tmp_path):
    database = SqliteDatabase(tmp_path / "redos.sqlite")
    env = app_env(tmp_path, database.url)
    prepare_database(env, tmp_path)
    server = Server(env, tmp_path / "gunicorn.log", workers=2, lifetime=900)
    poller = None
    try:
        server.start()
        slug = first_episode_slug(server.port)
        member = Client(server.port, timeout=10)
        member.register("redos_member")
        member.fetch_token(f"/episodes/{slug}")
        poller = HealthPoller(server.port)
        poller.start()
        started = time.monotonic()
        problems = []
        for name, body in BODIES.items():
            for kind, path, expected in (("preview", "/markup/preview", 200),
                                         ("comment", f"/episodes/{slug}/comments", 302)):
                start = time.monotonic()
                try:
                    response = member.post(path, {"csrf_token": member.token, "body": body})
                except OSError as error:  # no answer at all: the worker is still busy
                    pytest.fail(f"{kind} {name!r}: no answer in {member.timeout:.0f} s ({error})")
                problems.append(check(name, kind, response, time.monotonic() - start, expected))
        run_seconds = time.monotonic() - started
        poller.done.set()
        poller.join(15)
        problems = [problem for problem in problems if problem]
        assert not problems, "\n".join(problems)
        assert not server.tracebacks(), server.tracebacks()[0]
        assert len(poller.polls) >= run_seconds, f"{len(poller.polls)} /healthz polls in {run_seconds:.0f} s"
        bad_polls = [(status, round(seconds, 2)) for status, seconds in poller.polls
                     if status != 200 or seconds >= SECONDS]
        assert not bad_polls, f"{len(bad_polls)} of {len(poller.polls)} /healthz polls: {bad_polls[:20]}"
    finally:
        if poller is not None:
            poller.done.set()
        server.stop()
