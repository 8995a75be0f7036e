"""What cached pages may still be served: a version counter per episode page, one for
the list pages (home, episodes, papers, questions, suggestions), and one for everything.

Writes bump the counters inside their own transaction, so a page cached under the new
version can only have been rendered from committed data, on any worker or host. A cached
page is looked up under the versions current at request time: one small query."""

from __future__ import annotations

from sqlalchemy import Connection, select, update

from community.extensions import db
from community.models import ContentVersion, Episode
from community.services import upsert

EVERYTHING, LISTS = "all", "lists"


def _bump(keys: list[str]) -> None:
    for key in sorted(keys):  # a fixed order: two writers never wait on each other crosswise
        result = db.session.execute(update(ContentVersion).where(ContentVersion.key == key)
                                    .values(version=ContentVersion.version + 1))
        if result.rowcount == 0:
            db.session.execute(upsert(ContentVersion, {"key": key, "version": 1}, ["key"], ["version"]))


def touch(*episode_ids: int | None) -> None:
    """This transaction changes what these episodes' pages (and the list pages) show."""
    ids = {i for i in episode_ids if i}
    slugs = db.session.scalars(select(Episode.slug).where(Episode.id.in_(ids))).all() if ids else []
    _bump([LISTS] + [episode_key(slug) for slug in slugs])


def episode_key(slug: str) -> str:
    return f"episode:{slug}"[:40]


def touch_everything() -> None:
    """Names, badges, affiliations: shown on every page."""
    _bump([EVERYTHING])


def versions(*keys: str, connection: Connection | None = None) -> str:
    """The versions of `keys` (and of everything), as part of a cache key. Without a
    connection: in the session's transaction.

    Written as plain SQL for the driver: this runs on every cached page view, and
    SQLAlchemy's compiling of an IN list cost more than the query (46 µs against 73)."""
    connection = connection or db.session.connection()
    wanted = (EVERYTHING, *keys)
    mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    sql = f'SELECT "key", version FROM content_versions WHERE "key" IN ({", ".join([mark] * len(wanted))})'  # nosec B608
    rows = dict(connection.exec_driver_sql(sql, wanted).all())
    return ".".join(str(rows.get(k, 0)) for k in wanted)
