"""Reading episodes and their people (written by services/feeds.py from a podcast feed, and by the demo data)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources

from sqlalchemy import bindparam, delete, select
from sqlalchemy.orm import joinedload, selectinload

from community import markup
from community.extensions import db
from community.models import Appearance, AppearanceRole, Episode, Follow, NotificationKind, Person, Post, PostStatus, User
from community.names import person_key, slugify
from community.services import DomainError, admin_log, discussion, moments, notifications, papers, questions

# Number and date decide the order (there is no manual reordering).
NEWEST_FIRST = (Episode.published_at.desc().nulls_last(), Episode.number.desc().nulls_last(), Episode.id.desc())
# Every public list, page, feed and API answer starts from published episodes only.
PUBLISHED = Episode.is_published.is_(True)


def list_page(page: int, per_page: int, include_unpublished: bool = False):
    """One page of episodes, newest first, with their people (two queries + count)."""
    query = select(Episode).options(selectinload(Episode.appearances)).order_by(*NEWEST_FIRST)
    if not include_unpublished:
        query = query.where(PUBLISHED)
    return db.paginate(query, page=page, per_page=per_page, error_out=False)


def latest(limit: int) -> list[Episode]:
    query = select(Episode).where(PUBLISHED).options(selectinload(Episode.appearances)).order_by(*NEWEST_FIRST).limit(limit)
    return list(db.session.scalars(query))


def get_by_slug(slug: str, include_unpublished: bool = False) -> Episode | None:
    """With its appearances and people, in one query: every episode page starts here.
    An unpublished episode is there only for the show's team (`include_unpublished`)."""
    return db.session.scalars(_by_slug(include_unpublished), {"slug": slug}).unique().first()


@cache
def _by_slug(include_unpublished: bool):
    """Built once: every episode page asks it."""
    query = select(Episode).where(Episode.slug == bindparam("slug")).options(joinedload(Episode.appearances))
    return query if include_unpublished else query.where(PUBLISHED)


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


def slug_of(episode_id: int) -> str | None:
    """An episode's address, without loading it (a redirect after a vote names it)."""
    return db.session.scalar(_SLUG_OF, {"episode_id": episode_id})


_SLUG_OF = select(Episode.slug).where(Episode.id == bindparam("episode_id"))


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


def set_people(episode: Episode, guests: list[Person], hosts: list[Person], cohosts: list[Person] = ()) -> None:
    """Who was on the episode, in order; followers of a newly added guest are told. A person
    has one role per episode (an appearance changes role in place)."""
    wanted = ([(p, AppearanceRole.guest) for p in guests] + [(p, AppearanceRole.host) for p in hosts]
              + [(p, AppearanceRole.cohost) for p in cohosts])
    twice = {p.name for p, _ in wanted if sum(q.id == p.id for q, _ in wanted) > 1}
    if twice:
        raise DomainError(f"{', '.join(sorted(twice))}: listed twice. Each person has one role on an episode.")
    before = {(a.person_id, a.role) for a in episode.appearances}
    current = {a.person_id: a for a in episode.appearances}
    keep = []
    for position, (who, role) in enumerate(wanted):
        appearance = current.pop(who.id, None) or Appearance(person=who)
        appearance.role, appearance.position = role, position
        keep.append(appearance)
    episode.appearances = keep
    refresh_search_text(episode)
    new_guests = [p for p in guests if (p.id, AppearanceRole.guest) not in before]
    if new_guests and episode.is_published is not False:  # an unpublished one tells them when published
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
    query = (select(Episode).join(Appearance, Appearance.episode_id == Episode.id)
             .where(Appearance.person_id == person.id, PUBLISHED)
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


def episode_content(episode: Episode, viewer: User | None, sort: str, posts: list[Post] | None = None) -> EpisodeContent:
    """One query for every post of the episode (plus one when questions link other episodes).
    `posts`: the episode's posts, when the caller has them (pages/posts.py keeps a copy)."""
    sort = sort if sort in discussion.SORTS else "best"
    posts = discussion.episode_posts(episode) if posts is None else posts
    moments.load_for(posts, episode)  # the chips of posts anchored to the transcript
    asked = questions.for_episode(posts, viewer)
    answer_ids = {q.answer_id for q in asked}
    return EpisodeContent(
        thread=discussion.episode_thread(posts, viewer, sort), sort=sort,
        guest_user_ids=episode.guest_user_ids,
        papers=papers.reading_list(posts, viewer), questions=asked,
        answers={p.id: p for p in posts if p.id in answer_ids},
        linked=linked_episodes(asked),
        unpublished_authors={p.author_id for p in posts if p.status in (PostStatus.hidden, PostStatus.pending)},
    )


def linked_episodes(posts: list[Post]) -> dict[int, Episode]:
    """Episodes that posts point to (answered on air, recorded for): one query, only when any do."""
    ids = {p.linked_episode_id for p in posts if p.linked_episode_id}
    if not ids:
        return {}
    return {e.id: e for e in db.session.scalars(select(Episode).where(Episode.id.in_(ids)))}


# ---------------------------------------------------------------- the console's operations

EDITABLE = ("title", "number", "published_at", "summary", "show_notes_source", "audio_url", "duration_seconds",
            "image_url", "listen_links")


def _snapshot(episode: Episode) -> dict:
    values = {key: getattr(episode, key) for key in EDITABLE}
    values["published_at"] = episode.published_at.isoformat() if episode.published_at else None
    return values


def admin_list(page: int, per_page: int = 50):
    """Every episode, published or not, in the public order."""
    return list_page(page, per_page, include_unpublished=True)


def save(actor: User | None, episode: Episode | None, **values) -> Episode:
    """Create (episode None) or edit an episode from the console; one admin-log row with
    what changed. Show notes written here are Markdown, rendered by markup like every
    user text ("12:34" moments become links that seek the player); notes imported from
    the feed stay as they are until someone writes new ones here."""
    admin_log.require_team(actor)
    unknown = set(values) - set(EDITABLE)
    if unknown:
        raise DomainError(f"Not an episode field: {', '.join(sorted(unknown))}.")
    values["title"] = " ".join((values.get("title") or "").split())[:500]
    if not values["title"]:
        raise DomainError("Every episode needs a title.")
    number = values.get("number")
    if number is not None:
        clash = db.session.scalar(select(Episode).where(Episode.number == number,
                                                        Episode.id != (episode.id if episode else None)))
        if clash is not None:
            raise DomainError(f"Episode number {number} is already “{clash.title}”.")
    creating = episode is None
    before = {} if creating else _snapshot(episode)
    if creating:
        # Unpublished until someone presses Publish: a half-written episode is seen by the team only.
        episode = Episode(slug=_unique_slug(episode_slug(number, values["title"])), appearances=[], listen_links=[],
                          is_published=False)
        db.session.add(episode)
    written_here = episode.show_notes_source is not None
    for key, value in values.items():
        setattr(episode, key, value)
    if "show_notes_source" in values:
        source = (values["show_notes_source"] or "").strip()
        if source:
            episode.show_notes_source, episode.show_notes_html = source, markup.render_show_notes(source)
        else:  # cleared: notes written here go; notes from the feed stay
            episode.show_notes_source = None
            episode.show_notes_html = "" if written_here else (episode.show_notes_html or "")
    refresh_search_text(episode)
    db.session.flush()
    old, new = admin_log.changes(before, _snapshot(episode))
    admin_log.record(actor, "episode.create" if creating else "episode.edit", target_type="episode",
                     target_id=episode.id, summary=f"{'Created' if creating else 'Edited'} {episode.label} {episode.title}"
                     .replace("  ", " "), before=old or None, after=new)
    return episode


def set_published(actor: User | None, episode: Episode, published: bool) -> bool:
    """False when it already was (nothing written)."""
    admin_log.require_team(actor)
    if episode.is_published == published:
        return False
    episode.is_published = published
    db.session.flush()
    if published and episode.guests:
        tell_followers(episode, episode.guests)  # once per episode: notify() keys on the episode
    admin_log.record(actor, "episode.publish" if published else "episode.unpublish", target_type="episode",
                     target_id=episode.id, summary=f"{'Published' if published else 'Unpublished'} {episode.label} "
                     f"{episode.title}".replace("  ", " "), before={"is_published": not published},
                     after={"is_published": published})
    return True


def _people_names(episode: Episode) -> dict[str, list[str]]:
    return {role.value: [a.person.name for a in episode.appearances if a.role == role] for role in AppearanceRole}


def find_people(names: list[str], create_missing: bool = False) -> list[Person]:
    """People by name (folded: case, accents and look-alikes do not matter), in order."""
    names = [" ".join(n.split()) for n in names if n and n.strip()]
    found = {p.name_key: p for p in db.session.scalars(select(Person).where(
        Person.name_key.in_([person_key(n) for n in names])))}
    missing = [n for n in names if person_key(n) not in found]
    if missing and not create_missing:
        raise DomainError(f"No person named {', '.join(missing)} yet: add them under People first.")
    return [found.get(person_key(n)) or person(n) for n in names]


def set_appearances(actor: User | None, episode: Episode, guests: list[str], hosts: list[str],
                    cohosts: list[str] = (), create_missing: bool = False) -> bool:
    """The console's and `flask episodes set-guests`' way to set who was on an episode, by
    name and in order; one admin-log row. False when nothing changed."""
    admin_log.require_team(actor)
    people = [find_people(list(names), create_missing) for names in (guests, hosts, cohosts)]
    before = _people_names(episode)
    set_people(episode, *people)
    db.session.flush()
    after = _people_names(episode)
    if before == after:
        return False
    admin_log.record(actor, "episode.people", target_type="episode", target_id=episode.id,
                     summary=f"Set who was on {episode.label} {episode.title}".replace("  ", " "),
                     before=before, after=after)
    return True
