"""PostgreSQL goes away and comes back; the same gunicorn server must follow by itself.

The app reaches PostgreSQL through a small TCP proxy of ours (support.FlakyProxy), so
the outage is simulated without touching the real server, which others are using. Two
kinds of outage, one after the other:

- cut: every open connection is reset and new ones are reset on connect (a crash);
- refused: the port is closed, connecting is refused (the server is down).

During each, pages answer 503 with the friendly page ("database cannot be reached")
and /healthz answers 503 {"status": "error", "database": "error"}; a logged-in write
is refused the same way and leaves nothing behind. When the proxy forwards again, the
same master and the same workers (no restart, no worker killed by a timeout) answer
200 again on /healthz and the pages, and writes go through.
"""

from __future__ import annotations

import time
import uuid

import pytest

from tests.reliability.support import (
    Client, first_episode_slug, post_id_from, requires_gunicorn, requires_postgres, site_behind_flaky_proxy,
)

pytestmark = [requires_gunicorn, requires_postgres, pytest.mark.reliability]

ROUNDS = 3  # each check repeated, so that several of the 4 workers see the outage
RECOVERY_GRACE = 15.0  # seconds the app may take to notice the database is back


def _timed(fn, *args, **kwargs):
    started = time.monotonic()
    response = fn(*args, **kwargs)
    return response, time.monotonic() - started


def test_database_outage_answers_503_and_recovers_without_restart(tmp_path):
    figures: dict[str, dict] = {}
    with site_behind_flaky_proxy("outage", tmp_path) as (pg, proxy, server):
        slug = first_episode_slug(server.port)
        member = Client(server.port)
        member.register(f"outage_{uuid.uuid4().hex[:6]}")
        member.fetch_token(f"/episodes/{slug}")
        posted = member.comment(slug, "A comment whose permalink must survive the outage.")
        assert posted.status == 302, posted.message()[:1000]
        comment_id = post_id_from(posted.location)
        pages = ["/", "/episodes/", f"/episodes/{slug}", f"/posts/{comment_id}"]
        anonymous = Client(server.port)
        replies_acknowledged = 0

        def check_all_up(phase: str) -> None:
            nonlocal replies_acknowledged
            for _ in range(ROUNDS):
                health = anonymous.get("/healthz")
                assert health.status == 200 and health.json() == {"status": "ok", "database": "ok"}, (
                    phase, health.status, health.text[:300], server.tracebacks()[-3:])
                for page in pages:
                    response = anonymous.get(page)
                    assert response.status == 200, (phase, page, response.status, response.message()[:300])
                assert member.get(f"/posts/{comment_id}").status == 200
            reply = member.post(f"/posts/{comment_id}/reply", {"csrf_token": member.token, "body": f"after {phase}"})
            assert reply.status == 302, (phase, reply.status, reply.message()[:500])
            replies_acknowledged += 1

        check_all_up("start")
        workers_before = server.worker_pids()
        master = server.proc.pid

        for phase, outage in (("cut", proxy.cut), ("refused", proxy.refuse)):
            outage()
            statuses: dict[str, list[int]] = {}
            slowest = 0.0
            for _ in range(ROUNDS):
                health, took = _timed(anonymous.get, "/healthz")
                slowest = max(slowest, took)
                statuses.setdefault("/healthz", []).append(health.status)
                assert health.status == 503, (phase, health.status, health.text[:300])
                assert health.json() == {"status": "error", "database": "error"}
                for page in pages:
                    response, took = _timed(anonymous.get, page)
                    slowest = max(slowest, took)
                    statuses.setdefault(page, []).append(response.status)
                    assert response.status == 503, (phase, page, response.status, response.message()[:300])
                    assert "database cannot be reached" in response.text, (phase, page, response.message()[:300])
                logged_in, took = _timed(member.get, f"/episodes/{slug}")
                slowest = max(slowest, took)
                statuses.setdefault("logged-in page", []).append(logged_in.status)
                assert logged_in.status == 503 and "database cannot be reached" in logged_in.text
                write, took = _timed(member.post, f"/posts/{comment_id}/reply",
                                     {"csrf_token": member.token, "body": f"during {phase}: must not be saved"})
                slowest = max(slowest, took)
                statuses.setdefault("logged-in reply", []).append(write.status)
                assert write.status == 503 and "database cannot be reached" in write.text, (phase, write.status)

            proxy.forward()
            restored = time.monotonic()
            status = first_after = anonymous.get("/healthz").status
            attempts = 1
            while status != 200 and time.monotonic() - restored < RECOVERY_GRACE:
                time.sleep(0.2)
                status = anonymous.get("/healthz").status
                attempts += 1
            recovered_after = time.monotonic() - restored
            check_all_up(phase)
            figures[phase] = {
                "statuses": {k: sorted(set(v)) for k, v in statuses.items()},
                "slowest_503_s": round(slowest, 3),
                "first_healthz_after_restore": first_after,
                "healthz_polls_until_200": attempts,
                "recovered_in_s": round(recovered_after, 3),
            }

        same_master = server.running and server.proc.pid == master
        workers_after = server.worker_pids()
        stored_replies = pg.query("SELECT body_source FROM posts WHERE parent_id = :id", {"id": comment_id})

    print(f"\n[reliability] database outage: {figures}; same master {same_master}, "
          f"workers unchanged {workers_before == workers_after} ({len(workers_after)}); "
          f"replies stored {len(stored_replies)} of {replies_acknowledged} acknowledged; "
          f"proxy connections forwarded {proxy.forwarded}, reset {proxy.reset}")
    assert same_master, "the gunicorn master did not survive the outage"
    assert workers_before == workers_after, f"workers were replaced: {workers_before} -> {workers_after}"
    assert sorted(body for (body,) in stored_replies) == sorted(["after start", "after cut", "after refused"])
