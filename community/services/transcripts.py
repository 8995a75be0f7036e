"""Transcripts of episodes: revisions added from a file (an upload in the console, a flask
command, the feed's podcast:transcript fetched by a job), speakers matched to the episode's people, and the
formats they go back out in (WebVTT with voice tags, Podcasting 2.0 JSON)."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app
from sqlalchemy import func, select, update
from sqlalchemy.orm import joinedload

from community import feed_parser
from community import transcripts as formats
from community.extensions import db
from community.models import Episode, Moment, Person, Post, PostStatus, TranscriptRevision, TranscriptSegment, User
from community.names import person_key, without_initials
from community.services import DomainError, admin_log, episodes, jobs, moments


class UnreadableTranscript(DomainError):
    """A file refused whole; `problems` names each malformed cue by its line."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__(f"The transcript could not be read: {formats.TranscriptError(problems)}")


@dataclass
class Transcript:
    revision: TranscriptRevision
    segments: list[TranscriptSegment]
    people: dict[int, Person]  # the episode's people the speakers were matched to


def add_revision(actor: User | None, episode: Episode, data: bytes | str, kind: str, *, source_url: str | None = None,
                 language: str | None = None, note: str = "") -> TranscriptRevision:
    """A new revision (the next number) from a transcript file; a file that does not parse
    is refused whole, with every problem named (formats.TranscriptError)."""
    try:
        parsed = formats.parse(data, kind)
    except formats.TranscriptError as error:
        raise UnreadableTranscript(error.problems) from None
    number = (db.session.scalar(select(func.max(TranscriptRevision.number))
                                .where(TranscriptRevision.episode_id == episode.id)) or 0) + 1
    revision = TranscriptRevision(episode_id=episode.id, number=number, kind=formats.FORMATS.get(kind, kind),
                                  source_url=source_url, language=language, note=" ".join(note.split())[:300],
                                  created_by_id=actor.id if actor else None)
    db.session.add(revision)
    episode.transcript_revision = number  # the episode page links the transcript without asking
    db.session.flush()
    people = _speakers(episode, {segment.speaker for segment in parsed})
    db.session.add_all([TranscriptSegment(revision_id=revision.id, position=n, start=s.start, end=s.end,
                                          speaker=s.speaker[:200], person_id=people.get(s.speaker), text=s.text)
                        for n, s in enumerate(parsed)])
    db.session.flush()
    # Every anchored post and correction is found again on the new words (or marked drifted).
    found, drifted = moments.follow_revision(episode, number)
    admin_log.record(actor, "transcript.add", target_type="episode", target_id=episode.id,
                     summary=f"Transcript revision {number} of {episode.title[:200]} ({len(parsed)} segments)",
                     after={"revision": number, "segments": len(parsed), "kind": revision.kind,
                            "moments_found": found, "moments_drifted": drifted})
    db.session.flush()
    return revision


def _speakers(episode: Episode, labels: set[str]) -> dict[str, int]:
    """Speaker labels matched to the episode's people by folded name, middle initials aside
    ("Christopher D. Manning" is "Christopher Manning"); a label that matches no one, or
    more than one, stays a label."""
    by_key: dict[str, list[int]] = {}
    for person in (appearance.person for appearance in episode.appearances):
        by_key.setdefault(without_initials(person_key(person.name)), []).append(person.id)
    matched = {}
    for label in labels:
        ids = by_key.get(without_initials(person_key(label)), [])
        if len(ids) == 1:
            matched[label] = ids[0]
    return matched


# ---------------------------------------------------------------- the console

@dataclass(frozen=True)
class RevisionRow:
    revision: TranscriptRevision
    segments: int
    speakers: int


def revisions(episode: Episode) -> list[RevisionRow]:
    """Every revision, newest first, with its segment and speaker counts: one query."""
    rows = db.session.execute(
        select(TranscriptRevision, func.count(TranscriptSegment.id), func.count(func.distinct(TranscriptSegment.speaker)))
        .outerjoin(TranscriptSegment, TranscriptSegment.revision_id == TranscriptRevision.id)
        .where(TranscriptRevision.episode_id == episode.id)
        .group_by(TranscriptRevision.id).order_by(TranscriptRevision.number.desc()))
    return [RevisionRow(revision, segments, speakers) for revision, segments, speakers in rows]


@dataclass(frozen=True)
class Speaker:
    label: str  # as the file names them ("" when it does not)
    segments: int
    person_id: int | None  # who it is matched to now (guessed by name at import, or confirmed)


def speakers(revision: TranscriptRevision) -> list[Speaker]:
    """The revision's speaker labels in order of first appearance, each with its person."""
    rows = db.session.execute(
        select(TranscriptSegment.speaker, func.count(TranscriptSegment.id), func.min(TranscriptSegment.position),
               func.max(TranscriptSegment.person_id))
        .where(TranscriptSegment.revision_id == revision.id).group_by(TranscriptSegment.speaker))
    return [Speaker(label, count, person_id) for label, count, _, person_id in sorted(rows, key=lambda r: r[2])]


def set_speakers(actor: User, episode: Episode, revision: TranscriptRevision, chosen: dict[str, int | None]) -> int:
    """Confirm or change who each speaker label is: a person of the episode, or no one.
    Returns how many labels changed; one admin-log row says which."""
    allowed = {appearance.person_id for appearance in episode.appearances}
    if any(person_id is not None and person_id not in allowed for person_id in chosen.values()):
        raise DomainError("Choose people who were on this episode (add them under “Who was on it” first).")
    before = {s.label: s.person_id for s in speakers(revision)}
    changed = {label: person_id for label, person_id in chosen.items()
               if label in before and before[label] != person_id}
    for label, person_id in changed.items():
        db.session.execute(update(TranscriptSegment)
                           .where(TranscriptSegment.revision_id == revision.id, TranscriptSegment.speaker == label)
                           .values(person_id=person_id).execution_options(synchronize_session=False))
    if changed:
        admin_log.record(actor, "transcript.speakers", target_type="episode", target_id=episode.id,
                         summary=f"Speakers of transcript revision {revision.number} of {episode.title[:200]}: "
                                 + ", ".join(f"{label or '(unnamed)'} → {_name(episode, person_id)}"
                                             for label, person_id in changed.items()),
                         before={label: before[label] for label in changed}, after=changed)
        db.session.flush()
    return len(changed)


def _name(episode: Episode, person_id: int | None) -> str:
    return next((a.person.name for a in episode.appearances if a.person_id == person_id), "no one")


def get_revision(episode: Episode, number: int) -> TranscriptRevision | None:
    return db.session.scalar(select(TranscriptRevision).where(TranscriptRevision.episode_id == episode.id,
                                                              TranscriptRevision.number == number))


def current(episode: Episode) -> Transcript | None:
    """The latest revision with its segments: two queries."""
    revision = db.session.scalar(select(TranscriptRevision).where(TranscriptRevision.episode_id == episode.id)
                                 .order_by(TranscriptRevision.number.desc()).limit(1))
    if revision is None:
        return None
    segments = list(db.session.scalars(select(TranscriptSegment).where(TranscriptSegment.revision_id == revision.id)
                                       .order_by(TranscriptSegment.position)))
    people = {a.person.id: a.person for a in episode.appearances}
    return Transcript(revision, segments, people)


def speaker_name(transcript: Transcript, segment: TranscriptSegment) -> str:
    person = transcript.people.get(segment.person_id) if segment.person_id else None
    return person.name if person else segment.speaker


def paragraphs(transcript: Transcript) -> list[tuple[str, list[TranscriptSegment]]]:
    """Consecutive segments of one speaker, as the page shows them: (speaker, segments)."""
    out: list[tuple[str, list[TranscriptSegment]]] = []
    for segment in transcript.segments:
        name = speaker_name(transcript, segment)
        if out and out[-1][0] == name:
            out[-1][1].append(segment)
        else:
            out.append((name, [segment]))
    return out


def _vtt_time(seconds: float) -> str:
    millis = round(seconds * 1000)
    return f"{millis // 3_600_000:02d}:{millis // 60_000 % 60:02d}:{millis // 1000 % 60:02d}.{millis % 1000:03d}"


def as_webvtt(transcript: Transcript) -> str:
    """WebVTT with <v Speaker> voice tags; a segment with no end lasts until the next one."""
    lines = ["WEBVTT", ""]
    segments = transcript.segments
    for n, segment in enumerate(segments):
        end = segment.end if segment.end is not None else (
            segments[n + 1].start if n + 1 < len(segments) else segment.start + 5)
        text = segment.text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("-->", "--&gt;")
        name = speaker_name(transcript, segment).replace(">", "").replace("\n", " ")
        lines += [str(n + 1), f"{_vtt_time(segment.start)} --> {_vtt_time(max(end, segment.start))}",
                  f"<v {name}>{text}" if name else text, ""]
    return "\n".join(lines)


def as_podcast_json(transcript: Transcript) -> dict:
    """The Podcasting 2.0 JSON transcript format."""
    return {"version": "1.0.0", "segments": [
        {key: value for key, value in (("speaker", speaker_name(transcript, s) or None), ("startTime", s.start),
                                       ("endTime", s.end), ("body", s.text)) if value is not None}
        for s in transcript.segments]}


# ---------------------------------------------------------------- from the feed (podcast:transcript)

FETCH_ACCEPT = "text/vtt, application/json;q=0.9, application/x-subrip;q=0.9, text/html;q=0.8"


def request_fetch(episodes: list[Episode]) -> int:
    """After a feed import: a fetch job for each episode whose podcast:transcript address has
    not given a revision yet. An address already fetched is not asked for again at every
    hourly refresh; `flask transcripts fetch` asks again (a corrected file, same address)."""
    wanted = [e for e in episodes if e.transcript_url and formats.FORMATS.get(e.transcript_type or "")]
    if not wanted:
        return 0
    fetched = {tuple(row) for row in db.session.execute(
        select(TranscriptRevision.episode_id, TranscriptRevision.source_url)
        .where(TranscriptRevision.episode_id.in_([e.id for e in wanted]),
               TranscriptRevision.source_url.is_not(None)))}
    count = 0
    for episode in wanted:
        if (episode.id, episode.transcript_url) not in fetched:
            enqueue_fetch(episode)
            count += 1
    return count


def enqueue_fetch(episode: Episode) -> None:
    jobs.enqueue("transcripts.fetch", unique_key=f"transcripts.fetch:{episode.id}", episode_id=episode.id)


@jobs.handler("transcripts.fetch", max_attempts=4)
def fetch_job(episode_id: int) -> str:
    """A failure (unreachable, refused address, a file that does not parse) raises: the queue
    retries it with backoff and /admin/jobs shows why."""
    return fetch_from_feed(episodes.get_by_id(episode_id))


def fetch_from_feed(episode: Episode | None) -> str:
    """Fetch the episode's podcast:transcript and add a revision only when its words or
    timings differ from the current revision: "added", "unchanged" or "none"."""
    if episode is None or not episode.transcript_url:
        return "none"
    kind = formats.FORMATS.get(episode.transcript_type or "")
    if kind is None:
        return "none"
    config = current_app.config
    data = feed_parser.fetch_public(episode.transcript_url, config["TRANSCRIPT_FETCH_TIMEOUT"], FETCH_ACCEPT,
                                    formats.MAX_BYTES, tuple(config["FEED_FETCH_ALLOWED_NETWORKS"]))
    try:
        parsed = formats.parse(data, kind)
    except formats.TranscriptError as error:
        raise DomainError(f"The transcript at {episode.transcript_url} could not be read: {error}") from None
    latest = current(episode)
    if latest is not None and _same(parsed, latest.segments):
        return "unchanged"
    add_revision(None, episode, data, kind, source_url=episode.transcript_url,
                 language=episode.transcript_language, note="from the feed's podcast:transcript")
    return "added"


def _same(parsed: list[formats.Segment], stored: list[TranscriptSegment]) -> bool:
    return [(round(s.start, 3), None if s.end is None else round(s.end, 3), s.speaker[:200], s.text) for s in parsed] \
        == [(round(s.start, 3), None if s.end is None else round(s.end, 3), s.speaker, s.text) for s in stored]


# ---------------------------------------------------------------- outwards: soundbites, annotations
#
# Both read the anchors that posts keep on transcript words (the `moments` table of
# models/moments.py). Until that model exists in this checkout, there are no anchors:
# both answer empty, and the API, feeds and JSON-LD say so with empty lists.

SOUNDBITE_GAP = 30.0  # anchors closer than this (seconds) are one moment of discussion
SOUNDBITE_MIN, SOUNDBITE_MAX = 15.0, 120.0  # podcast:soundbite's advised length


@dataclass(frozen=True)
class Soundbite:
    start: float
    duration: float
    title: str  # the words most quoted there
    posts: int  # anchored posts in this stretch


def rank_moments(anchors: list[tuple[float, float | None, str]], limit: int = 3) -> list[Soundbite]:
    """(time start, time end, quote) of anchored posts -> the stretches with the most of
    them, most first (earlier first on a tie): anchors within SOUNDBITE_GAP of the previous
    one join its stretch; each is clamped to SOUNDBITE_MIN..SOUNDBITE_MAX seconds."""
    stretches: list[list[tuple[float, float, str]]] = []
    for start, end, quote in sorted((a for a in anchors if a[0] is not None), key=lambda a: a[0]):
        end = max(end if end is not None else start, start)
        if stretches and start - max(e for _, e, _ in stretches[-1]) <= SOUNDBITE_GAP:
            stretches[-1].append((start, end, quote))
        else:
            stretches.append([(start, end, quote)])
    bites = []
    for stretch in stretches:
        start = min(s for s, _, _ in stretch)
        end = max(e for _, e, _ in stretch)
        quotes = [q for _, _, q in stretch if q]
        title = max(quotes, key=quotes.count) if quotes else ""
        duration = min(max(end - start, SOUNDBITE_MIN), SOUNDBITE_MAX)
        bites.append(Soundbite(round(start, 3), round(duration, 3), " ".join(title.split())[:200], len(stretch)))
    return sorted(bites, key=lambda b: (-b.posts, b.start))[:limit]


def soundbites(episode_ids: list[int], limit: int = 3) -> dict[int, list[Soundbite]]:
    """The most discussed moments of each episode (one query for them all); {} when there
    are no anchors."""
    moment = Moment
    if not episode_ids:
        return {}
    rows = db.session.execute(
        select(moment.episode_id, moment.time_start, moment.time_end, moment.quote)
        .join(Post, Post.id == moment.post_id)
        .where(moment.episode_id.in_(episode_ids), moment.drifted.is_(False), moment.time_start.is_not(None),
               Post.status == PostStatus.visible))
    by_episode: dict[int, list] = {}
    for episode_id, start, end, quote in rows:
        by_episode.setdefault(episode_id, []).append((start, end, quote))
    return {episode_id: rank_moments(anchors, limit) for episode_id, anchors in by_episode.items()}


@dataclass(frozen=True)
class AnchoredPost:
    post: Post
    quote: str
    prefix: str
    suffix: str
    start: int  # character offsets in the transcript's text (anchoring.Text)
    end: int
    time_start: float | None
    time_end: float | None
    revision: int
    drifted: bool


def anchored_posts(episode: Episode) -> list[AnchoredPost]:
    """Every visible post anchored to this episode's transcript, in time order; [] without anchors."""
    moment = Moment
    rows = db.session.execute(
        select(Post, moment.quote, moment.prefix, moment.suffix, moment.start, moment.end, moment.time_start,
               moment.time_end, moment.revision, moment.drifted)
        .join(Post, Post.id == moment.post_id)
        .where(moment.episode_id == episode.id, Post.status == PostStatus.visible)
        .options(joinedload(Post.author)).order_by(moment.time_start, Post.id))
    return [AnchoredPost(*row) for row in rows]


def web_annotations(episode: Episode, transcript_url: str, permalink, audio_url: str | None) -> list[dict]:
    """The anchored posts as W3C Web Annotations (https://www.w3.org/TR/annotation-model/):
    the post is the body, the transcript words the target (quote, position), and the
    audio's media fragment (t=start,end) a second target. `permalink(post_id)` -> URL."""
    motivations = {"question": "questioning", "paper": "linking"}
    items = []
    for anchored in anchored_posts(episode):
        post = anchored.post
        selectors = [{"type": "TextQuoteSelector", "exact": anchored.quote, "prefix": anchored.prefix,
                      "suffix": anchored.suffix},
                     {"type": "TextPositionSelector", "start": anchored.start, "end": anchored.end}]
        targets: list[dict] = [{"source": transcript_url, "selector": selectors,
                                "state": {"type": "HttpRequestState", "value": f"revision={anchored.revision}"}}]
        if audio_url and anchored.time_start is not None:
            end = anchored.time_end if anchored.time_end is not None else anchored.time_start
            targets.append({"source": audio_url, "selector": {
                "type": "FragmentSelector", "conformsTo": "http://www.w3.org/TR/media-frags/",
                "value": f"t={anchored.time_start:g},{max(end, anchored.time_start):g}"}})
        items.append({
            "id": permalink(post.id), "type": "Annotation",
            "motivation": motivations.get(post.kind.value, "commenting"),
            "created": post.created_at.isoformat() + ("" if post.created_at.tzinfo else "Z"),
            "creator": {"type": "Person", "name": post.author.name},
            "body": {"type": "TextualBody", "value": post.body_source, "format": "text/markdown"},
            "target": targets,
            **({"drifted": True} if anchored.drifted else {}),  # the words changed: the quote is the original
        })
    return items
