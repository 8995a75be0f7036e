"""Domain operations. Each takes the acting user explicitly, flushes, never commits,
and raises a DomainError subclass that the view turns into a message or a status."""

from community.extensions import db


class DomainError(Exception):
    """A rule said no; str(error) is the message for the user."""


class PermissionDenied(DomainError):
    """The actor may not do this (the view answers 403)."""


class NotFound(DomainError):
    """The target does not exist or is not visible to the actor (404)."""


def dialect_insert(model):
    """INSERT with ON CONFLICT support, for SQLite and PostgreSQL alike."""
    if db.session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(model)


def upsert(model, values: dict, conflict: list[str], update_columns: list[str]):
    """INSERT ... ON CONFLICT DO UPDATE: one statement, no read-then-write race."""
    statement = dialect_insert(model).values(**values)
    return statement.on_conflict_do_update(
        index_elements=conflict, set_={c: statement.excluded[c] for c in update_columns})
