"""Degrade, never fail, when an optional part is missing; fail clearly when a required one is.

- Redis (optional) unreachable: every page class answers 200, uncached; rate limits go on,
  counted in the database; /healthz says 200 with "redis": "down".
- The database (required) unreachable: every path answers a 503 page, including the
  anonymous pages the cache answers before Flask runs (they used to give a bare 500)."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import func, select

from community.extensions import db
from community.models import Post, RateCounter
from tests.conftest import make_test_app, reset_database, text_of
from tests.factories import Factories
from tests.reliability.support import free_port


def redis_settings(url: str) -> dict:
    """What create_app derives from REDIS_URL (the test defaults set their own storages)."""
    return {"REDIS_URL": url, "CACHE_TYPE": "community.shared_state.TolerantRedisCache", "CACHE_REDIS_URL": url,
            "CACHE_OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
            "RATELIMIT_STORAGE_URI": f"community+{url}", "RATELIMIT_ENABLED": True}


@pytest.fixture
def redis_down_app(database, tmp_path):
    from community.shared_state import breaker

    breaker.open_until = 0.0
    # A port nothing listens on: connecting is refused at once, as when Redis has stopped.
    app = make_test_app(database, tmp_path, **redis_settings(f"redis://127.0.0.1:{free_port()}/0"))
    reset_database(app, database)
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()
    breaker.open_until = 0.0


def test_with_redis_down_every_page_class_answers_and_limits_still_count(redis_down_app):
    app = redis_down_app
    factories = Factories()
    ada = factories.user("ada")
    episode = factories.episode(1, "Kelvin Guu on retrieval", guests=[("Kelvin Guu", "Google")])
    comment = factories.comment(ada, episode, body="Retrieval before generation.")
    anonymous = ["/", "/episodes/", f"/episodes/{episode.slug}", "/papers/", "/questions/", "/guests/suggestions",
                 f"/posts/{comment.id}", "/u/ada", "/search?q=retrieval", "/feeds/episodes.atom",
                 f"/episodes/{episode.slug}/discussion.atom", "/api/v1/episodes", "/auth/login", "/auth/register"]
    for url in anonymous:
        for _ in range(2):  # the miss and what would have been the hit
            response = app.test_client().get(url)
            assert response.status_code == 200, (url, response.status_code, text_of(response)[:300])

    health = app.test_client().get("/healthz")
    assert health.status_code == 200
    assert health.get_json() == {"status": "degraded", "database": "ok", "redis": "down"}

    # Logging in, with the limits on: a wrong password is counted (in the database), the right one works.
    member = app.test_client()
    wrong = member.post("/auth/login", data={"login": "ada", "password": "not the password"})
    assert wrong.status_code == 422
    assert member.post("/auth/login", data={"login": "ada", "password": Factories.PASSWORD}).status_code == 302
    for url in (f"/episodes/{episode.slug}", "/notifications/", "/settings/profile", "/"):
        assert member.get(url).status_code == 200, url
    posted = member.post(f"/episodes/{episode.slug}/comments", data={"body": "Posted while Redis is down."})
    assert posted.status_code == 302
    assert db.session.scalar(select(func.count()).select_from(Post).where(Post.body_source == "Posted while Redis is down.")) == 1
    keys = db.session.scalars(select(RateCounter.key)).all()
    assert any("login-account" in key for key in keys) and any("comments" in key for key in keys), keys


def test_posting_limit_holds_with_redis_down(redis_down_app):
    app = redis_down_app
    factories = Factories()
    episode = factories.episode(1, "Kelvin Guu on retrieval")
    member = app.test_client()
    assert member.post("/auth/login", data={"login": factories.user("ada").username,
                                            "password": Factories.PASSWORD}).status_code == 302
    statuses = [member.post(f"/episodes/{episode.slug}/comments", data={"body": f"comment {i}"}).status_code
                for i in range(6)]
    assert statuses == [302] * 5 + [429]  # COMMENT_RATE_LIMIT: 5 per minute


@pytest.mark.skipif(not os.environ.get("TEST_REDIS_URL"), reason="TEST_REDIS_URL is not set (.ci/run sets it)")
def test_with_redis_up_health_says_so_and_counters_stay_out_of_the_database(database, tmp_path):
    import redis

    url = os.environ["TEST_REDIS_URL"]
    redis.Redis.from_url(url).flushdb()
    app = make_test_app(database, tmp_path, **redis_settings(url))
    reset_database(app, database)
    with app.app_context():
        Factories().user("ada")
        assert app.test_client().get("/healthz").get_json() == {"status": "ok", "database": "ok", "redis": "ok"}
        assert app.test_client().post("/auth/login", data={"login": "ada", "password": "wrong"}).status_code == 422
        assert db.session.scalar(select(func.count()).select_from(RateCounter)) == 0
        db.session.remove()
        db.engine.dispose()


# What an anonymous reader may still get with the database down: pages that need no data
# (the account forms, search's empty form), the login redirect of personal pages, and a
# 404 for a token that cannot be valid. A logged-in reader gets 503 on all but those that
# never ask who is reading (a malformed reset token, the JSON search form, robots.txt and
# the API's description).
NEEDS_NO_DATA = {"/auth/register": 200, "/auth/login": 200, "/auth/reset": 200, "/search": 200, "/api/v1/search": 200,
                 "/auth/reset/x": 302, "/notifications/unsubscribe/x": 404, "/auth/confirm/x": 404,
                 "/metrics": 404, "/robots.txt": 200, "/api/v1/openapi.json": 200,
                 # ORCID is not set up here: its routes do not exist for this site (no data asked).
                 "/auth/orcid/callback": 404, "/auth/orcid/new": 404,
                 # site.js's draft store answers a logged-out script 401 (not a login page).
                 "/drafts": 401}
# Of those, the ones that never ask who is reading (so a logged-in reader gets them too).
NEVER_ASK_WHO = ("/auth/reset/x", "/api/v1/search", "/robots.txt", "/api/v1/openapi.json")  # no METRICS_ALLOW here: it does not exist for this reader


def test_with_the_database_down_every_path_answers_503(tmp_path):
    """Every GET rule of the app: cookie-less (the pre-Flask cache's way in), and with the
    session cookie of a logged-in reader."""
    app = make_test_app("sqlite", tmp_path, SQLALCHEMY_DATABASE_URI="postgresql+psycopg://nobody@127.0.0.1:1/none")
    values = {"slug": "an-episode", "post_id": 1, "username": "ada", "canonical_id": "arxiv:2005.11401",
              "person_id": 1, "token": "x", "filename": "css/site.css", "notification_id": 1, "suggestion_id": 1, "page": 1,
              "episode_id": 1, "user_id": 1, "invitation_id": 1, "paper_id": 1}
    session_cookie = app.session_interface.get_signing_serializer(app).dumps({"_user_id": "a-session-token"})
    checked, others = 0, []
    with app.test_request_context():
        from flask import url_for

        for rule in app.url_map.iter_rules():
            if "GET" not in rule.methods or rule.endpoint in ("static", "main.favicon"):
                continue
            url = url_for(rule.endpoint, **{arg: values[arg] for arg in rule.arguments})
            for logged_in in (False, True):
                client = app.test_client()
                if logged_in:
                    client.set_cookie("session", session_cookie)
                try:
                    response = client.get(url)
                except Exception as error:  # noqa: BLE001 - what a browser would see as a bare 500
                    others.append((url, logged_in, f"unhandled {type(error).__name__}"))
                    continue
                if logged_in:
                    expected = NEEDS_NO_DATA.get(url) if url in NEVER_ASK_WHO else 503
                elif "/auth/login" in response.headers.get("Location", ""):
                    expected = 302  # a personal page: the login redirect needs no data
                else:
                    expected = NEEDS_NO_DATA.get(url, 503)
                if response.status_code != expected:
                    others.append((url, logged_in, response.status_code))
                checked += 1
    assert not others
    assert checked > 40
    page = app.test_client().get("/")
    assert "database cannot be reached" in text_of(page)
