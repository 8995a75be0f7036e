"""Login sessions: one server-side row per logged-in browser, its token in the cookie.

A session ends at logout, at a password change or reset (all of them), from the sessions
page ("log out this one", "everywhere else"), after SESSION_IDLE_DAYS unused (remember-me
included: its cookie carries the same token) and SESSION_MAX_DAYS after the login,
whatever happens. `flask sessions prune` deletes the rows of the ones that are over."""

from __future__ import annotations

import ipaddress
import re
import secrets
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import bindparam, delete, or_, select, update
from sqlalchemy.orm.attributes import set_committed_value

from community.extensions import db
from community.models import User, UserSession
from community.models.accounts import hash_token
from community.models.base import utcnow
from community.services import NotFound


def network_of(address: str) -> str:
    """The network a session was used from, for its owner to recognise: /24 for IPv4, /48
    for IPv6. Never the full address: that is more than the owner needs to know."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return ""
    return str(ipaddress.ip_network(f"{ip}/{24 if ip.version == 4 else 48}", strict=False))


def start_session(user: User, user_agent: str = "", address: str = "") -> str:
    """A new server-side session; its token goes into the cookie via User.get_id."""
    token = secrets.token_urlsafe(32)
    db.session.add(UserSession(token_hash=hash_token(token), user=user, user_agent=user_agent[:200],
                               network=network_of(address)))
    db.session.flush()
    user.current_session_token = token
    return token


def _limits(now: datetime) -> tuple[datetime, datetime]:
    """(last use, login) before which a session is over."""
    config = current_app.config
    return now - timedelta(days=config["SESSION_IDLE_DAYS"]), now - timedelta(days=config["SESSION_MAX_DAYS"])


# Built once, asked on every request of a logged-in reader.
_LIVE_SESSION = select(UserSession).where(UserSession.token_hash == bindparam("token_hash"),
                                          UserSession.last_seen_at > bindparam("idle"),
                                          UserSession.created_at > bindparam("oldest"))


def load_session_user(token: str, address: str = "") -> User | None:
    """The user loader: one query, session and user joined. Notes the use at most once per
    SESSION_SEEN_MINUTES, in a short transaction of its own (a read must not hold the
    request's transaction open for writing)."""
    if not token:
        return None
    now = utcnow()
    idle, oldest = _limits(now)
    row = db.session.scalar(_LIVE_SESSION, {"token_hash": hash_token(token), "idle": idle, "oldest": oldest})
    if row is None:
        return None
    network = network_of(address) or row.network
    if row.network != network or row.last_seen_at < now - timedelta(minutes=current_app.config["SESSION_SEEN_MINUTES"]):
        with db.engine.begin() as connection:
            connection.execute(update(UserSession).where(UserSession.id == row.id).values(last_seen_at=now, network=network))
        set_committed_value(row, "last_seen_at", now)  # as written: nothing left for the ORM to flush
        set_committed_value(row, "network", network)
    row.user.current_session_token = token
    return row.user


def sessions_of(user: User) -> list[UserSession]:
    """The user's live sessions, most recently used first."""
    idle, oldest = _limits(utcnow())
    return list(db.session.scalars(select(UserSession).where(
        UserSession.user_id == user.id, UserSession.last_seen_at > idle, UserSession.created_at > oldest)
        .order_by(UserSession.last_seen_at.desc(), UserSession.id.desc())))


def is_current(user: User, row: UserSession) -> bool:
    return bool(user.current_session_token) and row.token_hash == hash_token(user.current_session_token)


def end_session(user: User) -> None:
    if user.current_session_token:
        db.session.execute(delete(UserSession).where(UserSession.token_hash == hash_token(user.current_session_token)))


def end_one(user: User, session_id: int) -> None:
    """Log out one of the user's own sessions (someone else's is not found)."""
    result = db.session.execute(delete(UserSession).where(UserSession.id == session_id, UserSession.user_id == user.id))
    if result.rowcount == 0:
        raise NotFound("That session has already ended.")


def end_others(user: User) -> int:
    """Log out everywhere but here; how many sessions ended."""
    mine = hash_token(user.current_session_token or "")
    return db.session.execute(delete(UserSession).where(
        UserSession.user_id == user.id, UserSession.token_hash != mine)).rowcount


def end_all_sessions(user: User) -> None:
    db.session.execute(delete(UserSession).where(UserSession.user_id == user.id))


def prune() -> int:
    """Delete the rows of sessions that are over; how many."""
    idle, oldest = _limits(utcnow())
    return db.session.execute(delete(UserSession).where(
        or_(UserSession.last_seen_at <= idle, UserSession.created_at <= oldest))).rowcount


_BROWSERS = [("Edge", r"Edg/"), ("Opera", r"OPR/"), ("Firefox", r"Firefox/"), ("Chrome", r"Chrome/|CriOS/"),
             ("Safari", r"Safari/")]
_SYSTEMS = [("Android", r"Android"), ("iPhone", r"iPhone"), ("iPad", r"iPad"), ("Windows", r"Windows"),
            ("macOS", r"Mac OS X|Macintosh"), ("ChromeOS", r"CrOS"), ("Linux", r"Linux")]


def device_label(user_agent: str) -> str:
    """'Firefox on Linux', for the sessions page. A few patterns, not a parser library:
    the owner only needs to recognise their own browsers, and an unknown one shows as is."""
    browser = next((name for name, pattern in _BROWSERS if re.search(pattern, user_agent or "")), None)
    system = next((name for name, pattern in _SYSTEMS if re.search(pattern, user_agent or "")), None)
    if browser and system:
        return f"{browser} on {system}"
    return browser or system or (user_agent or "Unknown browser")[:60]
