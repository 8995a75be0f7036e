"""Login sessions: a row per browser, over after SESSION_IDLE_DAYS unused or SESSION_MAX_DAYS
after the login, whatever happens; only one's own can be ended; prune deletes what is over."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

from community.extensions import db
from community.models import UserSession
from community.models.base import utcnow
from community.services import NotFound, sessions


def _age(user, **ages: timedelta) -> None:
    """Move the user's sessions back in time (last_seen_at, created_at)."""
    now = utcnow()
    values = {column: now - age for column, age in ages.items()}
    db.session.execute(update(UserSession).where(UserSession.user_id == user.id).values(**values))
    db.session.commit()


def test_a_session_token_loads_its_user(factories):
    ada = factories.user()
    token = sessions.start_session(ada, "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0", "203.0.113.9")
    db.session.commit()
    assert sessions.load_session_user(token, "203.0.113.9") == ada
    assert sessions.load_session_user("not-a-token") is None
    [row] = sessions.sessions_of(ada)
    assert row.network == "203.0.113.0/24" and sessions.device_label(row.user_agent) == "Firefox on Linux"


@pytest.mark.parametrize("ages", [{"last_seen_at": timedelta(days=31)},
                                  {"created_at": timedelta(days=366), "last_seen_at": timedelta(minutes=5)}],
                         ids=["idle", "too old"])
def test_a_session_is_over_when_idle_or_too_old_and_prune_deletes_it(factories, ages):
    ada, bob = factories.user(), factories.user()
    token = sessions.start_session(ada)
    sessions.start_session(bob)
    db.session.commit()
    _age(ada, **ages)
    assert sessions.load_session_user(token) is None and sessions.sessions_of(ada) == []
    assert sessions.prune() == 1
    assert db.session.scalars(select(UserSession.user_id)).all() == [bob.id]


def test_only_your_own_sessions_can_be_ended(factories):
    ada, bob = factories.user(), factories.user()
    sessions.start_session(ada)
    theirs = sessions.start_session(bob)
    db.session.flush()
    bob_row = db.session.scalar(select(UserSession).where(UserSession.user_id == bob.id))
    with pytest.raises(NotFound, match="already ended"):
        sessions.end_one(ada, bob_row.id)
    assert sessions.load_session_user(theirs) == bob


def test_logging_out_everywhere_else_keeps_this_browser(factories):
    ada = factories.user()
    sessions.start_session(ada)
    sessions.start_session(ada)
    here = sessions.start_session(ada)
    db.session.commit()
    assert sessions.end_others(ada) == 2
    assert sessions.load_session_user(here) == ada


def test_the_owner_sees_a_network_never_an_address():
    assert sessions.network_of("203.0.113.77") == "203.0.113.0/24"
    assert sessions.network_of("2001:db8:1234:5678::1") == "2001:db8:1234::/48"
    assert sessions.network_of("not an address") == ""
