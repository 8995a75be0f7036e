"""Users, their roles, and server-side login sessions."""

from __future__ import annotations

import enum
import hashlib
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import JSON, Enum, ForeignKey, String, Text, func, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from community.models.base import Base, utcnow


class Role(str, enum.Enum):
    member = "member"
    researcher = "researcher"
    guest = "guest"
    host = "host"  # runs the show in the console (episodes, people, invitations), not user roles
    moderator = "moderator"
    admin = "admin"


# Badges shown next to names; a member has none.
ROLE_BADGES = {Role.researcher: "Researcher", Role.guest: "Guest", Role.host: "Host", Role.moderator: "Moderator", Role.admin: "Admin"}


class User(UserMixin, Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(30))
    # Lower-cased copies carry the uniqueness: "Ada" and "ada" are one account.
    username_key: Mapped[str] = mapped_column(String(30), unique=True)
    # identity.name_key of the username and of the display name: look-alike names have equal
    # keys ("ada_I" and "ada_l", "mod_rnarta" and "mod_marta"); services.accounts refuses them.
    username_skeleton: Mapped[str] = mapped_column(String(255), default="", server_default="", index=True)
    email: Mapped[str] = mapped_column(String(254))
    email_key: Mapped[str] = mapped_column(String(254), unique=True)
    # None until the owner opens the confirmation link: until then the account reads and sets
    # itself up but writes nothing others see (policy.refuse_unconfirmed_writes).
    email_confirmed_at: Mapped[datetime | None]
    password_hash: Mapped[str] = mapped_column(String(255))
    display_name: Mapped[str] = mapped_column(String(80), default="")
    display_name_skeleton: Mapped[str] = mapped_column(String(255), default="", server_default="", index=True)
    affiliation: Mapped[str] = mapped_column(String(120), default="")
    bio_source: Mapped[str] = mapped_column(Text, default="")
    bio_html: Mapped[str] = mapped_column(Text, default="")
    links: Mapped[list[str]] = mapped_column(JSON, default=list)
    role: Mapped[Role] = mapped_column(
        Enum(Role, native_enum=False, create_constraint=True, length=20, name="role"), default=Role.member
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    suspended_until: Mapped[datetime | None]
    suspension_reason: Mapped[str | None] = mapped_column(String(500))
    # Email per notification kind: "none", "immediately" or "daily" (see services.notifications).
    email_prefs: Mapped[dict] = mapped_column(JSON, default=dict, server_default="{}")
    # Replies anywhere under one's own posts notify (services.watching) unless turned off.
    watch_own_threads: Mapped[bool] = mapped_column(default=True, server_default=true())
    # Set when the owner deleted the account (services.privacy): the row stays, anonymised,
    # so votes, flags and moderation history keep their counts and meaning.
    deleted_at: Mapped[datetime | None]
    # A copy of the account's live researcher verification (models.verification), so that a
    # byline needs no query: how ("institution_email", "orcid", "moderator"), what
    # ("cs.stanford.edu"), since when, and until when (None: it does not lapse). Whether it
    # still holds is decided when read (is_verified_researcher), never by a cron.
    verified_via: Mapped[str | None] = mapped_column(String(20))
    verified_detail: Mapped[str] = mapped_column(String(255), default="", server_default="")
    verified_since: Mapped[datetime | None]
    verified_until: Mapped[datetime | None]
    # The ORCID iD (0000-0002-1825-0097) the owner proved through ORCID's sign-in
    # (services.orcid), and when; one account per iD.
    orcid_id: Mapped[str | None] = mapped_column(String(19), unique=True)
    orcid_verified_at: Mapped[datetime | None]

    sessions: Mapped[list[UserSession]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="raise"
    )

    # Set by the user loader: the login session this request came with (see get_id).
    current_session_token = None  # str | None; not a column

    def get_id(self) -> str:
        """Flask-Login stores this in the cookie: the session token, never the user id,
        so that deleting the session row logs that browser out for good."""
        return self.current_session_token or ""

    @property
    def name(self) -> str:
        return self.display_name or self.username

    @property
    def badges(self) -> list[str]:
        badge = ROLE_BADGES.get(self.role)
        badges = [badge] if badge else []
        if "Researcher" not in badges and self.is_verified_researcher():
            badges.append("Researcher")
        return badges

    def is_verified_researcher(self, now: datetime | None = None) -> bool:
        return self.verified_via is not None and (self.verified_until is None or self.verified_until > (now or utcnow()))

    @property
    def verified_hat(self) -> str:
        """What the byline says after the badge: "verified · cs.stanford.edu", "" when nothing holds."""
        if not self.is_verified_researcher():
            return ""
        if self.verified_via == "institution_email":
            return f"verified · {self.verified_detail}"
        return "verified · ORCID" if self.verified_via == "orcid" else "verified by a moderator"

    @property
    def awaits_confirmation(self) -> bool:
        return self.email_confirmed_at is None

    @property
    def is_moderator(self) -> bool:
        return self.role in (Role.moderator, Role.admin)

    def is_suspended(self, now: datetime | None = None) -> bool:
        return self.suspended_until is not None and self.suspended_until > (now or utcnow())


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class UserSession(Base):
    """One row per logged-in browser; logout, password change and reset delete rows, and a
    session unused for SESSION_IDLE_DAYS or older than SESSION_MAX_DAYS is over."""

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    user_agent: Mapped[str] = mapped_column(String(200), default="")
    # Written at most once per SESSION_SEEN_MINUTES, not on every request.
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow, server_default=func.current_timestamp(), index=True)
    network: Mapped[str] = mapped_column(String(64), default="", server_default="")  # e.g. 203.0.113.0/24, never the address

    user: Mapped[User] = relationship(back_populates="sessions", lazy="joined")
