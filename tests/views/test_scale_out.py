"""Two app instances sharing one database and one Redis behave as one site: a vote made
through A is on the next page served by B, and rate limits count across both."""

from __future__ import annotations

import os

import pytest

from tests.conftest import make_test_app, reset_database

REDIS_URL = os.environ.get("TEST_REDIS_URL")


@pytest.fixture
def two_instances(database, tmp_path):
    if not REDIS_URL:
        pytest.skip("TEST_REDIS_URL is not set (.ci/run sets it)")
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()
    settings = {"REDIS_URL": REDIS_URL, "RATELIMIT_STORAGE_URI": REDIS_URL, "CACHE_TYPE": "RedisCache",
                "CACHE_REDIS_URL": REDIS_URL}
    a = make_test_app(database, tmp_path, **settings)
    b = make_test_app(database, tmp_path, **settings)
    reset_database(a, database)
    yield a, b
    redis.Redis.from_url(REDIS_URL).flushdb()


def test_writes_through_one_instance_show_through_the_other(two_instances, factories_for):
    a, b = two_instances
    episode, post, voter = factories_for(a)
    url = f"/episodes/{episode.slug}"
    assert b.test_client().get(url).headers["X-Cache"] == "miss"
    assert b.test_client().get(url).headers["X-Cache"] == "hit"  # B serves it from the shared cache
    client_a = a.test_client()
    client_a.post("/auth/login", data={"login": voter.username, "password": "correct horse battery staple"})
    assert client_a.post(f"/posts/{post.id}/vote", data={"up": "1"}).status_code == 302
    page = b.test_client().get(url)
    assert "1 point" in page.get_data(as_text=True)


def test_login_rate_limit_counts_across_instances(two_instances, factories_for):
    a, b = two_instances
    factories_for(a)
    statuses = []
    for i in range(12):
        app = (a, b)[i % 2]
        statuses.append(app.test_client().post("/auth/login", data={"login": "voter", "password": "wrong password!"}).status_code)
    assert statuses[:10] == [422] * 10 and statuses[10:] == [429, 429]


@pytest.fixture
def factories_for():
    from community.extensions import db
    from tests.factories import Factories

    def make(app):
        with app.app_context():
            f = Factories()
            episode = f.episode(1, "Shared episode")
            post = f.comment(f.user("author"), episode, body="shared comment")
            voter = f.user("voter")
            db.session.expunge_all()
            return episode, post, voter

    return make
