"""Reading episodes and their people (written by services/feeds.py from a podcast feed, and by the demo data)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources

from sqlalchemy import delete, select
from sqlalchemy.orm import joinedload, selectinload

from community import markup
from community.extensions import db
from community.models import Appearance, AppearanceRole, Episode, Follow, NotificationKind, Person, Post, PostStatus, User
from community.names import person_key, slugify
from community.services import discussion, notifications, papers, questions

NEWEST_FIRST = (Episode.published_at.desc().nulls_last(), Episode.number.desc().nulls_last(), Episode.id.desc())


def list_page(page: int, per_page: int):
    """One page of episodes, newest first, with their people (two queries + count)."""
    query = select(Episode).options(selectinload(Episode.appearances)).order_by(*NEWEST_FIRST)
    return db.paginate(query, page=page, per_page=per_page, error_out=False)


def latest(limit: int) -> list[Episode]:
    query = select(Episode).options(selectinload(Episode.appearances)).order_by(*NEWEST_FIRST).limit(limit)
    return list(db.session.scalars(query))


def get_by_slug(slug: str) -> Episode | None:
    """With its appearances and people, in one query: every episode page starts here."""
    query = select(Episode).where(Episode.slug == slug).options(joinedload(Episode.appearances))
    return db.session.scalars(query).unique().first()


@cache
def show_listen_links() -> tuple[dict, ...]:
    """Where the show can be followed ("Listen on" on every episode page): facts shipped in
    the package (community/data/show.json; show.SOURCE.md says where they come from)."""
    data = json.loads(resources.files("community").joinpath("data/show.json").read_text("utf-8"))
    return tuple({"label": link["label"], "url": link["url"]} for link in data["listen"])


def get_by_number(number: int) -> Episode | None:
    if number > 2**31 - 1:  # past any column's integer: no such episode (PostgreSQL would refuse the query)
        return None
    return db.session.scalar(select(Episode).where(Episode.number == number, Episode.is_published)
                             .order_by(Episode.id).limit(1))


def get_by_id(episode_id: int) -> Episode | None:
    query = select(Episode).where(Episode.id == episode_id).options(selectinload(Episode.appearances))
    return db.session.scalar(query)


def _unique_slug(base: str, episode_id: int | None = None) -> str:
    slug, n = base, 2
    while True:
        owner = db.session.scalar(select(Episode.id).where(Episode.slug == slug))
        if owner is None or owner == episode_id:
            return slug
        slug, n = f"{base}-{n}", n + 1


def episode_slug(number: int | None, title: str) -> str:
    return slugify(f"{number} {title}" if number is not None and not title.startswith(str(number)) else title)


def person(name: str, affiliation: str = "", links: list[str] | None = None) -> Person:
    """Find by name (case/accent-insensitive) or create; fills in what was missing."""
    found = db.session.scalar(select(Person).where(Person.name_key == person_key(name)))
    if found is None:
        found = Person(name=name.strip(), name_key=person_key(name), affiliation=affiliation, links=links or [])
        db.session.add(found)
        db.session.flush()
    else:
        if affiliation and found.affiliation != affiliation:
            found.affiliation = affiliation
        if links and not found.links:
            found.links = links
    return found


def refresh_search_text(episode: Episode) -> None:
    """What search indexes for an episode: title, summary, people, show notes (plain text)."""
    people = " ".join(f"{a.person.name} {a.person.affiliation}" for a in episode.appearances)
    parts = [episode.title or "", episode.summary or "", people, markup.plain_text(episode.show_notes_html or "")]
    text = " ".join(" ".join(parts).split())
    if episode.search_text != text:
        episode.search_text = text


def set_people(episode: Episode, guests: list[Person], hosts: list[Person]) -> None:
    """Who was on the episode; followers of a newly added guest are told."""
    before = {(a.person_id, a.role) for a in episode.appearances}
    wanted = [(p, AppearanceRole.guest) for p in guests] + [(p, AppearanceRole.host) for p in hosts]
    current = {(a.person_id, a.role): a for a in episode.appearances}
    keep = []
    for position, (who, role) in enumerate(wanted):
        appearance = current.pop((who.id, role), None) or Appearance(person=who, role=role)
        appearance.position = position
        keep.append(appearance)
    episode.appearances = keep
    refresh_search_text(episode)
    new_guests = [p for p in guests if (p.id, AppearanceRole.guest) not in before]
    if new_guests:
        db.session.flush()
        tell_followers(episode, new_guests)


def tell_followers(episode: Episode, guests: list[Person]) -> None:
    for guest in guests:
        followers = db.session.scalars(select(Follow.user_id).where(Follow.person_id == guest.id)).all()
        notifications.notify(followers, NotificationKind.episode, actor=None, event_key=f"episode:{episode.id}",
                             message=f"New episode with {guest.name}: {episode.label} {episode.title}".replace("  ", " "))


def follow(actor: User, person: Person, on: bool) -> None:
    if on:
        if db.session.scalar(select(Follow.id).where(Follow.user_id == actor.id, Follow.person_id == person.id)) is None:
            db.session.add(Follow(user_id=actor.id, person_id=person.id))
    else:
        db.session.execute(delete(Follow).where(Follow.user_id == actor.id, Follow.person_id == person.id))
    db.session.flush()


def is_following(user: User | None, person: Person) -> bool:
    if user is None or not user.is_authenticated:
        return False
    return db.session.scalar(select(Follow.id).where(Follow.user_id == user.id, Follow.person_id == person.id)) is not None


def person_page(person_id: int) -> tuple[Person, list[Episode]] | None:
    person = db.session.get(Person, person_id)
    if person is None:
        return None
    query = (select(Episode).join(Appearance, Appearance.episode_id == Episode.id).where(Appearance.person_id == person.id)
             .options(selectinload(Episode.appearances)).order_by(*NEWEST_FIRST))
    return person, list(db.session.scalars(query))

@dataclass
class EpisodeContent:
    """What an episode page shows alike to every reader of one visibility class."""
    thread: discussion.Thread
    sort: str
    guest_user_ids: set[int]
    papers: list[Post]
    questions: list[Post]
    answers: dict[int, Post]  # the guests' written answers, by id
    linked: dict[int, Episode]  # later episodes where questions were answered on air
    unpublished_authors: set[int]  # who has hidden or pending posts here (their page is their own)


def episode_content(episode: Episode, viewer: User | None, sort: str) -> EpisodeContent:
    """One query for every post of the episode (plus one when questions link other episodes)."""
    sort = sort if sort in discussion.SORTS else "best"
    posts = discussion.episode_posts(episode)
    asked = questions.for_episode(posts, viewer)
    return EpisodeContent(
        thread=discussion.episode_thread(posts, viewer, sort), sort=sort,
        guest_user_ids=episode.guest_user_ids,
        papers=papers.reading_list(posts, viewer), questions=asked,
        answers={p.id: p for p in posts if p.id in {q.answer_id for q in asked}},
        linked=linked_episodes(asked),
        unpublished_authors={p.author_id for p in posts if p.status in (PostStatus.hidden, PostStatus.pending)},
    )


def linked_episodes(posts: list[Post]) -> dict[int, Episode]:
    """Episodes that posts point to (answered on air, recorded for): one query, only when any do."""
    ids = {p.linked_episode_id for p in posts if p.linked_episode_id}
    if not ids:
        return {}
    return {e.id: e for e in db.session.scalars(select(Episode).where(Episode.id.in_(ids)))}
