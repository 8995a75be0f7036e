"""People on the show, as the console and `flask people ...` manage them: create and edit
(never a second record of someone already there), merge two records of one human, and
link a person to the account they use here (their Guest badge and answers come from it).
Every change writes one admin-log row."""

from __future__ import annotations

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import selectinload

from community import identity
from community.extensions import db
from community.models import Appearance, Episode, Follow, Person, User
from community.names import person_key
from community.services import DomainError, NotFound, admin_log, episodes


def get(person_id: int) -> Person:
    found = db.session.get(Person, person_id)
    if found is None:
        raise NotFound(f"There is no person with the number {person_id}.")
    return found


def of_user(user: User) -> Person | None:
    return db.session.scalar(select(Person).where(Person.user_id == user.id))


def listing(q: str = "", page: int = 1, per_page: int = 50):
    """People by name, with how many episodes each was on and the linked account."""
    appearances = (select(Appearance.person_id, func.count(Appearance.id).label("n"))
                   .group_by(Appearance.person_id).subquery())
    query = (select(Person, func.coalesce(appearances.c.n, 0), User)
             .outerjoin(appearances, appearances.c.person_id == Person.id)
             .outerjoin(User, User.id == Person.user_id).order_by(Person.name_key, Person.id))
    words = " ".join(q.split())
    if words:
        like = f"%{words.lower().replace('%', '').replace('_', '')}%"
        query = query.where(or_(Person.name_key.like(f"%{person_key(words)}%"), func.lower(Person.affiliation).like(like)))
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    rows = db.session.execute(query.limit(per_page).offset((max(page, 1) - 1) * per_page)).all()
    return rows, total


def episodes_of(person: Person) -> list[Episode]:
    query = (select(Episode).join(Appearance, Appearance.episode_id == Episode.id).where(Appearance.person_id == person.id)
             .options(selectinload(Episode.appearances)).order_by(*episodes.NEWEST_FIRST))
    return list(db.session.scalars(query))


def _same_human(name: str, exclude: Person | None = None) -> Person | None:
    """An existing person whose name folds to the same key, or looks the same (confusables)."""
    key, look = person_key(name), identity.name_key(name)
    for other in db.session.scalars(select(Person)):
        if other is not exclude and (other.name_key == key or identity.name_key(other.name) == look):
            return other
    return None


def _fields(person: Person) -> dict:
    return {"name": person.name, "affiliation": person.affiliation, "links": list(person.links or []),
            "image_url": person.image_url}


def save(actor: User | None, person: Person | None, *, name: str, affiliation: str = "", links: list[str] = (),
         image_url: str | None = None) -> Person:
    """Create (person None) or edit; a name that is someone already here is refused with
    their name, so the operator edits or merges instead of duplicating."""
    admin_log.require_team(actor)
    name = " ".join(identity.strip_invisible(name or "").split())
    if not name:
        raise DomainError("Every person needs a name.")
    twin = _same_human(name, exclude=person)
    if twin is not None:
        raise DomainError(f"“{twin.name}” is already here (person {twin.id}): edit that record, or merge the two.")
    creating = person is None
    before = {} if creating else _fields(person)
    if creating:
        person = Person(name=name, name_key=person_key(name))
        db.session.add(person)
    person.name, person.name_key = name, person_key(name)
    person.affiliation, person.links, person.image_url = affiliation.strip(), list(links), image_url or None
    db.session.flush()
    if not creating:
        for episode in episodes_of(person):  # search indexes the people of each episode
            episodes.refresh_search_text(episode)
    old, new = admin_log.changes(before, _fields(person))
    admin_log.record(actor, "person.create" if creating else "person.edit", target_type="person", target_id=person.id,
                     summary=f"{'Added' if creating else 'Edited'} {person.name}", before=old or None, after=new)
    return person


def merge_by_number(actor: User | None, keep: Person, other_id: int) -> Person:
    """The console's merge form names the other record by its number: a wrong number is a
    mistake in the form (422, said beside it), not a missing page."""
    other = db.session.get(Person, other_id)
    if other is None:
        raise DomainError(f"There is no person with the number {other_id}.")
    return merge(actor, keep, other)


def merge(actor: User | None, keep: Person, other: Person) -> Person:
    """`other` is the same human as `keep`: its appearances, followers and account move to
    `keep`, then it goes. Refused, with nothing changed, when both are linked to different
    accounts (which account is theirs is for a person to decide, by unlinking one first)."""
    admin_log.require_team(actor)
    if keep.id == other.id:
        raise DomainError("Choose two different people to merge.")
    if keep.user_id and other.user_id and keep.user_id != other.user_id:
        raise DomainError(f"Both are linked to different accounts ({keep.name}: user {keep.user_id}, "
                          f"{other.name}: user {other.user_id}). Unlink the wrong one first, then merge.")
    before = {"kept": _fields(keep) | {"id": keep.id, "user_id": keep.user_id},
              "merged": _fields(other) | {"id": other.id, "user_id": other.user_id}}
    on_both = set(db.session.scalars(select(Appearance.episode_id).where(Appearance.person_id == keep.id)))
    # An episode both were on keeps the kept person's appearance; the other's goes.
    db.session.execute(delete(Appearance).where(Appearance.person_id == other.id, Appearance.episode_id.in_(on_both)))
    moved_episodes = list(db.session.scalars(select(Appearance.episode_id).where(Appearance.person_id == other.id)))
    db.session.execute(update(Appearance).where(Appearance.person_id == other.id).values(person_id=keep.id))
    followers = set(db.session.scalars(select(Follow.user_id).where(Follow.person_id == keep.id)))
    db.session.execute(delete(Follow).where(Follow.person_id == other.id, Follow.user_id.in_(followers)))
    db.session.execute(update(Follow).where(Follow.person_id == other.id).values(person_id=keep.id))
    user_id = keep.user_id or other.user_id
    other.user_id = None
    db.session.flush()  # the unique user link is free before the kept person takes it
    keep.user_id = user_id
    keep.affiliation = keep.affiliation or other.affiliation
    keep.links = list(dict.fromkeys([*(keep.links or []), *(other.links or [])]))
    keep.image_url = keep.image_url or other.image_url
    db.session.delete(other)
    db.session.flush()
    db.session.expire_all()  # appearances loaded before the bulk updates point at the old person
    for episode in db.session.scalars(select(Episode).where(Episode.id.in_(set(moved_episodes) | on_both))
                                      .options(selectinload(Episode.appearances))):
        episodes.refresh_search_text(episode)
    admin_log.record(actor, "person.merge", target_type="person", target_id=keep.id,
                     summary=f"Merged {before['merged']['name']} (person {before['merged']['id']}) into {keep.name}",
                     before=before, after={"kept": _fields(keep) | {"id": keep.id, "user_id": keep.user_id}})
    return keep


def link_user(actor: User | None, person: Person, user: User) -> bool:
    """The account this person uses here: a person has at most one, an account belongs to at
    most one person. On the episodes where the person was a guest, the account answers
    questions with the Guest badge. Roles are left alone (an admin sets them). False when
    already linked so."""
    admin_log.require_team(actor)
    if person.user_id == user.id:
        return False
    holder = db.session.scalar(select(Person).where(Person.user_id == user.id))
    if holder is not None:
        raise DomainError(f"@{user.username} is already linked to {holder.name} (person {holder.id}): "
                          "unlink them there first, or merge the two people.")
    if person.user_id is not None:
        current = db.session.get(User, person.user_id)
        raise DomainError(f"{person.name} is already linked to @{current.username if current else person.user_id}: "
                          "unlink first.")
    person.user_id = user.id
    db.session.flush()
    admin_log.record(actor, "person.link_user", target_type="person", target_id=person.id,
                     summary=f"Linked {person.name} to @{user.username}", before={"user_id": None},
                     after={"user_id": user.id})
    return True


def unlink_user(actor: User | None, person: Person) -> bool:
    """The account stays as it is (its role too: an admin changes roles)."""
    admin_log.require_team(actor)
    if person.user_id is None:
        return False
    before = {"user_id": person.user_id}
    person.user_id = None
    db.session.flush()
    admin_log.record(actor, "person.unlink_user", target_type="person", target_id=person.id,
                     summary=f"Unlinked {person.name} from user {before['user_id']}", before=before,
                     after={"user_id": None})
    return True
