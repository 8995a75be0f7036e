"""Paper links: recognise, de-duplicate per episode, fill in their details, gather across
episodes, export.

A submission names a paper by its link or identifier; for arXiv ids, DOIs and OpenReview ids
the title is optional: ``request_metadata`` asks for the details (title, authors, year, venue,
abstract, DOI) once the submission commits, and ``enrich(paper_id)`` fetches them from the
source (services/paper_sources.py). Until then the paper shows "fetching details…"; a source
that fails is recorded and tried again later, never papered over with guesses. A URL that
names no paper is a *link*: listed apart and left out of BibTeX unless its submitter or a
moderator confirms it is a paper."""

from __future__ import annotations

import logging
import re
import time
import unicodedata
from dataclasses import dataclass
from datetime import timedelta

from flask import current_app
from sqlalchemy import distinct, func, or_, select

from community import markup, paper_ids
from community.extensions import db, limiter
from community.models.base import utcnow
from community.models import Episode, MetadataStatus, Paper, Post, PostKind, PostStatus, User, Vote
from community.services import DomainError, PermissionDenied, dialect_insert, discussion, jobs, paper_sources
from community.services.paper_sources import Metadata

log = logging.getLogger(__name__)

TITLE_MAX = 300
ABSTRACT_MAX = 20_000


@dataclass
class Submission:
    post: Post
    merged: bool  # True when the paper was already on the episode and the submitter's vote was added


def parse_moment(text: str | None) -> int | None:
    """'12:34' or '1:02:03' (or empty) -> seconds; anything else is refused."""
    text = (text or "").strip()
    if not text:
        return None
    seconds = markup.timestamp_seconds(text)
    if seconds is None:
        raise DomainError("Write the moment as mm:ss or h:mm:ss, e.g. 12:34.")
    return seconds


def identify(link: str) -> paper_ids.PaperId:
    try:
        return paper_ids.identify(link)
    except paper_ids.PaperIdError as error:
        raise DomainError(str(error)) from None


def _paper_for(pid: paper_ids.PaperId, title: str) -> Paper:
    """The one Paper row for a canonical id; a concurrent insert of the same id is tolerated."""
    paper = db.session.scalar(select(Paper).where(Paper.canonical_id == pid.canonical_id))
    if paper is not None:
        return paper
    fetchable = paper_sources.source_for(pid.canonical_id) is not None
    db.session.execute(dialect_insert(Paper).values(
        canonical_id=pid.canonical_id, url=pid.url, source=pid.source, title=title, authors=[], doi=pid.doi,
        metadata_status=(MetadataStatus.pending if fetchable else MetadataStatus.none).value, created_at=utcnow(),
    ).on_conflict_do_nothing(index_elements=["canonical_id"]))
    return db.session.scalar(select(Paper).where(Paper.canonical_id == pid.canonical_id))


def submit(actor: User, episode: Episode, *, link: str, title: str = "", moment: str | None = None,
           note: str = "") -> Submission:
    """Add a paper to an episode's reading list, or count the actor's vote on the entry
    that is already there (whatever link form it was submitted as). The title may be left
    out when the source can tell it (arXiv, DOI, OpenReview) or it is known already."""
    discussion.ensure_can_write(actor)
    title = " ".join((title or "").split())
    if len(title) > TITLE_MAX:
        raise DomainError(f"Keep the title under {TITLE_MAX} characters.")
    pid = identify(link)
    seconds = parse_moment(moment)
    if not title and paper_sources.source_for(pid.canonical_id) is None and not _known_title(pid):
        raise DomainError("Give the paper's title: its details are fetched by themselves only for "
                          "arXiv, DOI and OpenReview links.")
    paper = _paper_for(pid, title)
    if title and not paper.title:  # named by this submitter while its source has not answered
        paper.title = title
    request_metadata(paper)
    existing = _entry(episode, paper)
    if existing is None:
        # Two people adding the same paper in the same instant: the unique (episode, paper)
        # index refuses the second, whose request is retried by the view and then merges.
        post = discussion.create_post(actor, episode=episode, body=note or "", kind=PostKind.paper,
                                      paper_id=paper.id, moment_seconds=seconds, title=paper.title or None)
        # Unlike a comment, an entry starts with its submitter's vote: the score of a
        # paper is how many people want it on the list, however they linked it.
        db.session.add(Vote(user_id=actor.id, post_id=post.id, value=1))
        post.score = 1
        db.session.flush()
        return Submission(post, merged=False)
    if existing.author_id != actor.id and existing.is_live:
        discussion.set_vote(actor, existing, up=True)
    return Submission(existing, merged=True)


def _known_title(pid: paper_ids.PaperId) -> bool:
    return bool(db.session.scalar(select(Paper.title).where(Paper.canonical_id == pid.canonical_id)))


def confirm_paper(actor: User, entry: Post, is_paper: bool) -> Paper:
    """Say whether a link is a paper (exported to BibTeX) or a web page: the entry's
    submitter or a moderator may."""
    if entry.kind != PostKind.paper or entry.paper is None or entry.is_tombstone:
        raise DomainError("Only a link on a reading list can be marked as a paper.")
    if not (actor.is_moderator or actor.id == entry.author_id):
        raise PermissionDenied("Only whoever added this link, or a moderator, can say whether it is a paper.")
    discussion.ensure_can_write(actor)
    paper = entry.paper
    if not paper.canonical_id.startswith("url:"):
        raise DomainError("This is a paper already: its identifier says so.")
    paper.confirmed_paper = is_paper
    db.session.flush()
    return paper


def _entry(episode: Episode, paper: Paper) -> Post | None:
    return db.session.scalar(select(Post).where(Post.episode_id == episode.id, Post.paper_id == paper.id))


def _list_order(post: Post) -> tuple:
    """Most votes first; among equals the earliest submission, so adding one never puts it on top."""
    return (-post.score, post.created_at, post.id)


def reading_list(posts: list[Post], viewer: User | None) -> list[Post]:
    """An episode's paper and link entries from the page's posts, in list order."""
    entries = [p for p in posts if p.kind == PostKind.paper and not p.is_tombstone and discussion.visible_to(viewer, p)]
    return sorted(entries, key=_list_order)


def episode_entries(episode: Episode) -> list[Post]:
    query = select(Post).where(Post.episode_id == episode.id, Post.kind == PostKind.paper,
                               Post.status == PostStatus.visible)
    return sorted(db.session.scalars(query), key=_list_order)


@dataclass
class PaperRow:
    paper: Paper
    episode_count: int
    votes: int
    citations: list[Post]  # the paper's entries, each on one episode (with its moment)


PAPER_SORTS = {"episodes": "most episodes", "votes": "most votes", "newest": "newest"}
KINDS = {"papers": "Papers", "links": "Links"}


def _is_link():
    return Paper.canonical_id.like("url:%") & ~Paper.confirmed_paper


def graph(sort: str, page: int, per_page: int = 30, kind: str = "papers"):
    """Every paper (or link) cited on any episode, with the episodes citing it: two queries and a count."""
    episodes_count = func.count(distinct(Post.episode_id)).label("episode_count")
    votes = func.coalesce(func.sum(Post.score), 0).label("votes")
    query = (select(Paper, episodes_count, votes).join(Post, Post.paper_id == Paper.id)
             .where(Post.kind == PostKind.paper, Post.status == PostStatus.visible,
                    _is_link() if kind == "links" else ~_is_link())
             .group_by(Paper.id))
    order = {"episodes": (episodes_count.desc(), votes.desc()), "votes": (votes.desc(), episodes_count.desc()),
             "newest": (Paper.created_at.desc(),)}[sort if sort in PAPER_SORTS else "episodes"]
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    rows = db.session.execute(query.order_by(*order, Paper.id).limit(per_page).offset((page - 1) * per_page)).all()
    citations = _citations([paper.id for paper, _, _ in rows])
    return [PaperRow(paper, count, int(v), citations.get(paper.id, [])) for paper, count, v in rows], total


def _citations(paper_ids_: list[int]) -> dict[int, list[Post]]:
    if not paper_ids_:
        return {}
    query = (select(Post, Episode).join(Episode, Episode.id == Post.episode_id)
             .where(Post.paper_id.in_(paper_ids_), Post.status == PostStatus.visible, Episode.is_published)
             .order_by(Episode.published_at.desc().nulls_last(), Episode.id.desc()))
    found: dict[int, list[Post]] = {}
    for post, episode in db.session.execute(query):
        post.cited_in = episode
        found.setdefault(post.paper_id, []).append(post)
    return found


def get_by_id(paper_id: int) -> Paper | None:
    return db.session.get(Paper, paper_id)


def get_paper(canonical_id: str) -> PaperRow | None:
    paper = db.session.scalar(select(Paper).where(Paper.canonical_id == canonical_id))
    if paper is None:
        return None
    citations = _citations([paper.id]).get(paper.id, [])
    if not citations:
        return None
    return PaperRow(paper, len({c.episode_id for c in citations}), sum(c.score for c in citations), citations)


# ---------------------------------------------------------------- exports

# Characters BibTeX or LaTeX read as syntax. Braces become commands rather than \{ \}:
# BibTeX counts every brace, escaped or not, so a lone one would unbalance the entry.
_BIB_SPECIAL = re.compile(r"[{}%&#_$\\~^]")
_BIB_REPLACEMENTS = {"{": r"\textbraceleft{}", "}": r"\textbraceright{}", "\\": r"\textbackslash{}",
                     "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}


def bib_escape(text: str) -> str:
    return _BIB_SPECIAL.sub(lambda m: _BIB_REPLACEMENTS.get(m[0], "\\" + m[0]), text)


def _needs_protection(word: str) -> bool:
    """Acronyms and inner capitals (GANs, BatchNorm, 3D, AI): bibliography styles that
    lower-case titles must leave these alone. A word that merely starts with a capital may be lower-cased."""
    letters = [c for c in word if c.isalpha()]
    return any(c.isupper() for c in letters[1:]) or (any(c.isdigit() for c in word) and any(c.isupper() for c in letters))


def bib_title(title: str) -> str:
    return " ".join("{" + bib_escape(w) + "}" if _needs_protection(w) else bib_escape(w) for w in title.split())


_KEY_STOPWORDS = frozenset({"a", "an", "the", "on", "of", "in", "for", "to", "and", "with", "at", "by", "from"})


def _ascii_word(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower())


def _family_name(name: str) -> str:
    parts = name.replace(",", " ").split()
    return parts[-1] if parts else ""


def bib_key(paper: Paper) -> str:
    """First author's family name + year + first significant word of the title (vaswani2017attention),
    from what is known; the identifier when nothing is."""
    family = _ascii_word(_family_name(paper.authors[0])) if paper.authors else ""
    words = [_ascii_word(w) for w in paper.title.split()]
    word = next((w for w in words if w and w not in _KEY_STOPWORDS), "")
    key = f"{family}{paper.year or ''}{word}"
    if not family or not word:
        key = re.sub(r"[^a-z0-9]+", "", paper.canonical_id.lower().replace("url:", ""))[:60] + key
    return key


def bibtex_type(paper: Paper) -> str:
    return paper.bibtex_type or paper_sources.bibtex_type_for_venue(paper.venue)


def exported(entries: list[Post]) -> list[Post]:
    """What BibTeX lists: papers, and links someone confirmed are papers."""
    return [post for post in entries if not post.paper.is_link]


def bibtex(episode: Episode, entries: list[Post]) -> str:
    """BibTeX for an episode's reading list, one entry per paper, in list order."""
    out = [f"% Reading list of {episode.label} {episode.title} (GI Community)".replace("  ", " "), ""]
    used: set[str] = set()
    for post in exported(entries):
        paper = post.paper
        kind = bibtex_type(paper)
        fields = []
        if paper.authors:
            fields.append(("author", " and ".join(bib_escape(name) for name in paper.authors)))
        if paper.title:
            fields.append(("title", bib_title(paper.title)))
        if paper.venue:
            fields.append(({"article": "journal", "inproceedings": "booktitle"}.get(kind, "howpublished"),
                           bib_escape(paper.venue)))
        if paper.year:
            fields.append(("year", str(paper.year)))
        if paper.arxiv_id:
            fields += [("eprint", paper.arxiv_id), ("archivePrefix", "arXiv")]
            if paper.arxiv_category:
                fields.append(("primaryClass", bib_escape(paper.arxiv_category)))
        if paper.doi:
            fields.append(("doi", paper.doi.replace("{", "%7B").replace("}", "%7D")))
        fields.append(("url", paper.url.replace("%", r"\%")))
        if post.moment_seconds is not None:
            fields.append(("note", f"Discussed at {_clock(post.moment_seconds)} in the episode"))
        key = base = bib_key(paper)
        for suffix in "abcdefghijklmnopqrstuvwxyz":
            if key not in used:
                break
            key = base + suffix
        else:
            key = f"{base}{post.id}"
        used.add(key)
        body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields)
        out.append(f"@{kind}{{{key},\n{body}\n}}\n")
    return "\n".join(out)


def _md_text(text: str) -> str:
    return re.sub(r"([\\`*_\[\]<>])", r"\\\1", text)


def _md_line(post: Post) -> str:
    paper = post.paper
    moment = f" (at {_clock(post.moment_seconds)})" if post.moment_seconds is not None else ""
    cite = ""
    if paper.authors:
        shown = paper.authors if len(paper.authors) <= 5 else [*paper.authors[:3], "et al."]
        cite = ", ".join(shown) + (f" ({paper.year})" if paper.year else "")
        cite += " " if cite.endswith(".") else ". "
    elif paper.year:
        cite = f"({paper.year}) "
    venue = f" *{_md_text(paper.venue)}*." if paper.venue else ""
    return (f"- {_md_text(cite)}[{_md_text(paper.display_title)}]({paper.url}).{venue} "
            f"`{paper.canonical_id}`{moment}, {post.score} vote{'' if post.score == 1 else 's'}")


def markdown_list(episode: Episode, entries: list[Post], episode_url: str) -> str:
    lines = [f"# Reading list: {episode.label} {episode.title}".replace("  ", " "), "", f"From <{episode_url}>", ""]
    papers = exported(entries)
    links = [post for post in entries if post.paper.is_link]
    lines += [_md_line(post) for post in papers]
    if links:
        lines += ["", "## Links", ""] + [_md_line(post) for post in links]
    return "\n".join(lines) + "\n"


def _clock(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


# ---------------------------------------------------------------- metadata

def store_metadata(paper: Paper, meta: Metadata) -> None:
    """Put what a source (or verified data) says on the paper, field by field: a field the
    source left empty keeps what the paper had. Flushes."""
    paper.title = meta.title[:TITLE_MAX] or paper.title
    if meta.authors:
        paper.authors = list(meta.authors)
    if meta.year:
        paper.year = meta.year
    if meta.venue:
        paper.venue = meta.venue[:300]
    if meta.abstract:
        paper.abstract = meta.abstract[:ABSTRACT_MAX]
    if meta.doi:
        paper.doi = meta.doi[:300]
    if meta.bibtex_type:
        paper.bibtex_type = meta.bibtex_type
    if meta.arxiv_category:
        paper.arxiv_category = meta.arxiv_category[:40]
    paper.metadata_status = MetadataStatus.fetched
    paper.metadata_checked_at = utcnow()
    paper.metadata_attempts, paper.metadata_error = 0, None
    # Entries carry the title too, so that search finds papers by it.
    for entry in db.session.scalars(select(Post).where(Post.paper_id == paper.id)):
        entry.title = paper.title or None
    db.session.flush()


def record_known(link: str, meta: Metadata) -> Paper:
    """A paper described by verified data (the demo's), so nothing is fetched for it. Flushes."""
    paper = _paper_for(identify(link), meta.title[:TITLE_MAX])
    store_metadata(paper, meta)
    return paper


def _record_failure(paper: Paper, reason: str) -> None:
    # A paper fetched before keeps its details (and its status): only the attempt is noted.
    if paper.metadata_status != MetadataStatus.fetched:
        paper.metadata_status = MetadataStatus.failed
    paper.metadata_checked_at = utcnow()
    paper.metadata_attempts += 1
    paper.metadata_error = reason[:300]
    db.session.flush()


def _fresh(paper: Paper) -> bool:
    ttl = timedelta(seconds=current_app.config["PAPER_METADATA_TTL"])
    return (paper.metadata_status == MetadataStatus.fetched and paper.metadata_checked_at is not None
            and utcnow() - paper.metadata_checked_at < ttl)


def retry_delay(attempts: int) -> timedelta:
    """How long after its last failure a paper is tried again: doubling, at most a week."""
    base = current_app.config["PAPER_METADATA_RETRY_AFTER"]
    return timedelta(seconds=min(base * 2 ** max(attempts - 1, 0), 7 * 24 * 3600))


def due(paper: Paper) -> bool:
    """Whether asking the source for this paper now would be useful and polite."""
    if paper_sources.source_for(paper.canonical_id) is None:
        return False
    if paper.metadata_status == MetadataStatus.pending or paper.metadata_checked_at is None:
        return True
    if paper.metadata_status == MetadataStatus.fetched:
        return not _fresh(paper)
    return utcnow() - paper.metadata_checked_at >= retry_delay(paper.metadata_attempts)


def due_papers(limit: int = 100) -> list[int]:
    """Papers waiting for their details, or whose failed fetch may be tried again."""
    query = (select(Paper).where(or_(Paper.metadata_status == MetadataStatus.pending,
                                     Paper.metadata_status == MetadataStatus.failed))
             .order_by(Paper.metadata_checked_at.asc().nulls_first(), Paper.id))
    return [paper.id for paper in db.session.scalars(query) if due(paper)][:limit]


def _turn_in(source: str) -> float:
    """Seconds until this source may be asked again (0: the turn is taken now). The turns
    live in the rate-limit storage (Redis, or the database), shared by every process."""
    interval = current_app.config["PAPER_METADATA_INTERVALS"].get(source, 0)
    if interval <= 0:
        return 0.0
    key = f"paper-metadata/{source}"
    storage = limiter.storage
    if storage.incr(key, int(interval)) == 1:
        return 0.0
    return max(storage.get_expiry(key) - time.time(), 0.05)


def enrich(paper_id: int) -> str:
    """Fetch one paper's details from its source and store them: one job's work, so it
    commits its own transactions (none is held open while the source answers).

    Returns what happened: "fetched", "failed" (recorded; tried again later), "cached"
    (fetched within PAPER_METADATA_TTL), "deferred" (the source's turn is further away than
    PAPER_METADATA_MAX_WAIT; still pending), "skipped" (no source for it) or "missing"."""
    config = current_app.config
    paper = db.session.get(Paper, paper_id)
    if paper is None:
        return "missing"
    source = paper_sources.source_for(paper.canonical_id)
    if source is None:
        return "skipped"
    if _fresh(paper):
        return "cached"
    identifier = paper.canonical_id[len(source.prefix):]
    db.session.commit()
    deadline = time.monotonic() + config["PAPER_METADATA_MAX_WAIT"]
    while (wait := _turn_in(source.name)) > 0:
        if time.monotonic() + wait > deadline:
            return "deferred"
        time.sleep(wait)
    try:
        meta = source.fetch(identifier, config)
    except paper_sources.SourceError as error:
        log.info("paper metadata: %s failed for %s: %s", source.name, identifier, error)
        _record_failure(db.session.get(Paper, paper_id), f"{source.name}: {error}")
        db.session.commit()
        return "failed"
    store_metadata(db.session.get(Paper, paper_id), meta)
    db.session.commit()
    return "fetched"


# The one place that decides how a paper's details are asked for: today a thread started
# once the submission commits; a job queue takes its place here (enqueued in the same
# transaction, so a job exists iff the submission committed).
def request_metadata(paper: Paper) -> None:
    """A job in the submission's own transaction: it exists only if the submission
    committed, and runs on the worker (never holding up the request)."""
    if current_app.config.get("PAPER_METADATA_LOOKUP") and due(paper):
        jobs.enqueue("papers.enrich", unique_key=f"papers.enrich:{paper.id}", paper_id=paper.id)


@jobs.handler("papers.enrich", max_attempts=8)
def enrich_job(paper_id: int) -> str:
    """The queue's retries (with backoff) cover a source whose turn is not yet due; a failed
    fetch is recorded on the paper, which `flask papers fetch-metadata` tries again later."""
    outcome = enrich(paper_id)
    if outcome == "deferred":
        raise RuntimeError("the source's turn is later than PAPER_METADATA_MAX_WAIT: tried again")
    return outcome
