"""Cache-Control per route class: nothing personal is ever kept by a browser or proxy,
anonymous pages are revalidated, feeds and the API may be kept a minute; ETags make an
unchanged answer a 304. The page cache's pre-Flask hits say exactly what Flask says."""

from __future__ import annotations

import pytest


@pytest.fixture
def episode(factories):
    episode = factories.episode(13, "Jonathan Frankle on lottery tickets")
    factories.comment(factories.user("ada"), episode, body="Lottery tickets at scale?")
    return episode


def test_anonymous_pages_are_revalidated_with_an_etag(app, episode):
    for url in ("/", "/episodes/", f"/episodes/{episode.slug}", "/papers/", "/questions/", "/u/ada", "/search?q=lottery"):
        response = app.test_client().get(url)
        assert response.status_code == 200, url
        assert response.headers["Cache-Control"] == "no-cache", url
        assert "Set-Cookie" not in response.headers, url
        again = app.test_client().get(url, headers={"If-None-Match": response.headers["ETag"]})
        assert again.status_code == 304, url


def test_a_pre_flask_hit_carries_the_same_headers_as_flask(app, episode):
    url = f"/episodes/{episode.slug}"
    miss = app.test_client().get(url)
    hit = app.test_client().get(url)
    assert (miss.headers["X-Cache"], hit.headers["X-Cache"]) == ("miss", "hit")
    per_answer = {"X-Cache", "Content-Length", "Date"}
    assert {k: v for k, v in miss.headers.items() if k not in per_answer} == \
           {k: v for k, v in hit.headers.items() if k not in per_answer}


def test_personal_pages_and_forms_are_private_and_never_stored(app, factories, login, episode):
    # A form for an anonymous reader carries a CSRF token tied to their cookie.
    for url in ("/auth/login", "/auth/register", "/auth/reset"):
        response = app.test_client().get(url)
        assert response.headers["Cache-Control"] == "private, no-store", url
    member = login(factories.user("grace"), the_client=app.test_client())
    for url in ("/", f"/episodes/{episode.slug}", "/notifications/", "/settings/profile", "/settings/sessions",
                "/u/grace", "/papers/"):
        response = member.get(url)
        assert response.status_code == 200, url
        assert response.headers["Cache-Control"] == "private, no-store", url
        assert "ETag" not in response.headers, url


@pytest.mark.parametrize("url", ["/feeds/episodes.atom", "/api/v1/episodes", "/u/ada/posts.atom"])
def test_feeds_and_the_api_may_be_kept_a_minute(app, episode, url):
    response = app.test_client().get(url)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "public, max-age=60"
    assert app.test_client().get(url, headers={"If-None-Match": response.headers["ETag"]}).status_code == 304


def test_feeds_stay_public_for_a_reader_who_is_logged_in(app, factories, login, episode):
    member = login(factories.user("grace"), the_client=app.test_client())
    # The same answer for everyone, but the request carried a session: keep it private.
    assert member.get("/feeds/episodes.atom").headers["Cache-Control"] == "private, no-store"


def test_static_files_and_errors(app):
    static = app.test_client().get("/static/css/site.css")
    assert static.status_code == 200 and "no-cache" in static.headers["Cache-Control"] and static.headers["ETag"]
    missing = app.test_client().get("/episodes/no-such-episode")
    assert missing.status_code == 404 and missing.headers["Cache-Control"] == "no-store"


def test_a_post_answer_is_never_stored(app, factories, login, episode):
    member = login(factories.user("grace"), the_client=app.test_client())
    response = member.post(f"/episodes/{episode.slug}/comments", data={"body": "Which tickets survive pruning?"})
    assert response.status_code == 302 and response.headers["Cache-Control"] == "private, no-store"
