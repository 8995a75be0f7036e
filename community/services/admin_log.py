"""Every change made in the operator console (or by its flask commands) is one row here."""

from __future__ import annotations

from sqlalchemy import select

from community.extensions import db
from community.models import AdminLogEntry, Role, User
from community.services import PermissionDenied


def record(actor: User | None, action: str, *, target_type: str = "", target_id: object = "", summary: str = "",
           before: dict | None = None, after: dict | None = None) -> AdminLogEntry:
    """Adds the entry to the caller's transaction: it lands if and only if the change does.
    `actor` is None for a flask command run without --as."""
    entry = AdminLogEntry(actor_id=actor.id if actor else None, action=action, target_type=target_type,
                          target_id=str(target_id), summary=summary[:500], before=before, after=after)
    db.session.add(entry)
    return entry


def changes(before: dict, after: dict) -> tuple[dict, dict]:
    """Only the fields that differ, for a log row that says what changed and nothing else."""
    keys = [k for k in after if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after.get(k) for k in keys}


def require_team(actor: User | None) -> None:
    """Console work on the show (episodes, people, appearances): hosts and admins; None is
    the command line, run by an operator with shell access."""
    if actor is not None and actor.role not in (Role.host, Role.admin):
        raise PermissionDenied("Only the show's hosts and admins can do that.")


def require_admin(actor: User | None) -> None:
    if actor is not None and actor.role != Role.admin:
        raise PermissionDenied("Only admins can do that.")


def page(number: int, target_type: str | None = None, target_id: str | None = None, per_page: int = 50):
    """The log, newest first; optionally one target's rows (every change to one episode)."""
    query = select(AdminLogEntry)
    if target_type:
        query = query.where(AdminLogEntry.target_type == target_type)
        if target_id:
            query = query.where(AdminLogEntry.target_id == target_id)
    return db.paginate(query.order_by(AdminLogEntry.created_at.desc(), AdminLogEntry.id.desc()),
                       page=number, per_page=per_page, error_out=False)
