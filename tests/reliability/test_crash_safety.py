"""SIGKILL mid-load on SQLite: nothing a client was told is saved may be lost.

20 clients post comments in a loop through the real form against gunicorn (4 workers);
after ~2 s the whole process group is SIGKILLed (master and workers, no clean shutdown).
Every POST answered with a 302 was acknowledged: its id comes from the '#c<id>' anchor.
After a restart on the same file, `PRAGMA integrity_check` must say ok, every
acknowledged post must be there with its full body, and no stored body may be torn
(each carries a checksum of its own random part).

What this measures is crash safety against the *process* dying (bug, OOM killer,
kill -9), not power loss: with `synchronous=NORMAL` in WAL mode a commit lives in the OS
page cache until the next checkpoint, which survives a process crash but not the machine's.
"""

from __future__ import annotations

import hashlib
import re
import signal
import threading
import time
import uuid

import pytest

from tests.reliability.support import (
    Client, Outcome, Server, SqliteDatabase, app_env, clean_retryable, first_episode_slug, post_id_from,
    prepare_database, requires_gunicorn, run_in_threads,
)

pytestmark = [requires_gunicorn, pytest.mark.reliability]

CLIENTS = 20
LOAD_SECONDS = 2.0
BODY_RE = re.compile(r"^crash-test ([0-9a-f-]{36}) ([0-9a-f]{16})$")


def crash_body() -> str:
    token = str(uuid.uuid4())
    return f"crash-test {token} {hashlib.sha256(token.encode()).hexdigest()[:16]}"


def body_is_whole(body: str) -> bool:
    match = BODY_RE.match(body or "")
    return bool(match) and hashlib.sha256(match.group(1).encode()).hexdigest()[:16] == match.group(2)


def test_sigkill_mid_load_loses_no_acknowledged_post(tmp_path):
    database = SqliteDatabase(tmp_path / "crash.sqlite")
    env = app_env(tmp_path, database.url)
    prepare_database(env, tmp_path)
    server = Server(env, tmp_path / "gunicorn.log")
    restarted = Server(env, tmp_path / "gunicorn-restarted.log")
    run = uuid.uuid4().hex[:6]
    acknowledged: dict[int, str] = {}
    before_kill: list[Outcome] = []
    after_kill: list[Outcome] = []
    lock = threading.Lock()
    killed = threading.Event()
    killing = threading.Event()  # set before the kill: an answer cut off by it is not a failure "before"
    try:
        server.start()
        slug = first_episode_slug(server.port)
        clients = [Client(server.port, timeout=30) for _ in range(CLIENTS)]

        def sign_up(i: int, client: Client):
            def job():
                client.register(f"crash{i}_{run}")
                client.fetch_token(f"/episodes/{slug}")
            return job

        run_in_threads([sign_up(i, c) for i, c in enumerate(clients)], max_workers=8)

        def post_in_a_loop(client: Client):
            while not killed.is_set():
                body = crash_body()
                try:
                    r = client.comment(slug, body)
                except OSError as error:
                    with lock:
                        (after_kill if killing.is_set() else before_kill).append(Outcome("comment", error=repr(error)))
                    if killed.is_set():
                        return
                    continue
                outcome = Outcome("comment", r.status, r.message()[:300] if r.status != 302 else "", r.location)
                with lock:
                    (after_kill if killing.is_set() else before_kill).append(outcome)
                    if r.status == 302:
                        acknowledged[post_id_from(r.location)] = body

        threads = [threading.Thread(target=post_in_a_loop, args=(c,), daemon=True) for c in clients]
        for t in threads:
            t.start()
        # ~2 s of load, counted from the first acknowledged post (a busy machine starts slowly).
        deadline = time.monotonic() + 60
        while not acknowledged and time.monotonic() < deadline and any(t.is_alive() for t in threads):
            time.sleep(0.02)
        time.sleep(LOAD_SECONDS)
        with lock:
            acknowledged_at_kill = len(acknowledged)
        killing.set()
        server.kill(signal.SIGKILL)  # the whole process group, mid-load
        killed.set()
        for t in threads:
            t.join(60)
        assert not any(t.is_alive() for t in threads), "a client thread is still waiting on a dead server"

        restarted.start()
        integrity = database.query("PRAGMA integrity_check")
        foreign_keys = database.query("PRAGMA foreign_key_check")
        fts_problems = []
        for (name,) in database.query("SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE '%USING fts5%'"):
            try:
                database.query(f"INSERT INTO \"{name}\"(\"{name}\") VALUES ('integrity-check')")
            except Exception as error:  # noqa: BLE001 - reported below
                fts_problems.append(f"{name}: {error}")
        stored = dict(database.query("SELECT id, body_source FROM posts WHERE body_source LIKE 'crash-test %'"))

        # The server that came back shows what was acknowledged (a sample: the newest 50).
        reader = Client(restarted.port)
        unreadable = []
        for post_id in sorted(acknowledged)[-50:]:
            page = reader.get(f"/posts/{post_id}")
            if page.status != 200 or acknowledged[post_id].split()[1] not in page.text:
                unreadable.append((post_id, page.status))
        # ... and takes new posts again.
        writer = clients[0]
        writer.port = restarted.port
        writer.fetch_token(f"/episodes/{slug}")
        fresh = writer.comment(slug, crash_body())
    finally:
        server.stop()
        restarted.stop()

    lost = {pid: body for pid, body in acknowledged.items() if stored.get(pid) != body}
    torn = [pid for pid, body in stored.items() if not body_is_whole(body)]
    committed_unacknowledged = set(stored) - set(acknowledged)
    bad_before_kill = [o for o in before_kill if o.status != 302 and not clean_retryable(o)]
    print(
        f"\n[reliability] crash safety: {len(before_kill)} answers before SIGKILL ({LOAD_SECONDS:.1f} s into the load) "
        f"({sum(o.status == 302 for o in before_kill)} x 302, {len(bad_before_kill)} bad); "
        f"acknowledged {len(acknowledged)} (at kill: {acknowledged_at_kill}), lost {len(lost)}, torn {len(torn)}; "
        f"stored {len(stored)} (committed but never acknowledged: {len(committed_unacknowledged)}); "
        f"requests cut by the kill {sum(bool(o.error) for o in after_kill)}; integrity_check {integrity[0][0]!r}; "
        f"after restart: {len(unreadable)} unreadable, new post {fresh.status}"
    )

    assert integrity == [("ok",)], integrity
    assert foreign_keys == [], foreign_keys
    assert fts_problems == [], fts_problems
    assert acknowledged, "no post was acknowledged before the kill: the load never ran"
    assert not bad_before_kill, f"failures before the kill: {bad_before_kill[:5]}\n{server.tracebacks()[:3]}"
    assert not lost, f"{len(lost)} acknowledged posts lost or changed: {list(lost.items())[:5]}"
    assert not torn, f"torn bodies: {torn[:5]}"
    assert not unreadable, unreadable
    assert fresh.status == 302, fresh.message()[:1000]
