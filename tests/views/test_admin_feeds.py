"""/admin/feeds: the show's feeds, their last result or error, add, refresh now, deactivate.

Role x route is in tests/security/test_access_matrix.py ("show team only/write"); here:
what the page says, the admin-log row of each change, CSRF refusals, and that a refresh
reaches the cached public pages. Feeds are served by a real local HTTP server."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from community.extensions import db
from community.models import AdminLogEntry, Episode, FeedSource, Role
from tests import feed_server
from tests.conftest import text_of


@pytest.fixture
def server():
    state, stop = feed_server.start()
    yield state
    stop()


@pytest.fixture
def admin(factories, login, client):
    user = factories.user("console_admin", role=Role.admin)
    login(user)
    return user


def log_rows() -> list[AdminLogEntry]:
    return list(db.session.scalars(select(AdminLogEntry).order_by(AdminLogEntry.id)))


def add(client, url):
    return client.post("/admin/feeds/", data={"url": url})


def test_add_refresh_and_deactivate_each_write_one_log_row(client, admin, server):
    response = add(client, server.feed_url)
    assert response.status_code == 302
    source = db.session.scalar(select(FeedSource))
    assert [(e.action, e.actor_id, e.target_id) for e in log_rows()] == [("feed.add", admin.id, str(source.id))]
    page = text_of(client.get("/admin/feeds/"))
    assert server.feed_url in page and "not refreshed yet" in page and "never" in page

    response = client.post(f"/admin/feeds/{source.id}/refresh")
    assert response.status_code == 302
    page = text_of(client.get("/admin/feeds/"))
    assert "Refreshed" in page and "created 3, updated 0, unchanged 0, skipped 0" in page
    assert "1 people with role “audio editor” left out" in page
    assert db.session.scalar(select(func.count(Episode.id))) == 3
    # The refresh's transcript-fetch jobs ran after its commit: one revision (and row) per file.
    assert [e.action for e in log_rows()] == ["feed.add", "feed.refresh", "transcript.add", "transcript.add"]

    client.post(f"/admin/feeds/{source.id}/refresh")  # unchanged: the server answers 304
    assert "not modified (304)" in text_of(client.get("/admin/feeds/"))
    assert server.bodies[feed_server.FEED_PATH] == 1

    response = client.post(f"/admin/feeds/{source.id}/deactivate")
    assert response.status_code == 302
    page = client.get("/admin/feeds/").get_data(as_text=True)
    assert "inactive" in page and f"/admin/feeds/{source.id}/refresh" not in page
    assert [e.action for e in log_rows()] == ["feed.add", "feed.refresh", "transcript.add", "transcript.add",
                                              "feed.refresh", "feed.deactivate"]
    assert db.session.scalar(select(FeedSource.active)) is False


def test_a_failing_feed_shows_its_error_on_the_page(client, admin, server):
    add(client, server.feed_url)
    server.fail = 503
    source_id = db.session.scalar(select(FeedSource.id))
    client.post(f"/admin/feeds/{source_id}/refresh")
    page = text_of(client.get("/admin/feeds/"))
    assert f"Failed: HTTP 503 Service Unavailable from {server.feed_url}" in page
    # The same from the timer's command: the console shows what the last run found.
    server.fail = 404
    assert client.application.test_cli_runner().invoke(args=["feeds", "refresh"]).exit_code != 0
    assert f"Failed: HTTP 404 Not Found from {server.feed_url}" in text_of(client.get("/admin/feeds/"))


def test_bad_address_is_refused_with_the_typed_text_kept(client, admin):
    response = add(client, "feeds.example.org/rss")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "A feed address starts with http:// or https://." in html and 'value="feeds.example.org/rss"' in html
    assert db.session.scalar(select(func.count(FeedSource.id))) == 0 and log_rows() == []
    assert add(client, "").status_code == 422


def test_a_duplicate_is_refused_and_an_inactive_one_comes_back(client, admin, server):
    add(client, server.feed_url)
    response = add(client, server.feed_url)
    assert response.status_code == 422 and "already in the list" in response.get_data(as_text=True)
    source_id = db.session.scalar(select(FeedSource.id))
    client.post(f"/admin/feeds/{source_id}/deactivate")
    assert add(client, server.feed_url).status_code == 302
    assert db.session.scalar(select(FeedSource.active)) is True
    assert [e.action for e in log_rows()] == ["feed.add", "feed.deactivate", "feed.reactivate"]


@pytest.mark.parametrize("route", ["/admin/feeds/", "/admin/feeds/{id}/refresh", "/admin/feeds/{id}/deactivate"])
def test_every_form_refuses_a_missing_csrf_token(client, admin, server, route):
    add(client, server.feed_url)
    source_id = db.session.scalar(select(FeedSource.id))
    before = len(log_rows())
    response = client.post(route.format(id=source_id), data={"url": "https://other.example.org/feed"}, csrf=False)
    assert response.status_code == 400 and "CSRF" in response.get_data(as_text=True)
    db.session.expire_all()
    assert len(log_rows()) == before and db.session.scalar(select(func.count(FeedSource.id))) == 1
    assert db.session.scalar(select(FeedSource.active)) is True and server.requests[feed_server.FEED_PATH] == 0


def test_a_refresh_reaches_the_cached_public_pages(app, client, admin, server):
    add(client, server.feed_url)
    source_id = db.session.scalar(select(FeedSource.id))
    client.post(f"/admin/feeds/{source_id}/refresh")
    slug = db.session.scalar(select(Episode.slug).where(Episode.number == 2))
    anonymous = app.test_client()
    assert "Warm restarts, again" in text_of(anonymous.get(f"/episodes/{slug}"))
    assert anonymous.get(f"/episodes/{slug}").headers["X-Cache"] == "hit"  # served from the page cache
    server.set_feed(server.feed.decode().replace("Warm restarts, again", "Warm restarts, revisited"))
    client.post(f"/admin/feeds/{source_id}/refresh")
    assert "Warm restarts, revisited" in text_of(anonymous.get(f"/episodes/{slug}"))
