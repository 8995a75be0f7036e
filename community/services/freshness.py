"""What cached pages may still be served: a version counter per episode page, one for
the list pages (home, episodes, papers, questions, suggestions), and one for everything.

Writes bump the counters inside their own transaction, so a page cached under the new
version can only have been rendered from committed data, on any worker or host. A cached
page is looked up under the versions current at request time: one small query.

No service bumps a counter by hand. SHOWN says, once per table, what its rows show on
cached pages; a session listener reads every write of a transaction against it (ORM
changes at each flush, and UPDATE/INSERT/DELETE statements run through the session as
they execute) and bumps the right counters just before the transaction commits, in the
same transaction. A write cannot forget to invalidate, and a rolled-back one bumps
nothing. tests/views/test_invalidation.py sends every state-changing route and checks it.

The listener is registered when this module is imported; every app imports it (the page
cache middleware the factory installs reads versions here). `touch` and
`touch_everything` remain for a write the listener cannot see (raw SQL, or another
connection than the session's); nothing needs them today."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Connection, bindparam, event, inspect, or_, select, update
from sqlalchemy.sql.elements import BinaryExpression, BindParameter, BooleanClauseList

from community.extensions import db
from community.models import ContentVersion, Episode, Post
from community.services import upsert

EVERYTHING, LISTS = "all", "lists"
# More rows than this in one transaction (imports, bulk data, a re-render of every post):
# bump everything rather than list each page.
MANY = 500


@dataclass(frozen=True)
class Shown:
    """What the rows of one table show on cached pages. A change bumps EVERYTHING
    (`everything`), or LISTS and the page of the episode the row belongs to: named by
    the row's `episode` column, or through the post (`post`) or paper (`paper`) it names.
    `only`: the columns that matter (a change to any other shows nowhere cached);
    `ignore`: columns that show nowhere cached; `new_rows`: False when a new row shows
    nowhere until something else (which is listened to itself) points at it."""
    episode: str | None = None
    post: str | None = None
    paper: str | None = None
    everything: bool = False
    only: frozenset[str] | None = None
    ignore: frozenset[str] = frozenset()
    new_rows: bool = True

    def matters(self, columns: set[str] | None) -> bool:
        """None: the columns are not known, so they might matter."""
        if columns is None:
            return True
        if self.only is not None:
            return bool(columns & self.only)
        return bool(columns - self.ignore)


# Every table whose rows a cached page shows. A write to any other table (notifications,
# sessions, visits, revisions, follows, the moderation log, rate counters...) changes no
# cached page; tests/views/test_invalidation.py lists the routes that only write those.
SHOWN: dict[str, Shown] = {
    # Every kind of post, on its episode and the lists; an appeal is read on the moderation
    # queue and the post's permalink, neither cached.
    "posts": Shown(episode="episode_id", post="id",
                   ignore=frozenset({"appeal_note", "appealed_at", "appeal_resolved_at"})),
    "votes": Shown(post="post_id"),  # scores and the "best" order
    "flags": Shown(post="post_id"),  # flags weigh on the "best" order; enough of them hide a post
    "appearances": Shown(episode="episode_id"),  # who was on the episode
    "moments": Shown(episode="episode_id"),  # transcript markers, chips, guests' corrections
    # Titles and authors, in every episode citing the paper; a new paper shows nowhere until
    # a post links it (and that post is listened to).
    "papers": Shown(paper="id", new_rows=False),
    # Titles and numbers show on every list and on other episodes' pages (answered on air, recorded).
    "episodes": Shown(everything=True, ignore=frozenset({"search_text", "updated_at"})),
    # The transcript on its episode's pages; a segment names no episode (its revision does),
    # and segments change only with a revision or a speaker confirmed in the console: rare.
    "transcript_revisions": Shown(episode="episode_id"),
    "transcript_segments": Shown(everything=True),
    "people": Shown(everything=True),  # guest and host names, and which user is a guest
    # Names, handles, affiliations and role badges show next to every post.
    # and the verified affiliation ("verified · cs.stanford.edu", services.verification).
    "users": Shown(everything=True, only=frozenset({"username", "display_name", "affiliation", "role", "deleted_at",
                                                    "verified_via", "verified_detail", "verified_until"}),
                   new_rows=False),  # a new account has written nothing yet
}


@dataclass
class _Pending:
    everything: bool = False
    episodes: set[int] = field(default_factory=set)
    posts: set[int] = field(default_factory=set)
    papers: set[int] = field(default_factory=set)

    def add(self, shown: Shown, row: dict | None) -> None:
        """`row`: the values of the row's key columns (None, or a column missing: not known)."""
        if shown.everything or row is None:
            self.everything = True  # which page is not known: every page, rather than a stale one
            return
        for kind, column in (("episodes", shown.episode), ("posts", shown.post), ("papers", shown.paper)):
            if column is not None and column in row:
                if row[column] is not None:  # an episode-less post (a suggestion) shows on the lists only
                    getattr(self, kind).add(row[column])
                return
        self.everything = True

    @property
    def many(self) -> bool:
        return len(self.episodes) + len(self.posts) + len(self.papers) > MANY


_KEY = "community.freshness"


def _pending(session) -> _Pending:
    pending = session.info.get(_KEY)
    if pending is None:
        pending = session.info[_KEY] = _Pending()
    return pending


# Built once: every write runs it for each page it changes.
_BUMP = (update(ContentVersion).where(ContentVersion.key == bindparam("bumped_key"))
         .values(version=ContentVersion.version + 1).returning(ContentVersion.version))


def _bump(keys: list[str]) -> dict[str, int]:
    """Returns each key's new version."""
    bumped = {}
    for key in sorted(keys):  # a fixed order: two writers never wait on each other crosswise
        bumped[key] = db.session.execute(_BUMP, {"bumped_key": key}).scalar()
        if bumped[key] is None:
            db.session.execute(upsert(ContentVersion, {"key": key, "version": 1}, ["key"], ["version"]))
            bumped[key] = 1
    return bumped


def _apply(pending: _Pending) -> dict[str, int]:
    """Bump what `pending` changes; returns the keys bumped with their new versions."""
    if pending.everything or pending.many:
        return _bump([EVERYTHING])
    found = []
    if pending.episodes:
        found.append(Episode.id.in_(pending.episodes))
    through = [Post.id.in_(pending.posts)] if pending.posts else []
    through += [Post.paper_id.in_(pending.papers)] if pending.papers else []
    if through:
        found.append(Episode.id.in_(select(Post.episode_id).where(or_(*through))))
    slugs = db.session.scalars(select(Episode.slug).where(or_(*found))).all() if found else []
    return _bump([LISTS] + [episode_key(slug) for slug in slugs])


def touch(*episode_ids: int | None) -> None:
    """This transaction changes what these episodes' pages (and the list pages) show, in a
    way the listener cannot see (see the module's docstring)."""
    _pending(db.session).episodes.update(i for i in episode_ids if i)


def touch_everything() -> None:
    """As touch, for what every page shows."""
    _pending(db.session).everything = True


def episode_key(slug: str) -> str:
    return f"episode:{slug}"[:40]


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


# ---------------------------------------------------------------- the listener

def _key_columns(shown: Shown) -> list[str]:
    return [c for c in (shown.episode, shown.post, shown.paper) if c]


@event.listens_for(db.session, "after_flush")
def _flushed(session, context) -> None:
    """ORM changes: new, changed and deleted objects (their history is still there here,
    and new rows have their keys)."""
    for objects, kind in ((session.new, "new"), (session.dirty, "changed"), (session.deleted, "deleted")):
        for obj in objects:
            table = getattr(type(obj), "__table__", None)
            shown = SHOWN.get(table.name) if table is not None else None
            if shown is None or (kind == "new" and not shown.new_rows):
                continue
            state = inspect(obj)
            if kind == "changed":
                columns = {a.key for a in state.mapper.column_attrs if state.attrs[a.key].history.has_changes()}
                if not columns or not shown.matters(columns):
                    continue  # touched, not changed; or changed where no cached page looks
            _pending(session).add(shown, {c: state.dict[c] for c in _key_columns(shown) if c in state.dict})


def _equal_to(clause, table: str, column: str) -> BindParameter | None:
    """The parameter `table.column` is compared to in a WHERE of `a = 1 AND ...` shape."""
    clauses = clause.clauses if isinstance(clause, BooleanClauseList) and clause.operator.__name__ == "and_" \
        else [clause]
    for c in clauses:
        if isinstance(c, BinaryExpression) and c.operator.__name__ == "eq" and isinstance(c.right, BindParameter) \
                and getattr(c.left, "key", None) == column and getattr(getattr(c.left, "table", None), "name", None) == table:
            return c.right
    return None


def _values(statement) -> tuple[set[str], dict] | None:
    """The columns an INSERT or UPDATE ... VALUES sets, and the values of those set to a
    plain value (not to an expression). None when the statement has no VALUES clause."""
    values = getattr(statement, "_values", None)
    if not values:
        return None
    columns = {getattr(k, "key", k): v for k, v in values.items()}
    return set(columns), {k: v.effective_value for k, v in columns.items() if isinstance(v, BindParameter)}


@event.listens_for(db.session, "do_orm_execute")
def _statement(state) -> None:
    """INSERT, UPDATE and DELETE statements run through the session (the ORM sees no
    objects for them): the rows they name, or a look-up of them before they change."""
    if not (state.is_insert or state.is_update or state.is_delete):
        return
    statement = state.statement
    shown = SHOWN.get(statement.table.name)
    if shown is None:
        return
    pending = _pending(state.session)
    keys = _key_columns(shown)
    values = _values(statement)
    if state.is_insert:
        # ON CONFLICT DO UPDATE may change an existing row, not only add one.
        if not shown.new_rows and type(getattr(statement, "_post_values_clause", None)).__name__ != "OnConflictDoUpdate":
            return
        if isinstance(state.parameters, list):  # executemany
            rows = state.parameters
        else:
            rows = [state.parameters or (values[1] if values else None)]
        for row in rows:
            pending.add(shown, row)
            if pending.everything or pending.many:
                return
        return
    if state.is_update and not shown.matters(values[0] if values else None):
        return
    if shown.everything or statement.whereclause is None:
        pending.everything = True
        return
    given = state.parameters if isinstance(state.parameters, list) else [state.parameters or {}]
    for column in keys:
        bind = _equal_to(statement.whereclause, statement.table.name, column)
        if bind is not None:
            for parameters in given:  # one per row of an executemany
                value = parameters.get(bind.key, bind.effective_value)
                if value is None:  # not a value known here
                    pending.everything = True
                pending.add(shown, {column: value})
                if pending.everything or pending.many:
                    return
            return
    if state.parameters:
        pending.everything = True  # rows named by parameters of the driver: not looked up here
        return
    # Which rows: asked before they change (a DELETE leaves nothing to ask afterwards).
    table = statement.table
    found = state.session.connection().execute(select(*(table.c[c] for c in keys)).where(statement.whereclause))
    for values in found.mappings():
        pending.add(shown, dict(values))
        if pending.everything or pending.many:
            return


@event.listens_for(db.session, "before_commit")
def _committing(session) -> None:
    session.flush()  # the last changes, so the listener has seen them all
    pending = session.info.pop(_KEY, None)
    if pending is not None:
        written = session.info.setdefault(_WRITTEN, {})
        for key, version in _apply(pending).items():
            written[key] = max(version, written.get(key, 0))


_WRITTEN = "community.freshness.written"


def written(session) -> dict[str, int]:
    """The keys this session's commits bumped since the last call, each with the version
    it left: a reader who wrote must not be shown a page older than that (pages/cache.py:
    read-your-writes)."""
    return session.info.pop(_WRITTEN, None) or {}


@event.listens_for(db.session, "after_transaction_end")
def _ended(session, transaction) -> None:
    if transaction.parent is None:  # a rolled-back transaction bumps nothing
        session.info.pop(_KEY, None)
