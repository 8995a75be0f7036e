"""Transcripts of episodes: revisions added from a file (an upload, a flask command, later
the feed's podcast:transcript), speakers matched to the episode's people, and the
formats they go back out in (WebVTT with voice tags, Podcasting 2.0 JSON)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from community import transcripts as formats
from community.extensions import db
from community.models import Episode, Person, TranscriptRevision, TranscriptSegment, User
from community.names import person_key, without_initials
from community.services import DomainError, admin_log, moments


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
        raise DomainError(f"The transcript could not be read: {error}") from None
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
