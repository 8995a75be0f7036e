"""Moments: posts and guests' corrections anchored to a span of an episode's transcript.

A reader's selection (character offsets into one revision's text, anchoring.Text) becomes
an anchor kept on a Moment row; every new transcript revision finds each anchor again
(`follow_revision`, called by services.transcripts), and one that cannot be found is kept
as drifted with its original quote, never dropped."""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import joinedload

from community import anchoring
from community.extensions import db
from community.models import Appearance, AppearanceRole, Episode, Moment, Person, Post, PostStatus, \
    TranscriptRevision, TranscriptSegment, User
from community.services import DomainError, PermissionDenied

MAX_QUOTE = 1000  # characters a reader may select for one moment
MAX_CORRECTION = 1000
DENSITY_BINS = 48  # bars of the density strip along the player


@dataclass(frozen=True)
class Selection:
    """What a form sends: offsets into the text of transcript revision `revision`."""
    revision: int
    start: int
    end: int


def selection_of(revision: str | None, start: str | None, end: str | None) -> Selection | None:
    """The anchor fields of a compose form, or None when the post is not anchored."""
    if not (revision or start or end):
        return None
    try:
        return Selection(int(revision), int(start), int(end))
    except (TypeError, ValueError):
        raise DomainError("The selected words could not be read: select them again.") from None


@dataclass(frozen=True)
class Resolved:
    """A selection checked against the transcript, before anything is written."""
    anchor: anchoring.Anchor
    revision: int


def resolve(episode: Episode, fields: tuple[str | None, str | None, str | None]) -> Resolved | None:
    """The anchor a compose form asks for (AnchorFields.anchor()), or None; DomainError
    when it cannot be made, so the view refuses the post with nothing written."""
    selection = selection_of(*fields)
    return Resolved(*_anchor(episode, selection)) if selection else None


def _revision_text(episode_id: int, number: int) -> anchoring.Text | None:
    segments = db.session.scalars(
        select(TranscriptSegment).join(TranscriptRevision, TranscriptRevision.id == TranscriptSegment.revision_id)
        .where(TranscriptRevision.episode_id == episode_id, TranscriptRevision.number == number)
        .order_by(TranscriptSegment.position)).all()
    return anchoring.Text.of(segments) if segments else None


def sentence_span(text: anchoring.Text, position: int) -> tuple[int, int] | None:
    """The offsets of segment `position` (a sentence's "discuss" link, without JS)."""
    if not 0 <= position < len(text.offsets):
        return None
    start = text.offsets[position]
    end = text.offsets[position + 1] - 1 if position + 1 < len(text.offsets) else len(text.text)
    return start, end


def _anchor(episode: Episode, selection: Selection) -> tuple[anchoring.Anchor, int]:
    """The anchor on the episode's current revision (a selection made on an older one,
    the page having been open while a correction came in, is found again on the current)."""
    current = episode.transcript_revision
    text = _revision_text(episode.id, selection.revision) if current else None
    if text is None:
        raise DomainError("This episode's transcript has changed: select the words again.")
    if selection.end - selection.start > MAX_QUOTE:
        raise DomainError(f"Select at most {MAX_QUOTE} characters of the transcript.")
    try:
        anchor = anchoring.make(text, selection.start, selection.end)
    except ValueError:
        raise DomainError("The selection is not inside the transcript: select the words again.") from None
    if anchor.quote.strip() == "":
        raise DomainError("Select some words of the transcript.")
    if selection.revision != current:
        newer = _revision_text(episode.id, current)
        anchor = anchoring.reanchor(anchor, len(text.text), newer)
        if anchor.drifted:
            raise DomainError("Those words are no longer in the transcript: select them again.")
    return anchor, current


def _row(episode: Episode, anchor: anchoring.Anchor, revision: int, **extra) -> Moment:
    return Moment(episode_id=episode.id, quote=anchor.quote, prefix=anchor.prefix, suffix=anchor.suffix,
                  start=anchor.start, end=anchor.end, time_start=anchor.time_start, time_end=anchor.time_end,
                  revision=revision, drifted=False, **extra)


def attach(post: Post, episode: Episode, resolved: Resolved | None) -> Moment | None:
    """Anchor a new post (comment, question, paper) to the selected words."""
    if resolved is None:
        return None
    moment = _row(episode, resolved.anchor, resolved.revision, post_id=post.id, author_id=post.author_id)
    db.session.add(moment)
    db.session.flush()
    return moment


def speaker_user_ids(episode: Episode, revision: int, start: int, end: int) -> set[int]:
    """The accounts of the people whose words the span covers."""
    text = _revision_text(episode.id, revision)
    first = max(0, bisect_right(text.offsets, start) - 1)
    last = max(0, bisect_right(text.offsets, max(start, end - 1)) - 1)
    rows = db.session.execute(
        select(TranscriptSegment.position, Person.user_id)
        .join(TranscriptRevision, TranscriptRevision.id == TranscriptSegment.revision_id)
        .outerjoin(Person, Person.id == TranscriptSegment.person_id)
        .where(TranscriptRevision.episode_id == episode.id, TranscriptRevision.number == revision,
               TranscriptSegment.position.between(first, last))).all()
    return {user_id for _, user_id in rows}


def may_correct(user: User | None, episode: Episode) -> bool:
    """A guest of this episode with an account linked to their person (verified by the show)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return False
    return db.session.scalar(select(Appearance.id).join(Person, Person.id == Appearance.person_id).where(
        Appearance.episode_id == episode.id, Appearance.role == AppearanceRole.guest,
        Person.user_id == user.id).limit(1)) is not None


def add_correction(actor: User, episode: Episode, resolved: Resolved | None, text: str) -> Moment:
    """A guest's correction of their own words: shown inline in the transcript and listed
    on the episode. Only the guest whose words they are may attach one."""
    text = " ".join((text or "").split())
    if not may_correct(actor, episode):
        raise PermissionDenied("Only a guest of this episode can correct what they said.")
    if resolved is None:
        raise DomainError("Select the words you want to correct.")
    if not text:
        raise DomainError("Write the correction.")
    if len(text) > MAX_CORRECTION:
        raise DomainError(f"Keep the correction under {MAX_CORRECTION} characters.")
    anchor, revision = resolved.anchor, resolved.revision
    if speaker_user_ids(episode, revision, anchor.start, anchor.end) != {actor.id}:
        raise PermissionDenied("You can correct only your own words: select a sentence you said.")
    moment = _row(episode, anchor, revision, author_id=actor.id, correction=text)
    db.session.add(moment)
    db.session.flush()
    return moment


def follow_revision(episode: Episode, revision: int) -> tuple[int, int]:
    """Find every anchor of the episode again on its new revision `revision`; returns
    (found, drifted). A drifted anchor keeps its last place and quote, and is tried
    again on each later revision."""
    moments = db.session.scalars(select(Moment).where(Moment.episode_id == episode.id)).all()
    if not moments:
        return 0, 0
    new = _revision_text(episode.id, revision)
    texts: dict[int, anchoring.Text | None] = {}
    found = drifted = 0
    for moment in moments:
        if moment.revision == revision:
            continue
        if moment.revision not in texts:
            texts[moment.revision] = _revision_text(episode.id, moment.revision)
        old = texts[moment.revision]
        anchor = anchoring.Anchor(moment.quote, moment.prefix, moment.suffix, moment.start, moment.end,
                                  moment.time_start, moment.time_end)
        moved = anchoring.reanchor(anchor, len(old.text) if old else 0, new) if new else None
        if moved is None or moved.drifted:
            moment.drifted = True
            drifted += 1
            continue
        moment.start, moment.end, moment.time_start, moment.time_end = moved.start, moved.end, moved.time_start, moved.time_end
        moment.revision, moment.drifted = revision, False
        found += 1
    db.session.flush()
    return found, drifted


def load_for(posts: list[Post], episode: Episode | None) -> None:
    """Set `post.moment` (what its chip shows; see moment_of) on these posts of `episode`:
    one query, none when the episode has no transcript to anchor to."""
    if episode is None or not episode.transcript_revision or not posts:
        for post in posts:  # a copy kept between rebuilds (pages/posts.py) may carry an earlier chip
            post.__dict__.pop("moment", None)
        return
    found = {m.post_id: m for m in db.session.scalars(
        select(Moment).where(Moment.post_id.in_([p.id for p in posts])))}
    for post in posts:
        post.moment = found.get(post.id)  # a plain attribute, not a column: nothing is written


def moment_of(post: Post) -> Moment | None:
    """The moment load_for found for the post; None where it did not look."""
    return getattr(post, "moment", None)


@dataclass
class EpisodeMoments:
    """What the episode page shows of its moments, from one query."""
    moments: list[Moment]
    by_segment: dict[int, list[Moment]]  # segment position -> moments starting there (current revision)
    drifted: list[Moment]
    corrections: list[Moment]
    density: list[tuple[float, int]]  # (start second of the bin, moments in it)
    bin_seconds: float
    duration: float

    @property
    def counts(self) -> dict[int, int]:
        return {position: sum(1 for m in moments if m.post_id) for position, moments in self.by_segment.items()}

    @property
    def peak(self) -> int:
        return max((count for _, count in self.density), default=0)


def for_episode(episode: Episode, text: anchoring.Text | None, duration: float | None) -> EpisodeMoments:
    """The visible moments of the episode: anchored posts everyone sees, and corrections."""
    moments = list(db.session.scalars(
        select(Moment).outerjoin(Post, Post.id == Moment.post_id)
        .where(Moment.episode_id == episode.id,
               or_(Moment.post_id.is_(None), (Post.status == PostStatus.visible) & Post.deleted_at.is_(None)))
        .order_by(Moment.start, Moment.id)))
    by_segment: dict[int, list[Moment]] = {}
    drifted = []
    for moment in moments:
        if moment.drifted or text is None or moment.revision != episode.transcript_revision:
            drifted.append(moment)
            continue
        position = max(0, bisect_right(text.offsets, moment.start) - 1)
        by_segment.setdefault(position, []).append(moment)
    length = duration or max((t[1] or t[0] for t in text.times), default=0) if text else (duration or 0)
    bin_seconds = max(1.0, (length or 1) / DENSITY_BINS)
    bins = Counter(min(DENSITY_BINS - 1, int((m.time_start or 0) // bin_seconds))
                   for m in moments if m.post_id and not m.drifted)
    return EpisodeMoments(moments, by_segment, drifted, [m for m in moments if m.correction],
                          [(n * bin_seconds, bins.get(n, 0)) for n in range(DENSITY_BINS)], bin_seconds, length or 0)


def posts_at(episode: Episode, position: int, text: anchoring.Text | None) -> list[Moment]:
    """The anchored posts starting in one sentence: the thread filtered to that moment."""
    span = sentence_span(text, position) if text else None
    if span is None:
        return []
    return list(db.session.scalars(
        select(Moment).join(Post, Post.id == Moment.post_id)
        .where(Moment.episode_id == episode.id, Moment.revision == episode.transcript_revision,
               Moment.drifted.is_(False), Moment.start >= span[0], Moment.start <= span[1],
               Post.status == PostStatus.visible, Post.deleted_at.is_(None))
        .options(joinedload(Moment.post).joinedload(Post.author)).order_by(Moment.id)))
