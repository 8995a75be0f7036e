"""Paper links: recognise, de-duplicate per episode, gather across episodes, export."""

from __future__ import annotations

import re
import threading
import urllib.request
import defusedxml.ElementTree as SafeET
from dataclasses import dataclass

from flask import current_app
from sqlalchemy import distinct, func, select, update

from community import markup, paper_ids
from community.extensions import db
from community.models.base import utcnow
from community.models import Episode, Paper, Post, PostKind, PostStatus, User, Vote
from community.services import DomainError, dialect_insert, discussion

TITLE_MAX = 300


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


def _paper_for(pid: paper_ids.PaperId, title: str) -> Paper:
    """The one Paper row for a canonical id; a concurrent insert of the same id is tolerated."""
    paper = db.session.scalar(select(Paper).where(Paper.canonical_id == pid.canonical_id))
    if paper is not None:
        return paper
    db.session.execute(dialect_insert(Paper).values(
        canonical_id=pid.canonical_id, url=pid.url, source=pid.source, title=title, authors="", created_at=utcnow()
    ).on_conflict_do_nothing(index_elements=["canonical_id"]))
    return db.session.scalar(select(Paper).where(Paper.canonical_id == pid.canonical_id))


def submit(actor: User, episode: Episode, *, link: str, title: str, moment: str | None = None,
           note: str = "") -> Submission:
    """Add a paper to an episode's reading list, or count the actor's vote on the entry
    that is already there (whatever link form it was submitted as)."""
    discussion.ensure_can_write(actor)
    title = " ".join((title or "").split())
    if not title:
        raise DomainError("Give the paper's title.")
    if len(title) > TITLE_MAX:
        raise DomainError(f"Keep the title under {TITLE_MAX} characters.")
    try:
        pid = paper_ids.identify(link)
    except paper_ids.PaperIdError as error:
        raise DomainError(str(error)) from None
    seconds = parse_moment(moment)
    paper = _paper_for(pid, title)
    existing = _entry(episode, paper)
    if existing is None:
        # Two people adding the same paper in the same instant: the unique (episode, paper)
        # index refuses the second, whose request is retried by the view and then merges.
        post = discussion.create_post(actor, episode=episode, body=note or "", kind=PostKind.paper,
                                      paper_id=paper.id, moment_seconds=seconds, title=paper.title)
        # Unlike a comment, an entry starts with its submitter's vote: the score of a
        # paper is how many people want it on the list, however they linked it.
        db.session.add(Vote(user_id=actor.id, post_id=post.id, value=1))
        post.score = 1
        db.session.flush()
        return Submission(post, merged=False)
    if existing.author_id != actor.id and existing.is_live:
        discussion.set_vote(actor, existing, up=True)
    return Submission(existing, merged=True)


def _entry(episode: Episode, paper: Paper) -> Post | None:
    return db.session.scalar(select(Post).where(Post.episode_id == episode.id, Post.paper_id == paper.id))


def reading_list(posts: list[Post], viewer: User | None) -> list[Post]:
    """An episode's paper entries from the page's posts: by votes, then newest."""
    entries = [p for p in posts if p.kind == PostKind.paper and not p.is_tombstone and discussion.visible_to(viewer, p)]
    return sorted(entries, key=lambda p: (-p.score, -p.created_at.timestamp(), -p.id))


def episode_entries(episode: Episode) -> list[Post]:
    query = select(Post).where(Post.episode_id == episode.id, Post.kind == PostKind.paper,
                               Post.status == PostStatus.visible)
    return sorted(db.session.scalars(query), key=lambda p: (-p.score, -p.created_at.timestamp(), -p.id))


@dataclass
class PaperRow:
    paper: Paper
    episode_count: int
    votes: int
    citations: list[Post]  # the paper's entries, each on one episode (with its moment)


PAPER_SORTS = {"episodes": "most episodes", "votes": "most votes", "newest": "newest"}


def graph(sort: str, page: int, per_page: int = 30):
    """Every paper cited on any episode, with the episodes citing it: two queries and a count."""
    episodes_count = func.count(distinct(Post.episode_id)).label("episode_count")
    votes = func.coalesce(func.sum(Post.score), 0).label("votes")
    query = (select(Paper, episodes_count, votes).join(Post, Post.paper_id == Paper.id)
             .where(Post.kind == PostKind.paper, Post.status == PostStatus.visible).group_by(Paper.id))
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


def get_paper(canonical_id: str) -> PaperRow | None:
    paper = db.session.scalar(select(Paper).where(Paper.canonical_id == canonical_id))
    if paper is None:
        return None
    citations = _citations([paper.id]).get(paper.id, [])
    if not citations:
        return None
    return PaperRow(paper, len({c.episode_id for c in citations}), sum(c.score for c in citations), citations)


# ---------------------------------------------------------------- exports

_BIB_SPECIAL = re.compile(r"([{}%&#_$\\])")


def _bib_escape(text: str) -> str:
    return _BIB_SPECIAL.sub(lambda m: "\\" + m.group(1) if m.group(1) != "\\" else r"\textbackslash{}", text)


def bib_key(paper: Paper) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", paper.canonical_id).strip("_")[:80]


def bibtex(episode: Episode, entries: list[Post]) -> str:
    """BibTeX for an episode's reading list: arXiv as @misc with eprint, DOIs with doi."""
    out = [f"% Reading list of {episode.label} {episode.title} (GI Community)".replace("  ", " "), ""]
    for post in entries:
        paper = post.paper
        fields = [("title", "{" + _bib_escape(paper.title) + "}")]
        if paper.authors:
            fields.append(("author", _bib_escape(paper.authors)))
        if paper.year:
            fields.append(("year", str(paper.year)))
        if paper.arxiv_id:
            fields += [("eprint", paper.arxiv_id), ("archivePrefix", "arXiv")]
        if paper.doi:
            fields.append(("doi", _bib_escape(paper.doi)))
        fields.append(("url", paper.url.replace("%", r"\%")))
        if post.moment_seconds is not None:
            fields.append(("note", f"Discussed at {_clock(post.moment_seconds)} in the episode"))
        body = ",\n".join(f"  {name} = {{{value}}}" for name, value in fields)
        out.append(f"@misc{{{bib_key(paper)},\n{body}\n}}\n")
    return "\n".join(out)


def markdown_list(episode: Episode, entries: list[Post], episode_url: str) -> str:
    lines = [f"# Reading list: {episode.label} {episode.title}".replace("  ", " "), "", f"From <{episode_url}>", ""]
    for post in entries:
        paper = post.paper
        moment = f" (at {_clock(post.moment_seconds)})" if post.moment_seconds is not None else ""
        title = paper.title.replace("[", r"\[").replace("]", r"\]")
        lines.append(f"- [{title}]({paper.url}) `{paper.canonical_id}`{moment}, {post.score} votes")
    return "\n".join(lines) + "\n"


def _clock(seconds: int) -> str:
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


# ---------------------------------------------------------------- metadata (optional)

ATOM = "{http://www.w3.org/2005/Atom}"


def fetch_arxiv_metadata(arxiv_id: str, base_url: str, timeout: float) -> dict | None:
    """Title, authors and year from the arXiv export API; None on any failure."""
    url = f"{base_url.rstrip('/')}/api/query?id_list={arxiv_id}"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # nosec B310
            root = SafeET.fromstring(response.read(1_000_000))
    except Exception:  # network, timeout, bad XML: metadata is a nicety, never an error
        return None
    entry = root.find(f"{ATOM}entry")
    if entry is None or entry.findtext(f"{ATOM}title") is None:
        return None
    published = entry.findtext(f"{ATOM}published") or ""
    return {
        "title": " ".join(entry.findtext(f"{ATOM}title").split()),
        "authors": " and ".join(" ".join((a.findtext(f"{ATOM}name") or "").split()) for a in entry.findall(f"{ATOM}author")),
        "year": int(published[:4]) if published[:4].isdigit() else None,
    }


def enrich(paper_id: int) -> bool:
    """Fill a paper's title/authors/year from arXiv (inside an app context). True when updated."""
    config = current_app.config
    paper = db.session.get(Paper, paper_id)
    if paper is None or paper.arxiv_id is None:
        return False
    meta = fetch_arxiv_metadata(paper.arxiv_id, config["ARXIV_API_URL"], config["PAPER_METADATA_TIMEOUT"])
    if not meta:
        return False
    paper.title = meta["title"][:TITLE_MAX]
    paper.authors = meta["authors"]
    paper.year = meta["year"]
    # Entries carry the title too, so that search finds papers by it.
    db.session.execute(update(Post).where(Post.paper_id == paper.id).values(title=paper.title))
    db.session.commit()
    return True


def enrich_in_background(paper_id: int) -> None:
    """After the submission is committed: the lookup never holds up the request."""
    if not current_app.config.get("PAPER_METADATA_LOOKUP"):
        return
    app = current_app._get_current_object()

    def work():
        with app.app_context():
            enrich(paper_id)

    threading.Thread(target=work, daemon=True, name=f"arxiv-metadata-{paper_id}").start()
