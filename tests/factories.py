"""Factories that build real rows through the same code paths the app uses."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone

from flask import current_app

from community import identity
from community.extensions import db
from community.models import Role, User
from community.services import accounts

_counter = itertools.count(1)


class Factories:
    PASSWORD = "correct horse battery staple"
    _password_hashes: dict[tuple, str] = {}  # by the app's argon2 cost

    @staticmethod
    def password_hash() -> str:
        """PASSWORD's hash at the app's argon2 cost, made once per run (argon2 is slow on purpose)."""
        cost = (current_app.config["PASSWORD_HASH_TIME_COST"], current_app.config["PASSWORD_HASH_MEMORY_KIB"])
        if cost not in Factories._password_hashes:
            Factories._password_hashes[cost] = accounts.hash_password(Factories.PASSWORD)
        return Factories._password_hashes[cost]

    def user(self, username: str | None = None, role: Role | str = Role.member, confirmed: bool = True,
             **fields) -> User:
        """confirmed=False: a new account whose address waits for its link (it may not write)."""
        number = next(_counter)
        username = username or f"user{number}"
        # Month-old accounts by default: the stricter limits for new accounts are tested on purpose.
        fields.setdefault("created_at", datetime.now(timezone.utc) - timedelta(days=30))
        fields.setdefault("email_confirmed_at", fields["created_at"] if confirmed else None)
        display_name = fields.get("display_name", "")
        fields["display_name_skeleton"] = identity.name_key(display_name) if display_name else ""
        user = User(
            username=username,
            username_key=username.lower(),
            username_skeleton=identity.name_key(username),
            email=fields.pop("email", f"{username}@example.org"),
            password_hash=Factories.password_hash(),
            role=Role(role),
            links=[],
            **fields,
        )
        user.email_key = user.email.lower()
        db.session.add(user)
        db.session.commit()
        return user

    def episode(self, number: int | None = None, title: str | None = None, guests=(), hosts=(), **fields):
        from datetime import datetime, timedelta, timezone

        from community.models import Episode
        from community.services import episodes

        number = next(_counter) if number is None else number
        title = title or f"Episode {number} on research"
        episode = Episode(
            number=number, title=title, slug=episodes._unique_slug(episodes.episode_slug(number, title)),
            published_at=fields.pop("published_at", datetime(2021, 1, 1, tzinfo=timezone.utc) + timedelta(days=number)),
            appearances=[], **fields,
        )
        db.session.add(episode)
        db.session.flush()
        people_guests = [episodes.person(*g) if isinstance(g, tuple) else episodes.person(g) for g in guests]
        people_hosts = [episodes.person(h) for h in hosts]
        db.session.flush()
        episodes.set_people(episode, people_guests, people_hosts)
        db.session.commit()
        return episode

    def comment(self, author, episode=None, parent=None, body: str = "A comment.", **fields):
        from community.services import discussion

        post = discussion.create_post(author, episode=episode, body=body, parent=parent)
        for key, value in fields.items():
            setattr(post, key, value)
        db.session.commit()
        return post


def move_verifications_back(user_id: int, delta: timedelta) -> None:
    """Time passes for one account's addresses and verifications: every stored confirmation, link
    and verification date (and the byline's copy) moves `delta` into the past, as if that much
    time had gone by since. What the app judges "now" stays the real clock."""
    from sqlalchemy import select

    from community.models import EmailAddress, Verification

    db.session.commit()
    db.session.expire_all()  # read what the requests wrote, not this session's older copies
    for row in db.session.scalars(select(Verification).where(Verification.user_id == user_id)):
        row.verified_at -= delta
        row.expires_at = row.expires_at - delta if row.expires_at else None
    for row in db.session.scalars(select(EmailAddress).where(EmailAddress.user_id == user_id)):
        row.confirmed_at = row.confirmed_at - delta if row.confirmed_at else None
        row.sent_at = row.sent_at - delta if row.sent_at else None
    user = db.session.get(User, user_id)
    user.verified_since = user.verified_since - delta if user.verified_since else None
    user.verified_until = user.verified_until - delta if user.verified_until else None
    db.session.commit()
