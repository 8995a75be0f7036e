"""Domain operations. Each takes the acting user explicitly, flushes, never commits,
and raises a DomainError subclass that the view turns into a message or a status."""

from community.extensions import db


class DomainError(Exception):
    """A rule said no; str(error) is the message for the user."""


class PermissionDenied(DomainError):
    """The actor may not do this (the view answers 403)."""


class NotFound(DomainError):
    """The target does not exist or is not visible to the actor (404)."""


def upsert(model, values: dict, conflict: list[str], update_columns: list[str]):
    """INSERT ... ON CONFLICT DO UPDATE on SQLite and PostgreSQL alike: one statement, no race."""
    if db.session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    statement = dialect_insert(model).values(**values)
    return statement.on_conflict_do_update(
        index_elements=conflict, set_={c: statement.excluded[c] for c in update_columns})
