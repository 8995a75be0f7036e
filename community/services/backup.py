"""Backups: SQLite through its online backup API (consistent while the site runs);
PostgreSQL is backed up with pg_dump, which this only explains."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy.engine import URL

from community.extensions import db


class BackupError(Exception):
    pass


def pg_dump_advice(url: URL) -> str:
    """How to back up PostgreSQL, with the database's address but never its password:
    what a command prints ends up in terminals, logs and CI output. pg_dump takes the
    password from PGPASSWORD or ~/.pgpass, as psql does."""
    safe = URL.create("postgresql", username=url.username, host=url.host, port=url.port, database=url.database,
                      query={key: value for key, value in url.query.items() if "pass" not in key.lower()})
    address = safe.render_as_string(hide_password=True)  # no password left to hide; belt and braces
    return (f"This database is PostgreSQL: back it up with pg_dump, e.g.\n"
            f"  pg_dump --format=custom --file=community.dump '{address}'\n"
            f"(the password is not shown: pg_dump reads it from PGPASSWORD or ~/.pgpass)\n"
            f"and restore with pg_restore --clean --dbname=... community.dump")


def backup(target: str | Path) -> Path:
    """Copy the live SQLite database to `target` (a new file); returns the path."""
    engine = db.engine
    if engine.dialect.name != "sqlite":
        raise BackupError(pg_dump_advice(engine.url))
    target = Path(target)
    if target.exists():
        raise BackupError(f"{target} exists already; choose a new file name.")
    target.parent.mkdir(parents=True, exist_ok=True)
    source_path = engine.url.database
    with sqlite3.connect(source_path) as source, sqlite3.connect(target) as copy:
        source.backup(copy)  # page by page, consistent even while others write
        check = copy.execute("PRAGMA integrity_check").fetchone()[0]
    if check != "ok":
        target.unlink(missing_ok=True)
        raise BackupError(f"the copy failed its integrity check: {check}")
    return target


def restore(source: str | Path) -> None:
    """Replace the live SQLite database with a backup, page by page through the same API,
    so it is safe even while connections are open (no stale journal can replay)."""
    engine = db.engine
    if engine.dialect.name != "sqlite":
        raise BackupError("This database is PostgreSQL: restore it with pg_restore.")
    source = Path(source)
    if not source.is_file():
        raise BackupError(f"no such backup: {source}")
    with sqlite3.connect(source) as backup_copy:
        check = backup_copy.execute("PRAGMA integrity_check").fetchone()[0]
        if check != "ok":
            raise BackupError(f"the backup failed its integrity check: {check}")
        db.session.remove()
        engine.dispose()
        with sqlite3.connect(engine.url.database) as live:
            backup_copy.backup(live)
