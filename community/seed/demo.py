"""`flask demo`: the real episode list shipped in the package, plus a small sample community."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from importlib import resources

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from community import identity, markup
from community.extensions import db
from community.models import Episode, Person, Post, PostKind, Role
from community.models.base import utcnow
from community.names import person_key
from community.services import accounts, discussion, episodes, guests, papers, questions
from community.services.paper_sources import Metadata

# Sample accounts are for trying the site locally; `flask demo` prints this.
DEMO_PASSWORD = "generally-intelligent-demo"


def package_data() -> dict:
    text = resources.files("community").joinpath("data/episodes.json").read_text("utf-8")
    return json.loads(text)


def paper_data() -> list[dict]:
    """The papers each episode links, with verified metadata (data/gi-papers.SOURCES.md)."""
    return json.loads(resources.files("community").joinpath("data/gi-papers.json").read_text("utf-8"))


def load() -> dict[str, int]:
    """Idempotent: running it again adds nothing. Returns new rows per kind."""
    data = package_data()
    known_papers = paper_data()
    counts = {"episodes": _load_episodes(data, known_papers)}
    counts.update(_load_sample(data["sample"]))
    counts["papers"] = _load_papers(data, known_papers)
    counts.update(_load_questions_and_suggestions(data))
    return counts


def _load_episodes(data: dict, known_papers: list[dict]) -> int:
    """The real Generally Intelligent episodes from the package's data file; idempotent."""
    hosts_info = {h["name"]: h for h in data["show"]["hosts"]}
    count = 0
    for record in data["episodes"]:
        episode = db.session.scalar(
            select(Episode).where(Episode.slug == record["slug"]).options(selectinload(Episode.appearances)))
        if episode is None:
            episode = Episode(slug=record["slug"], appearances=[])
            db.session.add(episode)
            count += 1
        episode.number = record["number"]
        episode.title = record["title"]
        episode.published_at = datetime.fromisoformat(record["published_at"] + "T12:00:00+00:00")
        episode.summary = record["summary"]
        episode.show_notes_html = markup.render(
            _show_notes(record, [p for p in known_papers if p["episode"] == record["number"]]))
        episode.source_link = record.get("source_link")
        episode.feed_identity = f"demo:{record['slug']}"
        guests = [episodes.person(g["name"], g.get("affiliation", ""), g.get("links")) for g in record["guests"]]
        hosts = [episodes.person(name, hosts_info.get(name, {}).get("affiliation", "")) for name in record["hosts"]]
        db.session.flush()
        episodes.set_people(episode, guests, hosts)
    db.session.flush()
    return count


def _show_notes(record: dict, papers_linked: list[dict]) -> str:
    """Markdown show notes for a demo episode: summary, then its links."""
    lines = [record["summary"], ""]
    if papers_linked:
        lines += ["**Papers discussed**", ""] + [f"- [{p['title']}]({p['url']})" for p in papers_linked] + [""]
    if record.get("links"):
        lines += ["**Links**", ""] + [f"- <{url}>" for url in record["links"]]
    return "\n".join(lines)


def _load_questions_and_suggestions(data: dict) -> dict[str, int]:
    """Sample questions (one answered by the linked guest) and guest suggestions; once."""
    counts = {"questions": 0, "suggestions": 0}
    sample = data["sample"]
    if db.session.scalar(select(Post.id).where(Post.kind == PostKind.question).limit(1)) is not None:
        return counts
    by_number = {e.number: e for e in db.session.scalars(select(Episode).where(Episode.feed_identity.like("demo:%")))}
    users = {r["username"]: accounts.find_by_username(r["username"]) for r in sample["users"]}
    for record in sample.get("questions", []):
        question = questions.ask(users[record["author"]], by_number[record["episode"]], record["body"])
        counts["questions"] += 1
        for voter in list(users.values())[:3]:
            if voter.id != question.author_id and voter.role.value != "guest":
                discussion.set_vote(voter, question, up=True)
        if record.get("answer"):
            questions.answer(users[record["answer"]["by"]], question, record["answer"]["body"])
    for record in sample.get("suggestions", []):
        result = guests.suggest(users[record["author"]], name=record["nominee"], affiliation=record.get("affiliation", ""),
                                links=record.get("links", []), why=record["why"], papers=record.get("papers", []),
                                disclosure=record.get("disclosure", "neither"))
        if result.post is not None:
            counts["suggestions"] += 1
            for voter in list(users.values())[1:4]:
                if voter.id != result.post.author_id:
                    discussion.set_vote(voter, result.post, up=True)
    return counts


def _paper_link(record: dict) -> str:
    """The identifier of the paper a record describes: its canonical id, with the kind as
    prefix where the data leaves it out ("2002.08909" is "arxiv:2002.08909")."""
    canonical = record["canonical_id"]
    return canonical if ":" in canonical.split("/")[0] else f"{record['kind']}:{canonical}"


def _known_metadata(record: dict) -> Metadata:
    """Exactly the verified fields; a null one stays empty."""
    return Metadata(title=record["title"], authors=list(record["authors"]), year=record["year"],
                    venue=record["venue"] or "", bibtex_type=record["bibtex_type"])


def _load_papers(data: dict, known_papers: list[dict]) -> int:
    """The real papers each episode links, with their verified details, submitted by the
    sample researchers. The same submitter each time, so a second run merges into its own
    entry: no change. Where the show notes link a blog post or project page, the entry is
    the paper it presents and its note gives the page."""
    researchers = [u for u in (accounts.find_by_username(r["username"]) for r in data["sample"]["users"]
                               if r["role"] in ("researcher", "moderator")) if u is not None]
    by_number = {e.number: e for e in db.session.scalars(select(Episode).where(Episode.feed_identity.like("demo:%")))}
    created = 0
    position: dict[int, int] = {}
    for record in known_papers:
        i = position[record["episode"]] = position.get(record["episode"], -1) + 1
        link = _paper_link(record)
        paper = papers.record_known(link, _known_metadata(record))
        note = "" if papers.identify(record["url"]).canonical_id == paper.canonical_id else \
            f"Linked in the show notes as <{record['url']}>."
        submitter = researchers[(record["episode"] + i) % len(researchers)]
        result = papers.submit(submitter, by_number[record["episode"]], link=link, note=note)
        created += not result.merged
    for record in data["sample"].get("papers", []):
        result = papers.submit(accounts.find_by_username(record["author"]), by_number[record["episode"]],
                               link=record["url"], title=record["title"], note=record.get("note", ""))
        created += not result.merged
    return created


def _load_sample(sample: dict) -> dict[str, int]:
    counts = {"users": 0, "comments": 0}
    if accounts.find_by_username(sample["users"][0]["username"]) is not None:
        return counts  # loaded before: the sample is written in one transaction, all or nothing
    users = {}
    for record in sample["users"]:
        user = accounts.register(record["username"], f"{record['username']}@demo.invalid", DEMO_PASSWORD,
                                 role=Role(record["role"]), confirmed=True)
        user.display_name = identity.clean_display_name(record.get("display_name", ""))
        user.display_name_skeleton = identity.name_key(user.display_name) if user.display_name else ""
        user.affiliation = record.get("affiliation", "")
        user.created_at = utcnow() - timedelta(days=60)
        users[record["username"]] = user
        counts["users"] += 1
        if record.get("person"):
            person = db.session.scalar(select(Person).where(Person.name_key == person_key(record["person"])))
            if person is not None:
                person.user_id = user.id
    by_number = {e.number: e for e in db.session.scalars(select(Episode).where(Episode.feed_identity.like("demo:%")))}
    posts = {}
    comments = sample["comments"]
    for index, record in enumerate(comments):
        parent = posts.get(record.get("parent"))
        post = discussion.create_post(users[record["author"]], episode=by_number.get(record["episode"]),
                                      body=record["body"], parent=parent)
        post.created_at = utcnow() - timedelta(hours=3 * (len(comments) - index))
        posts[record["key"]] = post
        counts["comments"] += 1
    _sample_votes(list(users.values()), list(posts.values()))
    db.session.flush()
    return counts


def _sample_votes(users, posts) -> None:
    """A believable spread of upvotes: earlier comments have had longer to collect them."""
    for i, post in enumerate(posts):
        for j, user in enumerate(users):
            if user.id != post.author_id and (i * 7 + j * 3) % 5 < 2:
                discussion.set_vote(user, post, up=True)
