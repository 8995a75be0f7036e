"""Many real clients at once against gunicorn (4 workers): 50 members upvote one comment
(10 of them double-click: a second identical vote from another tab) and 20 others reply
to it, all released together by one barrier. Every request must succeed or be refused
cleanly (429/503 with a message, never a 500), and the database must agree exactly with
what the clients were told: score == vote rows == members whose vote was acknowledged
(no lost update, no duplicate row), and one reply row per 302, each the one whose id the
redirect announced. Runs on SQLite (WAL file) and on PostgreSQL (a database of its own).
"""

from __future__ import annotations

import threading
import time
import uuid

import pytest

from tests.reliability.support import (
    PG_URL, Client, Outcome, PgDatabase, Server, SqliteDatabase, app_env, clean_retryable, first_episode_slug,
    post_id_from, prepare_database, requires_gunicorn, run_in_threads,
)

pytestmark = [requires_gunicorn, pytest.mark.reliability]

VOTERS = 50
DOUBLE_CLICKS = 10  # voters who send the same vote twice at once
REPLIERS = 20


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request, tmp_path):
    if request.param == "sqlite":
        yield SqliteDatabase(tmp_path / "concurrency.sqlite")
        return
    if not PG_URL:
        pytest.skip("TEST_DATABASE_URL is unset: no PostgreSQL server to test against")
    pg = PgDatabase("concurrency")
    try:
        yield pg
    finally:
        pg.drop()


def _vote(client: Client, voter: int, post_id: int, barrier: threading.Barrier) -> Outcome:
    barrier.wait(timeout=120)
    started = time.monotonic()
    try:
        r = client.post(f"/posts/{post_id}/vote", {"up": "1", "csrf_token": client.token},
                        headers={"Accept": "application/json"})
    except OSError as error:
        return Outcome("vote", error=repr(error), elapsed=time.monotonic() - started, extra={"voter": voter})
    outcome = Outcome("vote", r.status, r.message()[:300], elapsed=time.monotonic() - started, extra={"voter": voter})
    if r.status == 200:
        data = r.json()
        outcome.extra.update(score=data.get("score"), voted=data.get("voted"))
    return outcome


def _reply(client: Client, post_id: int, body: str, barrier: threading.Barrier) -> Outcome:
    barrier.wait(timeout=120)
    started = time.monotonic()
    try:
        r = client.post(f"/posts/{post_id}/reply", {"body": body, "csrf_token": client.token})
    except OSError as error:
        return Outcome("reply", error=repr(error), elapsed=time.monotonic() - started)
    return Outcome("reply", r.status, r.message()[:300] if r.status != 302 else "", r.location,
                   elapsed=time.monotonic() - started)


def test_concurrent_votes_and_replies_lose_nothing(database, tmp_path):
    env = app_env(tmp_path, database.url)
    prepare_database(env, tmp_path)
    server = Server(env, tmp_path / "gunicorn.log")
    run = uuid.uuid4().hex[:6]
    phases = {}
    mark = time.monotonic()
    try:
        server.start()
        phases["start"] = time.monotonic() - mark
        slug = first_episode_slug(server.port)

        author = Client(server.port)
        author.register(f"author_{run}")
        author.fetch_token(f"/episodes/{slug}")
        posted = author.comment(slug, "The comment everyone upvotes and answers at once.")
        assert posted.status == 302, posted.message()[:1000]
        comment_id = post_id_from(posted.location)

        # Sign up through the real form (a few at a time), then load the permalink for a CSRF token.
        clients = [Client(server.port) for _ in range(VOTERS + REPLIERS)]

        def sign_up(i: int, client: Client):
            def job():
                client.register(f"c{i}_{run}")
                client.fetch_token(f"/posts/{comment_id}")
            return job

        mark = time.monotonic()
        run_in_threads([sign_up(i, c) for i, c in enumerate(clients)], max_workers=8)
        phases["sign-up"] = time.monotonic() - mark

        barrier = threading.Barrier(VOTERS + DOUBLE_CLICKS + REPLIERS)
        reply_bodies = [f"Concurrent reply {i} {uuid.uuid4()}" for i in range(REPLIERS)]
        voting = list(enumerate(clients[:VOTERS])) + [(i, clients[i].clone()) for i in range(DOUBLE_CLICKS)]
        jobs = [lambda i=i, c=c: _vote(c, i, comment_id, barrier) for i, c in voting]
        jobs += [lambda c=c, b=b: _reply(c, comment_id, b, barrier) for c, b in zip(clients[VOTERS:], reply_bodies)]
        started = time.monotonic()
        outcomes = run_in_threads(jobs, timeout=300)
        wall = time.monotonic() - started
    finally:
        server.stop()

    votes = [o for o in outcomes if o.kind == "vote"]
    replies = [o for o in outcomes if o.kind == "reply"]
    ok_votes = [o for o in votes if o.status == 200 and o.extra.get("voted") is True]
    ok_replies = [o for o in replies if o.status == 302]
    refused = [o for o in outcomes if clean_retryable(o)]
    errors = [o for o in outcomes if o not in ok_votes and o not in ok_replies and o not in refused]
    server_errors = [o for o in outcomes if o.status is not None and o.status >= 500 and o.status != 503]

    score, reply_count = database.query("SELECT score, reply_count FROM posts WHERE id = :id", {"id": comment_id})[0]
    vote_rows, voters = database.query(
        "SELECT count(*), count(DISTINCT user_id) FROM votes WHERE post_id = :id", {"id": comment_id})[0]
    reply_rows = database.query("SELECT id, body_source FROM posts WHERE parent_id = :id", {"id": comment_id})
    acknowledged_reply_ids = {post_id_from(o.location) for o in ok_replies}
    ok_voters = {o.extra["voter"] for o in ok_votes}

    lost_updates = len(ok_voters) - score
    print(
        f"\n[reliability] concurrency {type(database).__name__}: {len(outcomes)} requests in {wall:.2f} s "
        f"(votes {len(votes)}: {len(ok_votes)} ok, from {len(ok_voters)} of {VOTERS} voters; replies {len(replies)}: {len(ok_replies)} ok); "
        f"clean 429/503 {len(refused)}; 500s {len(server_errors)}; other failures {len(errors)}; "
        f"score {score}, vote rows {vote_rows}, distinct voters {voters}, lost updates {lost_updates}, "
        f"duplicate votes {vote_rows - voters}; reply rows {len(reply_rows)}, parent reply_count {reply_count}; "
        f"slowest request {max(o.elapsed for o in outcomes):.2f} s; "
        f"server start {phases['start']:.1f} s, {len(clients)} sign-ups {phases['sign-up']:.1f} s"
    )

    log = "\n\n".join(server.tracebacks()) or server.log_tail(3000)
    assert not server_errors, f"server errors: {[(o.kind, o.status, o.message) for o in server_errors]}\n{log}"
    assert not errors, f"requests that neither succeeded nor were refused cleanly: {errors}\n{log}"
    assert score == vote_rows == len(ok_voters), f"score {score}, vote rows {vote_rows}, acknowledged voters {len(ok_voters)}"
    assert vote_rows == voters, "duplicate vote rows"
    assert len(reply_rows) == len(ok_replies), f"{len(reply_rows)} reply rows for {len(ok_replies)} acknowledged replies"
    assert {row[0] for row in reply_rows} == acknowledged_reply_ids
    assert {row[1] for row in reply_rows} <= set(reply_bodies)
    assert reply_count == len(reply_rows), f"reply_count {reply_count} but {len(reply_rows)} replies"
