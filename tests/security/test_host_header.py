"""The site knows its address: a forged Host or X-Forwarded-Host is refused before anything
is cached or rendered, and no later reader ever gets a page, feed or API answer that names
the forged host (issue 15: four forged requests used to poison the anonymous cache)."""

from __future__ import annotations

import pytest

from community import create_app
from tests.conftest import text_of

SITE = "https://community.example.org"
EVIL = "evil.example"


@pytest.fixture
def app_config():
    # Behind one proxy (nginx), as deployed: X-Forwarded-* is read, so it is attacked too.
    return {"SERVER_NAME": None, "PUBLIC_URL": SITE, "TRUSTED_PROXIES": 1}


@pytest.fixture
def urls(factories):
    """Every cached page and every feed, plus pages and API answers with absolute links."""
    ada = factories.user("ada")
    episode = factories.episode(13, "Jonathan Frankle on lottery tickets", guests=[("Jonathan Frankle", "MIT")])
    comment = factories.comment(ada, episode, body="Lottery tickets at scale?")
    return ["/", "/episodes/", f"/episodes/{episode.slug}", "/papers/", "/questions/", "/guests/suggestions",
            f"/posts/{comment.id}", "/u/ada", "/feeds/episodes.atom", f"/episodes/{episode.slug}/discussion.atom",
            "/u/ada/posts.atom", "/questions/answered.atom", f"/episodes/{episode.slug}/papers.md",
            "/api/v1/episodes", f"/api/v1/episodes/{episode.slug}/thread", "/api/v1/questions", "/api/v1/papers"]


FORGERIES = [
    {"base_url": f"http://{EVIL}"},
    {"base_url": f"http://{EVIL}:443"},
    {"base_url": "https://community.example.org.evil.example"},
    {"base_url": SITE, "headers": {"X-Forwarded-Host": EVIL}},
]
# The trusted proxy appends the real host after what the client sent: that one counts.
APPENDED = {"base_url": SITE, "headers": {"X-Forwarded-Host": f"{EVIL}, community.example.org"}}


def test_forged_hosts_are_refused_and_never_reach_a_later_reader(app, urls):
    for url in urls:
        for forgery in FORGERIES:
            for _ in range(4):  # what used to fill the cache
                response = app.test_client().get(url, **forgery)
                assert response.status_code == 400, (url, forgery, response.status_code)
                assert EVIL not in text_of(response)
        appended = app.test_client().get(url, **APPENDED)
        assert appended.status_code == 200 and EVIL not in appended.get_data(as_text=True), url
    for url in urls:
        for client in (app.test_client(), app.test_client()):  # a miss, then a hit
            response = client.get(url, base_url=SITE)
            assert response.status_code == 200, (url, response.status_code)
            body = response.get_data(as_text=True)
            assert EVIL not in body, url
            if url.endswith(".atom"):
                assert SITE in body, url  # absolute links name the configured address


def test_absolute_links_come_from_the_configured_address(app, urls):
    page = app.test_client().get(urls[2], base_url="http://community.example.org:8000")  # a proxy's port, say
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert f'<link rel="canonical" href="{SITE}/episodes/' in html
    assert f'content="{SITE}/episodes/' in html  # og:url


def test_an_alias_is_answered_with_canonical_links(database, tmp_path, factories):
    from tests.conftest import make_test_app, reset_database

    app = make_test_app(database, tmp_path, SERVER_NAME=None, PUBLIC_URL=SITE, HOST_ALIASES="www.community.example.org")
    reset_database(app, database)
    with app.app_context():
        response = app.test_client().get("/feeds/episodes.atom", base_url="https://www.community.example.org")
        assert response.status_code == 200
        assert f"{SITE}/feeds/episodes.atom" in response.get_data(as_text=True)
        assert app.test_client().get("/", base_url=f"http://{EVIL}").status_code == 400


def test_health_checks_answer_on_any_host(app):
    # A load balancer names the backend by its address.
    assert app.test_client().get("/healthz", base_url="http://10.0.0.11:8000").status_code == 200


def test_without_an_address_each_host_has_its_own_cache_entries(database, tmp_path, factories):
    """Debug and tests may leave PUBLIC_URL unset; the cache still never crosses hosts."""
    from tests.conftest import make_test_app, reset_database

    app = make_test_app(database, tmp_path, SERVER_NAME=None)
    reset_database(app, database)
    with app.app_context():
        first = app.test_client().get("/feeds/episodes.atom", base_url="http://a.example")
        assert first.status_code == 200
        for _ in range(3):
            app.test_client().get("/", base_url="http://a.example")
        home = app.test_client().get("/", base_url="http://b.example")
        assert home.headers["X-Cache"] == "miss"
        assert "a.example" not in home.get_data(as_text=True)


def test_the_app_refuses_to_start_without_its_address(monkeypatch, tmp_path):
    monkeypatch.setenv("SECRET_KEY", "a-secret")
    for name in ("PUBLIC_URL", "SERVER_NAME", "FLASK_DEBUG"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(RuntimeError, match="PUBLIC_URL is not set"):
        create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.sqlite'}"})
    with pytest.raises(RuntimeError, match="origin"):
        create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.sqlite'}", "PUBLIC_URL": "community.example.org"})
