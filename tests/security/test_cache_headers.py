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


def cached_pages(app, episode) -> list[str]:
    """Every page class the anonymous cache keeps (found as the middleware finds them)."""
    from flask import url_for

    urls = []
    with app.test_request_context():
        for endpoint, view in sorted(app.view_functions.items()):
            if hasattr(view, "page_cache_keys"):
                arguments = next(app.url_map.iter_rules(endpoint)).arguments
                assert arguments <= {"slug"}, f"{endpoint}: teach cached_pages() its URL"
                urls.append(url_for(endpoint, **({"slug": episode.slug} if arguments else {})))
    return urls


# X-Cache says which it was. Date is the server's alone (gunicorn adds one to every answer;
# web.py drops the one werkzeug's make_conditional writes, so no answer carries two).
PER_ANSWER = {"X-Cache", "X-Request-ID"}  # both present on every answer, different each time


def test_a_pre_flask_hit_carries_the_same_headers_as_flask(app, episode):
    """All of them, for every cached page: the middleware's hit for a cookie-less reader
    says what Flask said when it rendered the page (the miss)."""
    urls = cached_pages(app, episode)
    assert "/" in urls and f"/episodes/{episode.slug}" in urls and len(urls) >= 6
    for url in urls:
        miss, hit = app.test_client().get(url), app.test_client().get(url)
        assert (miss.headers["X-Cache"], hit.headers["X-Cache"]) == ("miss", "hit"), url
        assert miss.data == hit.data, url
        assert sorted((k, v) for k, v in miss.headers.items() if k not in PER_ANSWER) == \
               sorted((k, v) for k, v in hit.headers.items() if k not in PER_ANSWER), url
        assert "Date" not in miss.headers and "Date" not in hit.headers  # the server's to add
        assert miss.headers["X-Request-ID"] != hit.headers["X-Request-ID"]


def test_a_hit_inside_flask_says_the_same_as_the_middleware(app, episode):
    """A reader who carries a cookie is answered by cached_for_anonymous inside Flask: the
    same page and representation; only the cookie it refreshes makes the answer private."""
    with_cookie = app.test_client()
    with_cookie.get("/auth/login")  # a form: the reader now carries a session cookie
    assert with_cookie.get_cookie("session") is not None
    personal = PER_ANSWER | {"Set-Cookie", "Cache-Control"}
    for url in cached_pages(app, episode):
        app.test_client().get(url)
        hit, inside = app.test_client().get(url), with_cookie.get(url)
        assert (hit.headers["X-Cache"], inside.headers["X-Cache"]) == ("hit", "hit"), url
        assert hit.data == inside.data, url
        assert sorted((k, v) for k, v in hit.headers.items() if k not in personal) == \
               sorted((k, v) for k, v in inside.headers.items() if k not in personal), url
        assert inside.headers["Cache-Control"] == ("private, no-store" if "Set-Cookie" in inside.headers
                                                   else hit.headers["Cache-Control"]), url


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
