"""Every change made in the operator console (or by its flask commands) is one row here."""

from __future__ import annotations

from community.extensions import db
from community.models import AdminLogEntry, User


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
