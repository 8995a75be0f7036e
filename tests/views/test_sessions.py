"""Login sessions end: idle expiry (remember-me included), an absolute lifetime, the
sessions page ("log out this one", "everywhere else"), and `flask sessions prune`."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from community.extensions import db
from community.models import UserSession
from community.models.base import utcnow
from tests.conftest import text_of
from tests.factories import Factories

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
SAFARI = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
          "Version/17.5 Mobile/15E148 Safari/604.1")


def browser(app, user, agent: str, address: str, remember: bool = False):
    client = app.test_client()
    client.environ_base.update(HTTP_USER_AGENT=agent, REMOTE_ADDR=address)
    data = {"login": user.username, "password": Factories.PASSWORD} | ({"remember": "y"} if remember else {})
    assert client.post("/auth/login", data=data).status_code == 302
    return client


def logged_in(client) -> bool:
    return client.get("/settings/profile").status_code == 200


def rows_of(user) -> list[UserSession]:
    db.session.expire_all()
    return list(db.session.scalars(select(UserSession).where(UserSession.user_id == user.id).order_by(UserSession.id)))


def age(row_id: int, **columns) -> None:
    db.session.execute(update(UserSession).where(UserSession.id == row_id).values(**columns))
    db.session.commit()


def test_the_sessions_page_lists_each_browser_and_logs_out_one(app, factories):
    ada = factories.user("ada")
    laptop = browser(app, ada, FIREFOX, "203.0.113.57")
    phone = browser(app, ada, SAFARI, "2001:db8:1234:5678::1")
    page = laptop.get("/settings/sessions")
    assert page.status_code == 200 and page.headers["Cache-Control"] == "private, no-store"
    text = text_of(page)
    assert "Firefox on Linux (this browser)" in text and "Safari on iPhone" in text
    assert "203.0.113.0/24" in text and "2001:db8:1234::/48" in text
    assert "203.0.113.57" not in text  # the network, never the address
    phone_row = [row for row in rows_of(ada) if "iPhone" in row.user_agent][0]
    response = laptop.post(f"/settings/sessions/{phone_row.id}/end")
    assert response.status_code == 302
    assert not logged_in(phone) and logged_in(laptop)
    assert [row.user_agent for row in rows_of(ada)] == [FIREFOX]


def test_log_out_everywhere_else_keeps_this_browser(app, factories):
    ada = factories.user("ada")
    others = [browser(app, ada, SAFARI, f"198.51.100.{i}") for i in range(3)]
    here = browser(app, ada, FIREFOX, "203.0.113.5")
    assert "Logged out everywhere else (3 sessions)" in text_of(here.post("/settings/sessions/end-others",
                                                                            follow_redirects=True))
    assert logged_in(here) and not any(logged_in(other) for other in others)
    assert len(rows_of(ada)) == 1


def test_nobody_ends_someone_elses_session(app, factories):
    ada, eve = factories.user("ada"), factories.user("eve")
    ada_browser = browser(app, ada, FIREFOX, "203.0.113.5")
    eve_browser = browser(app, eve, FIREFOX, "198.51.100.9")
    target = rows_of(ada)[0]
    page = eve_browser.post(f"/settings/sessions/{target.id}/end", follow_redirects=True)
    assert "That session has already ended." in text_of(page)
    assert logged_in(ada_browser) and len(rows_of(ada)) == 1


def test_a_session_unused_for_30_days_is_over_remember_me_included(app, factories):
    ada = factories.user("ada")
    client = browser(app, ada, FIREFOX, "203.0.113.5", remember=True)
    assert any(cookie.key == "remember_token" for cookie in client._cookies.values())
    row = rows_of(ada)[0]
    age(row.id, last_seen_at=utcnow() - timedelta(days=29))
    assert logged_in(client)  # 29 days: still on, and the use is noted
    assert utcnow() - rows_of(ada)[0].last_seen_at.replace(tzinfo=utcnow().tzinfo) < timedelta(minutes=1)
    age(row.id, last_seen_at=utcnow() - timedelta(days=31))
    client.delete_cookie("session")  # a restarted browser: only the remember-me cookie is left
    assert not logged_in(client)


def test_every_session_ends_a_year_after_its_login(app, factories):
    ada = factories.user("ada")
    client = browser(app, ada, FIREFOX, "203.0.113.5", remember=True)
    age(rows_of(ada)[0].id, created_at=utcnow() - timedelta(days=366), last_seen_at=utcnow())
    assert not logged_in(client)


def test_last_use_is_written_at_most_once_an_hour(app, factories, count_queries):
    ada = factories.user("ada")
    client = browser(app, ada, FIREFOX, "203.0.113.5")
    with count_queries() as queries:
        for _ in range(3):
            assert logged_in(client)
    assert not any(s.lstrip().upper().startswith("UPDATE USER_SESSIONS") for s in queries.statements)
    age(rows_of(ada)[0].id, last_seen_at=utcnow() - timedelta(hours=2))
    with count_queries() as queries:
        assert logged_in(client)
    assert sum(s.lstrip().upper().startswith("UPDATE USER_SESSIONS") for s in queries.statements) == 1


def test_prune_deletes_only_sessions_that_are_over(app, factories):
    ada = factories.user("ada")
    browser(app, ada, FIREFOX, "203.0.113.5")
    browser(app, ada, SAFARI, "203.0.113.6")
    browser(app, ada, SAFARI, "203.0.113.7")
    live, idle, old = rows_of(ada)
    age(idle.id, last_seen_at=utcnow() - timedelta(days=31))
    age(old.id, created_at=utcnow() - timedelta(days=400))
    result = app.test_cli_runner().invoke(args=["sessions", "prune"])
    assert result.exit_code == 0 and "pruned 2 sessions" in result.output
    assert [row.id for row in rows_of(ada)] == [live.id]


@pytest.mark.parametrize("agent, label", [
    (FIREFOX, "Firefox on Linux"), (SAFARI, "Safari on iPhone"),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 Safari/537.36 Edg/126.0",
     "Edge on Windows"),
    ("curl/8.5.0", "curl/8.5.0"), ("", "Unknown browser"),
])
def test_device_labels(agent, label):
    from community.services.sessions import device_label

    assert device_label(agent) == label
