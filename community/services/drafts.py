"""Drafts: nothing a person types is lost. A logged-in writer's unsent text is kept per form
(saved on any refused submission and, with JavaScript, while typing) and discarded once the
form is accepted; a submission that arrives after the session ended is kept under a random
token and becomes the writer's draft at their next login. Neither ever grants anything: the
text comes back into a form that the writer sends with their own click."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import bindparam, delete, select

from community.extensions import db
from community.models import Draft, PendingSubmission, User
from community.models.base import utcnow
from community.services import DomainError, upsert

PENDING_FOR = timedelta(days=1)
MAX_FIELDS = 12
MAX_FIELD_CHARS = 50_000  # above the longest compose field (a post body is 20,000)
# What a form carries that is not the writer's words.
NOT_TEXT = frozenset({"csrf_token", "website", "submit", "preview", "next", "password", "confirm", "current"})


def text_fields(form: dict[str, str]) -> dict[str, str]:
    """The writer's own fields of a submitted form (no token, trap or buttons), or {} when it
    holds no words worth keeping."""
    kept = {name: value for name, value in form.items()
            if name not in NOT_TEXT and isinstance(value, str) and len(value) <= MAX_FIELD_CHARS}
    if len(kept) > MAX_FIELDS or not any(value.strip() for value in kept.values()):
        return {}
    return kept


def save(actor: User, form_key: str, page: str, fields: dict[str, str]) -> None:
    """Keep (or replace) the actor's draft of this form; an empty one is discarded."""
    fields = text_fields(fields)
    if not fields:
        discard(actor, form_key)
        return
    if not form_key.startswith("/") or len(form_key) > 300 or len(page) > 500:
        raise DomainError("That is not a form of this site.")
    db.session.execute(upsert(Draft, {"user_id": actor.id, "form_key": form_key, "page": page, "fields": fields,
                                      "updated_at": utcnow()},
                              ["user_id", "form_key"], ["page", "fields", "updated_at"]))


def discard(actor: User, form_key: str) -> None:
    db.session.execute(delete(Draft).where(Draft.user_id == actor.id, Draft.form_key == form_key))


def get(actor: User, form_key: str) -> dict[str, str] | None:
    return db.session.scalar(select(Draft.fields).where(Draft.user_id == actor.id, Draft.form_key == form_key))


def of_forms(actor: User, form_keys: list[str]) -> dict[str, dict[str, str]]:
    """The actor's drafts of these forms, by form key (one query for a whole page)."""
    if not form_keys:
        return {}
    rows = db.session.execute(_OF_FORMS, {"user_id": actor.id, "keys": form_keys[:50]})
    return {key: fields for key, fields in rows}


# Built once: a logged-in episode page asks on every view.
_OF_FORMS = select(Draft.form_key, Draft.fields).where(
    Draft.user_id == bindparam("user_id"), Draft.form_key.in_(bindparam("keys", expanding=True)))


def latest_page(actor: User) -> str | None:
    """The page of the actor's most recent draft: where words wait to be sent."""
    return db.session.scalar(select(Draft.page).where(Draft.user_id == actor.id)
                             .order_by(Draft.updated_at.desc()).limit(1))


def keep_pending(form_key: str, page: str, fields: dict[str, str]) -> str | None:
    """Keep a submission whose sender is no longer logged in; the token to find it by, or
    None when it held no words."""
    fields = text_fields(fields)
    if not fields:
        return None
    prune()
    token = secrets.token_urlsafe(24)
    db.session.add(PendingSubmission(token=token, form_key=form_key[:300], page=page[:500], fields=fields))
    db.session.flush()
    return token


def claim_pending(actor: User, token: str | None, now: datetime | None = None) -> Draft | None:
    """A pending submission becomes the actor's draft of its form (the actor just proved who
    they are; the token only says which browser sent it). Used once; a day at most."""
    if not token:
        return None
    now = now or utcnow()
    pending = db.session.scalar(select(PendingSubmission).where(PendingSubmission.token == token))
    if pending is None:
        return None
    db.session.delete(pending)
    if pending.created_at < now - PENDING_FOR:
        return None
    save(actor, pending.form_key, pending.page, pending.fields)
    db.session.flush()
    return db.session.scalar(select(Draft).where(Draft.user_id == actor.id, Draft.form_key == pending.form_key))


def prune(now: datetime | None = None) -> int:
    """Forget pending submissions older than a day (nobody logged in to claim them)."""
    cutoff = (now or utcnow()) - PENDING_FOR
    return db.session.execute(delete(PendingSubmission).where(PendingSubmission.created_at < cutoff)).rowcount
