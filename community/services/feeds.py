"""Episodes from podcast feeds: importing a parsed feed (people, images, chapters,
transcript links) and the feed sources that `flask feeds refresh` and the console's
/admin/feeds keep up to date with conditional GETs."""

from __future__ import annotations

import urllib.parse
from collections import Counter
from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from community import feed_parser, markup
from community.extensions import db
from community.feed_parser import FeedError, FeedItem, FeedPerson, ParsedFeed
from community.models import Appearance, AppearanceRole, Episode, FeedSource, Person, User
from community.models.base import utcnow
from community.names import person_key
from community.services import DomainError, NotFound, admin_log, episodes, transcripts

# podcast:person roles (lower-cased by the parser) this site keeps; the Podcast Taxonomy
# has many more (producer, editor, ...): those are counted in the report and left out.
ROLES = {"host": AppearanceRole.host, "guest": AppearanceRole.guest, "co-host": AppearanceRole.cohost,
         "cohost": AppearanceRole.cohost}
CHAPTERS_TIMEOUT = 5.0  # seconds per chapters file: a slow host costs the import little
FEED_TIMEOUT = 20.0


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)
    people_created: int = 0
    appearances_added: int = 0
    unknown_roles: Counter = field(default_factory=Counter)  # role -> podcast:person tags left out
    chapter_failures: list[tuple[str, str]] = field(default_factory=list)  # (episode title, why)
    transcripts_requested: int = 0  # podcast:transcript files queued for fetching

    def summary(self) -> str:
        line = (f"created {self.created}, updated {self.updated}, "
                f"unchanged {self.unchanged}, skipped {len(self.skipped)}")
        extras = [f"{self.people_created} new people" if self.people_created else "",
                  f"{self.appearances_added} new appearances" if self.appearances_added else "",
                  f"{len(self.chapter_failures)} chapters files failed" if self.chapter_failures else "",
                  f"{self.transcripts_requested} transcripts to fetch" if self.transcripts_requested else "",
                  f"{sum(self.unknown_roles.values())} people with other roles left out" if self.unknown_roles else ""]
        extras = [e for e in extras if e]
        return line + ("; " + ", ".join(extras) if extras else "")

    def details(self) -> list[str]:
        """One line per thing the operator may want to fix (the CLI prints them)."""
        lines = [f"skipped {title!r}: {reason}" for title, reason in self.skipped]
        lines += [f"chapters of {title!r} not loaded: {why}" for title, why in self.chapter_failures]
        lines += [f"{count} podcast:person with role {role!r} left out (roles kept: host, guest, co-host)"
                  for role, count in sorted(self.unknown_roles.items())]
        return lines

    def as_dict(self) -> dict:
        return {"created": self.created, "updated": self.updated, "unchanged": self.unchanged,
                "skipped": [list(s) for s in self.skipped], "people_created": self.people_created,
                "appearances_added": self.appearances_added, "unknown_roles": dict(self.unknown_roles),
                "chapter_failures": [list(f) for f in self.chapter_failures],
                "transcripts_requested": self.transcripts_requested}


def _fields_from_item(item: FeedItem, feed: ParsedFeed) -> dict:
    transcript = item.transcript
    return {
        "number": item.number,
        "title": item.title.strip()[:500],
        "published_at": item.published_at,
        "summary": item.summary,
        "show_notes_html": markup.render_feed_html(item.show_notes_html),
        "audio_url": item.audio_url,
        "duration_seconds": item.duration_seconds,
        "feed_guid": item.guid,
        "source_link": item.link,
        "image_url": item.image_url or feed.image_url,
        "chapters_url": item.chapters_url,
        "transcript_url": transcript.url if transcript else None,
        "transcript_type": transcript.type if transcript else None,
        "transcript_language": transcript.language if transcript else None,
    }


def import_feed(feed: ParsedFeed, progress=None) -> ImportReport:
    """Create or update one episode per item, keyed by the item's identity, with its people.

    Flushes only: the caller commits once, so a failure leaves the database as it was.
    Chapters files are fetched first, before anything is written (no network wait inside
    the write), and only for episodes whose chapters address is new. `progress(item)` is
    called after each item (the command's progress bar).
    """
    report = ImportReport(skipped=list(feed.skipped))
    identities = [i.identity for i in feed.items]
    existing = {
        e.feed_identity: e
        for e in db.session.scalars(select(Episode).where(Episode.feed_identity.in_(identities))
                                    .options(selectinload(Episode.appearances)))
    }
    chapters = _fetch_chapters(feed.items, existing, report)
    people = _People()
    for item in feed.items:
        values = _fields_from_item(item, feed)
        if item.identity in chapters:
            values["chapters"] = chapters[item.identity]
        episode = existing.get(item.identity)
        if episode is None:
            slug = episodes._unique_slug(episodes.episode_slug(item.number, values["title"]))  # the one slug rule
            episode = Episode(feed_identity=item.identity, slug=slug, appearances=[], **values)
            db.session.add(episode)
            db.session.flush()
            report.created += 1
        elif any(getattr(episode, key) != value for key, value in values.items()):
            for key, value in values.items():
                setattr(episode, key, value)
            report.updated += 1
        else:
            report.unchanged += 1
        _add_people(episode, item.persons or feed.persons, people, report)
        episodes.refresh_search_text(episode)
        if progress:
            progress(item)
    report.people_created = people.created
    db.session.flush()
    report.transcripts_requested = transcripts.request_fetch(
        [e for e in db.session.scalars(select(Episode).where(Episode.feed_identity.in_(identities)))])
    return report


def _fetch_chapters(items: list[FeedItem], existing: dict[str, Episode], report: ImportReport) -> dict[str, list]:
    """identity -> chapters, for items whose chapters file is not stored yet; a failure is
    reported (the episode keeps what it had) and tried again at the next import."""
    fetched = {}
    allowed = tuple(current_app.config["FEED_FETCH_ALLOWED_NETWORKS"])
    for item in items:
        episode = existing.get(item.identity)
        if not item.chapters_url or (episode is not None and episode.chapters_url == item.chapters_url
                                     and episode.chapters):
            continue
        try:
            fetched[item.identity] = feed_parser.load_chapters(item.chapters_url, timeout=CHAPTERS_TIMEOUT, allowed=allowed)
        except FeedError as error:
            report.chapter_failures.append((item.title, str(error)))
    return fetched


class _People:
    """Every Person, looked up by folded name and by link: one query per import, and the
    people this import creates are found again by the next item."""

    def __init__(self):
        self.by_key: dict[str, Person] = {}
        self.by_link: dict[str, Person] = {}
        self.created = 0
        for person in db.session.scalars(select(Person)):
            self._remember(person)

    def _remember(self, person: Person) -> None:
        self.by_key[person.name_key] = person
        for link in person.links or []:
            self.by_link.setdefault(_link_key(link), person)

    def find_or_create(self, tag: FeedPerson) -> Person:
        """By link first (a renamed person keeps their link), then by folded name."""
        person = (self.by_link.get(_link_key(tag.href)) if tag.href else None) or self.by_key.get(person_key(tag.name))
        if person is None:
            person = Person(name=tag.name, name_key=person_key(tag.name), affiliation="",
                            links=[tag.href] if tag.href else [], image_url=tag.img)
            db.session.add(person)
            db.session.flush()
            self.created += 1
        else:
            # Fill in what is missing; what the console set is kept.
            if tag.href and _link_key(tag.href) not in {_link_key(link) for link in person.links or []}:
                person.links = [*(person.links or []), tag.href]
            if tag.img and not person.image_url:
                person.image_url = tag.img
        self._remember(person)
        return person


def _link_key(url: str | None) -> str:
    """'https://Example.org/jane/' and 'http://example.org/jane' are one link."""
    parts = urllib.parse.urlsplit((url or "").strip())
    return f"{parts.netloc.lower()}{parts.path.rstrip('/')}?{parts.query}"


def _add_people(episode: Episode, tags: list[FeedPerson], people: _People, report: ImportReport) -> None:
    """Appearances the feed names that the episode lacks. Existing ones are left as they are
    (the console may have corrected a role); followers hear of each newly added guest."""
    on_episode = {a.person_id for a in episode.appearances}
    new_guests = []
    for tag in tags:
        role = ROLES.get(tag.role)
        if role is None:
            report.unknown_roles[tag.role] += 1
            continue
        person = people.find_or_create(tag)
        if person.id in on_episode:
            continue
        episode.appearances.append(Appearance(person=person, role=role, position=len(episode.appearances)))
        on_episode.add(person.id)
        report.appearances_added += 1
        if role == AppearanceRole.guest:
            new_guests.append(person)
    if new_guests:
        db.session.flush()
        episodes.tell_followers(episode, new_guests)


# --------------------------------------------------------------------------- feed sources


def sources() -> list[FeedSource]:
    return list(db.session.scalars(select(FeedSource).order_by(FeedSource.active.desc(), FeedSource.id)))


def get_source(source_id: int) -> FeedSource:
    source = db.session.get(FeedSource, source_id)
    if source is None:
        raise NotFound("No such feed source.")
    return source


def add_source(actor: User | None, url: str) -> FeedSource:
    """A feed to refresh from now on; adding one again that was deactivated turns it back on."""
    url = (url or "").strip()
    parts = urllib.parse.urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        raise DomainError("A feed address starts with http:// or https://.")
    if len(url) > 2000:
        raise DomainError("That address is longer than 2000 characters.")
    source = db.session.scalar(select(FeedSource).where(FeedSource.url == url))
    if source is not None and source.active:
        raise DomainError("That feed is already in the list.")
    if source is None:
        source = FeedSource(url=url, active=True, last_counts={})
        db.session.add(source)
        action = "feed.add"
    else:
        source.active = True
        action = "feed.reactivate"
    db.session.flush()
    admin_log.record(actor, action, target_type="feed", target_id=source.id, summary=f"{action[5:]} {url}",
                     after={"url": url, "active": True})
    return source


def deactivate(actor: User | None, source: FeedSource) -> None:
    """Stops refreshing it; its episodes stay."""
    if not source.active:
        raise DomainError("That feed is already inactive.")
    source.active = False
    db.session.flush()
    admin_log.record(actor, "feed.deactivate", target_type="feed", target_id=source.id,
                     summary=f"deactivate {source.url}", before={"active": True}, after={"active": False})


def refresh_now(actor: User | None, source: FeedSource) -> FeedSource:
    """"Refresh now" in the console: one refresh and one admin-log row saying how it went."""
    refresh(source)
    log_refresh(actor, source)
    return source


def log_refresh(actor: User | None, source: FeedSource) -> None:
    """The admin-log row of a console refresh (also after a failed import was rolled back)."""
    admin_log.record(actor, "feed.refresh", target_type="feed", target_id=source.id,
                     summary=f"refresh {source.url}: {source.last_status}"
                             + (f" ({source.last_error})" if source.last_error else ""),
                     after={"status": source.last_status, "error": source.last_error})


def refresh(source: FeedSource, timeout: float = FEED_TIMEOUT) -> FeedSource:
    """Fetch the feed with a conditional GET and import it; the result is kept on the source.

    A fetch or parse failure is recorded on the source (last_error, shown on /admin/feeds),
    never raised. A 304 means nothing is parsed or written but the check time and status."""
    try:
        answer = feed_parser.fetch_conditional(source.url, source.etag, source.last_modified, timeout=timeout)
        if answer.status == 304:
            _checked(source, "not modified (304)", None)
            source.etag, source.last_modified = answer.etag, answer.last_modified
            return source
        feed = feed_parser.parse_feed_bytes(answer.body or b"")
    except FeedError as error:
        record_failure(source, str(error))
        return source
    report = import_feed(feed)
    source.etag, source.last_modified = answer.etag, answer.last_modified
    source.last_counts = {**report.as_dict(), "summary": report.summary()}
    _checked(source, "imported", None)
    return source


def record_failure(source: FeedSource, error: str) -> None:
    """The validators are kept: the next refresh may still be answered 304."""
    _checked(source, "failed", " ".join(error.split())[:2000] or "unknown error")


def _checked(source: FeedSource, status: str, error: str | None) -> None:
    source.last_checked_at = utcnow()
    source.last_status = status[:100]
    source.last_error = error
    db.session.flush()


def active_sources() -> list[FeedSource]:
    return list(db.session.scalars(select(FeedSource).where(FeedSource.active.is_(True)).order_by(FeedSource.id)))
