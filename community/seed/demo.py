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

# Sample accounts are for trying the site locally; `flask demo` prints this.
DEMO_PASSWORD = "generally-intelligent-demo"


def package_data() -> dict:
    text = resources.files("community").joinpath("data/episodes.json").read_text("utf-8")
    return json.loads(text)


def load() -> dict[str, int]:
    """Idempotent: running it again adds nothing. Returns new rows per kind."""
    data = package_data()
    counts = {"episodes": _load_episodes(data)}
    counts.update(_load_sample(data["sample"]))
    counts["papers"] = _load_papers(data)
    counts.update(_load_questions_and_suggestions(data))
    return counts


def _load_episodes(data: dict) -> int:
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
        episode.show_notes_html = markup.render(_show_notes(record))
        episode.source_link = record.get("source_link")
        episode.feed_identity = f"demo:{record['slug']}"
        guests = [episodes.person(g["name"], g.get("affiliation", ""), g.get("links")) for g in record["guests"]]
        hosts = [episodes.person(name, hosts_info.get(name, {}).get("affiliation", "")) for name in record["hosts"]]
        db.session.flush()
        episodes.set_people(episode, guests, hosts)
    db.session.flush()
    return count


def _show_notes(record: dict) -> str:
    """Markdown show notes for a demo episode: summary, then its links."""
    lines = [record["summary"], ""]
    if record.get("papers"):
        lines += ["**Papers discussed**", ""] + [f"- [{p['title']}]({p['url']})" for p in record["papers"]] + [""]
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


def _load_papers(data: dict) -> int:
    """The real paper links of each episode, submitted by the sample researchers.
    The same submitter each time, so a second run merges into its own entry: no change."""
    researchers = [u for u in (accounts.find_by_username(r["username"]) for r in data["sample"]["users"]
                               if r["role"] in ("researcher", "moderator")) if u is not None]
    by_slug = {e.slug: e for e in db.session.scalars(select(Episode).where(Episode.feed_identity.like("demo:%")))}
    created = 0
    for record in data["episodes"]:
        for i, paper in enumerate(record.get("papers", [])):
            submitter = researchers[(record["number"] + i) % len(researchers)]
            result = papers.submit(submitter, by_slug[record["slug"]], link=paper["url"], title=paper["title"])
            created += not result.merged
    by_number = {e.number: e for e in by_slug.values()}
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
