"""Full-text search over episodes and posts of every kind: one service, two engines
(SQLite FTS5 on the embedded default, PostgreSQL tsvector in production).

User input never reaches either query language as written: it is parsed here into
words, "phrases", -exclusions and prefix* terms of word characters only, and each
engine's query is built from those. Malformed input (stray quotes, lone operators,
very long text) simply yields fewer terms, never an error.
"""

from __future__ import annotations

import html
import re
from types import SimpleNamespace
from dataclasses import dataclass, field
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone

from sqlalchemy import select, text

from community.extensions import db
from community.models import Episode, Post, PostKind, User
from community.models.search import EPISODE_DOCUMENT, POST_DOCUMENT
from community.services import episodes

MAX_QUERY = 200
MAX_TERMS = 12
START, STOP = "\x01", "\x02"  # snippet markers: the snippet is escaped, then these become <mark>
_TOKEN = re.compile(r'(-?)"([^"]*)"|(\S+)')
_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass
class Term:
    words: list[str]
    prefix: bool = False
    exclude: bool = False


@dataclass
class ParsedQuery:
    terms: list[Term] = field(default_factory=list)

    @property
    def positive(self) -> list[Term]:
        return [t for t in self.terms if not t.exclude]

    @property
    def usable(self) -> bool:
        return bool(self.positive)


def parse(raw: str) -> ParsedQuery:
    raw = (raw or "")[:MAX_QUERY]
    if raw.count('"') % 2:  # an unbalanced quote is just a character
        raw = raw.replace('"', " ")
    terms = []
    for m in _TOKEN.finditer(raw):
        if m.group(2) is not None:
            words = _WORD.findall(m.group(2).lower())
            if words:
                terms.append(Term(words, exclude=m.group(1) == "-"))
            continue
        token = m.group(3)
        exclude = token.startswith("-") and len(token) > 1
        prefix = token.endswith("*")
        words = _WORD.findall(token.lower())
        if not words:
            continue
        if len(words) > 1:  # "a-b" or "x.y": a phrase of its parts
            terms.append(Term(words, exclude=exclude))
        else:
            terms.append(Term(words, prefix=prefix, exclude=exclude))
    return ParsedQuery(terms[:MAX_TERMS])


def fts5_query(query: ParsedQuery) -> str:
    def quoted(term: Term) -> str:
        return '"' + " ".join(term.words) + '"' + ("*" if term.prefix else "")

    positive = " ".join(quoted(t) for t in query.positive)
    negative = "".join(f" NOT {quoted(t)}" for t in query.terms if t.exclude)
    return positive + negative


def tsquery(query: ParsedQuery) -> str:
    def lexemes(term: Term) -> str:
        parts = [f"'{w}'" for w in term.words]
        if term.prefix:
            parts[-1] += ":*"
        body = " <-> ".join(parts)
        return f"!({body})" if term.exclude else f"({body})"

    return " & ".join(lexemes(t) for t in query.terms)


def _snippet_html(snippet: str | None) -> str:
    safe = html.escape(" ".join((snippet or "").split()))
    return safe.replace(START, "<mark>").replace(STOP, "</mark>")


@dataclass
class Filters:
    kind: str | None = None
    episode: str | None = None  # slug
    author: str | None = None  # username
    since: datetime | None = None
    until: datetime | None = None
    sort: str = "relevance"  # or "newest"

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> Filters:
        """From a query string (the page and the API read the same one); what does not
        parse is no filter."""
        until = _day(args.get("until"))
        return cls(
            kind=args.get("kind") or None,
            episode=args.get("episode") or None,
            author=args.get("author") or None,
            since=_day(args.get("since")),
            until=until + timedelta(days=1) if until else None,  # the whole "until" day is included
            sort="newest" if args.get("sort") == "newest" else "relevance",
        )


def _day(value: str | None) -> datetime | None:
    try:
        return datetime.strptime(value or "", "%Y-%m-%d").replace(tzinfo=timezone.utc)
    except ValueError:
        return None


@dataclass
class PostHit:
    post: Post
    snippet_html: str
    episode: Episode | None


@dataclass
class EpisodeHit:
    episode: Episode
    snippet_html: str


@dataclass
class MomentHit:
    """Words said in an episode (its current transcript), landing on their moment."""
    episode: Episode
    position: int  # the sentence's anchor on the episode and transcript pages: #m-<position>
    start: float
    speaker: str
    snippet_html: str

    @property
    def seconds(self) -> int:
        return int(self.start)


@dataclass
class Results:
    query: ParsedQuery
    posts: list[PostHit]
    total: int
    episodes: list[EpisodeHit]
    moments: list[MomentHit] = field(default_factory=list)


def _post_conditions(filters: Filters, viewer: User | None, params: dict) -> list[str]:
    """SQL conditions on `posts` (bound parameters only)."""
    # Posts of an unpublished episode are out of search like the episode itself.
    conditions = ["posts.status != 'deleted'",
                  "(posts.episode_id IS NULL OR posts.episode_id NOT IN (SELECT id FROM episodes WHERE NOT is_published))"]
    if not (viewer is not None and viewer.is_authenticated and viewer.is_moderator):
        conditions.append("posts.status = 'visible'")
    if filters.kind in {k.value for k in PostKind}:
        conditions.append("posts.kind = :kind")
        params["kind"] = filters.kind
    if filters.episode:
        conditions.append("posts.episode_id = (SELECT id FROM episodes WHERE slug = :episode_slug)")
        params["episode_slug"] = filters.episode
    if filters.author:
        conditions.append("posts.author_id = (SELECT id FROM users WHERE username_key = :author_key)")
        params["author_key"] = filters.author.lower()
    if filters.since:
        conditions.append("posts.created_at >= :since")
        params["since"] = _bind_time(filters.since)
    if filters.until:
        conditions.append("posts.created_at < :until")
        params["until"] = _bind_time(filters.until)
    return conditions


def _bind_time(moment: datetime):
    """SQLite stores naive UTC (see UTCDateTime); PostgreSQL takes the aware value."""
    return moment.replace(tzinfo=None) if db.session.get_bind().dialect.name == "sqlite" else moment


def search(raw: str, filters: Filters, viewer: User | None, page: int = 1, per_page: int = 20) -> Results:
    query = parse(raw)
    if not query.usable:
        return Results(query, [], 0, [])
    engine = db.session.get_bind().dialect.name
    params: dict = {"limit": per_page, "offset": (page - 1) * per_page}
    conditions = _post_conditions(filters, viewer, params)
    if engine == "sqlite":
        params["q"] = fts5_query(query)
        # CROSS JOIN fixes the order: the full-text match drives, posts are looked up by id
        # (left to itself SQLite may walk an index on posts and match every row).
        base = (f"FROM posts_fts CROSS JOIN posts ON posts.id = posts_fts.rowid WHERE posts_fts MATCH :q AND "
                f"{' AND '.join(conditions)}")
        order = "posts.created_at DESC" if filters.sort == "newest" else "posts_fts.rank"
        total = _capped_count(base, params)
        ids = db.session.execute(text(  # nosec B608
            f"SELECT posts.id {base} ORDER BY {order}, posts.id LIMIT :limit OFFSET :offset"), params).scalars().all()
        # Snippets only for the page shown: computing them for every match is what costs.
        snippets = dict(db.session.execute(text(
            f"SELECT rowid, snippet(posts_fts, -1, '{START}', '{STOP}', '…', 24) FROM posts_fts "  # nosec B608
            f"WHERE posts_fts MATCH :q AND rowid IN ({','.join(str(int(i)) for i in ids) or 'NULL'})"),
            {"q": params["q"]}).all())
        rows = [SimpleNamespace(id=i, snippet=snippets.get(i)) for i in ids]
    else:
        params["q"], params["candidates"] = tsquery(query), COUNT_CAP
        base = ("FROM posts, to_tsquery('english', :q) AS query WHERE posts.search_vector @@ query AND "
                + " AND ".join(conditions))
        total = _capped_count(base, params)
        if filters.sort == "newest":
            ordered = f"SELECT posts.id, posts.created_at AS sort_key {base} ORDER BY posts.created_at DESC, posts.id"
        else:
            # Relevance among the newest COUNT_CAP matches: ranking every match of a common
            # word costs a read per match, and the count already stops there ("1,000+").
            ordered = (f"SELECT id, ts_rank(search_vector, to_tsquery('english', :q)) AS sort_key FROM "  # nosec B608
                       f"(SELECT posts.id, posts.search_vector {base} ORDER BY posts.id DESC LIMIT :candidates) "
                       f"AS recent ORDER BY sort_key DESC, id")
        # ts_headline in an outer query: only the page's rows pay for their snippet.
        rows = db.session.execute(text(  # nosec B608
            f"SELECT page.id, ts_headline('english', {POST_DOCUMENT}, to_tsquery('english', :q), "  # nosec B608
            f"'StartSel={START},StopSel={STOP},MaxWords=30,MinWords=12,MaxFragments=2') AS snippet "
            f"FROM ({ordered} LIMIT :limit OFFSET :offset) AS page JOIN posts ON posts.id = page.id "
            f"ORDER BY page.sort_key DESC, page.id"), params).all()
    posts = {p.id: p for p in db.session.scalars(select(Post).where(Post.id.in_([r.id for r in rows])))}
    episode_ids = {p.episode_id for p in posts.values() if p.episode_id}
    episodes = {e.id: e for e in db.session.scalars(select(Episode).where(Episode.id.in_(episode_ids)))} if episode_ids else {}
    hits = [PostHit(posts[r.id], _snippet_html(r.snippet), episodes.get(posts[r.id].episode_id))
            for r in rows if r.id in posts]
    show_episodes = page == 1 and not (filters.kind or filters.author)
    return Results(query, hits, total, _episodes(query, engine) if show_episodes else [],
                   _moments(query, engine, filters.episode) if show_episodes else [])


COUNT_CAP = 1000


def _capped_count(base: str, params: dict) -> int:
    """Matches counted up to COUNT_CAP + 1 ("1,000+"): an exact count of a common word
    would cost a lookup per match, and nobody pages that far."""
    return db.session.execute(text(f"SELECT count(*) FROM (SELECT 1 {base} LIMIT {COUNT_CAP + 1}) AS capped"),  # nosec B608
                              params).scalar()


def _episodes(query: ParsedQuery, engine: str, limit: int = 5) -> list[EpisodeHit]:
    if engine == "sqlite":
        sql = (f"SELECT episodes.id, snippet(episodes_fts, 0, '{START}', '{STOP}', '…', 20) AS snippet "  # nosec B608
               "FROM episodes_fts CROSS JOIN episodes ON episodes.id = episodes_fts.rowid "
               "WHERE episodes_fts MATCH :q AND episodes.is_published ORDER BY bm25(episodes_fts) LIMIT :limit")
        params = {"q": fts5_query(query), "limit": limit}
    else:
        vector = f"to_tsvector('english', {EPISODE_DOCUMENT})"
        sql = (f"SELECT episodes.id, ts_headline('english', {EPISODE_DOCUMENT}, query, "  # nosec B608
               f"'StartSel={START},StopSel={STOP},MaxWords=25,MinWords=10') AS snippet "
               f"FROM episodes, to_tsquery('english', :q) AS query WHERE {vector} @@ query AND episodes.is_published "
               f"ORDER BY ts_rank({vector}, query) DESC LIMIT :limit")
        params = {"q": tsquery(query), "limit": limit}
    rows = db.session.execute(text(sql), params).all()
    found = {e.id: e for e in db.session.scalars(select(Episode).where(Episode.id.in_([r.id for r in rows])))}
    return [EpisodeHit(found[r.id], _snippet_html(r.snippet)) for r in rows if r.id in found]


# The current revision of a published episode: older revisions stay indexed (anchors made on
# them are re-found from their words) but are never a search result.
_CURRENT_SEGMENT = ("JOIN transcript_revisions r ON r.id = s.revision_id "
                    "JOIN episodes e ON e.id = r.episode_id AND r.number = e.transcript_revision AND e.is_published "
                    "LEFT JOIN people p ON p.id = s.person_id")


def _moments(query: ParsedQuery, engine: str, episode_slug: str | None, limit: int = 10) -> list[MomentHit]:
    """The best-matching sentences of transcripts: ranked among the newest COUNT_CAP
    matching segments (as posts are, so a word said in every episode costs no more than a
    rare one), snippets made for the page's rows only; then one query for their episodes."""
    params: dict = {"limit": limit, "candidates": COUNT_CAP}
    only_episode = ""
    if episode_slug:
        only_episode = " AND e.slug = :episode_slug"
        params["episode_slug"] = episode_slug
    if engine == "sqlite":
        params["q"] = fts5_query(query)
        # FTS5 walks its matches in rowid order and stops at the LIMIT: only those are ranked.
        ranked = (f"SELECT s.id, s.position, s.start, coalesce(p.name, s.speaker) AS speaker, r.episode_id, "  # nosec B608
                  f"m.score FROM (SELECT rowid AS id, rank AS score FROM transcript_segments_fts "
                  f"WHERE transcript_segments_fts MATCH :q ORDER BY rowid DESC LIMIT :candidates) AS m "
                  f"JOIN transcript_segments s ON s.id = m.id {_CURRENT_SEGMENT} WHERE 1 = 1{only_episode} "
                  f"ORDER BY m.score, s.id LIMIT :limit")
        rows = db.session.execute(text(ranked), params).all()
        snippets = dict(db.session.execute(text(
            f"SELECT rowid, snippet(transcript_segments_fts, 0, '{START}', '{STOP}', '…', 24) "  # nosec B608
            f"FROM transcript_segments_fts WHERE transcript_segments_fts MATCH :q "
            f"AND rowid IN ({','.join(str(int(r.id)) for r in rows) or 'NULL'})"), {"q": params["q"]}).all())
        rows = [SimpleNamespace(**r._mapping, snippet=snippets.get(r.id)) for r in rows]
    else:
        params["q"] = tsquery(query)
        ranked = (f"SELECT found.*, ts_rank(to_tsvector('english', found.text), to_tsquery('english', :q)) AS score "  # nosec B608
                  f"FROM (SELECT s.id, s.position, s.start, coalesce(p.name, s.speaker) AS speaker, s.text, "
                  f"r.episode_id FROM transcript_segments s {_CURRENT_SEGMENT} "
                  f"WHERE to_tsvector('english', s.text) @@ to_tsquery('english', :q){only_episode} "
                  f"ORDER BY s.id DESC LIMIT :candidates) AS found ORDER BY score DESC, found.id LIMIT :limit")
        # ts_headline in an outer query: only the page's rows pay for their snippet.
        rows = db.session.execute(text(
            f"SELECT page.id, page.position, page.start, page.speaker, page.episode_id, "  # nosec B608
            f"ts_headline('english', page.text, to_tsquery('english', :q), "
            f"'StartSel={START},StopSel={STOP},MaxWords=30,MinWords=12') AS snippet "
            f"FROM ({ranked}) AS page ORDER BY page.score DESC, page.id"), params).all()
    if not rows:
        return []
    found = {e.id: e for e in db.session.scalars(select(Episode).where(Episode.id.in_({r.episode_id for r in rows})))}
    return [MomentHit(found[r.episode_id], r.position, r.start, r.speaker, _snippet_html(r.snippet))
            for r in rows if r.episode_id in found]


def reindex() -> None:
    """Rebuild everything the search reads (after a restore, or to be sure)."""
    for episode in db.session.scalars(select(Episode)):
        episodes.refresh_search_text(episode)
    db.session.flush()
    if db.session.get_bind().dialect.name == "sqlite":
        db.session.execute(text("INSERT INTO posts_fts(posts_fts) VALUES ('rebuild')"))
        db.session.execute(text("INSERT INTO episodes_fts(episodes_fts) VALUES ('rebuild')"))
        db.session.execute(text("INSERT INTO transcript_segments_fts(transcript_segments_fts) VALUES ('rebuild')"))
    else:
        db.session.execute(text("REINDEX INDEX ix_posts_search"))
        db.session.execute(text("REINDEX INDEX ix_episodes_search"))
        db.session.execute(text("REINDEX INDEX ix_transcript_segments_search"))
