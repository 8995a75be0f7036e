"""Transcript files into segments (start, end, speaker, text): WebVTT with voice tags
(webvtt-py), SRT (srt), the Podcasting 2.0 JSON format and its HTML format. A leaf: it
imports nothing of ours.

All or nothing: a file with any malformed cue raises TranscriptError listing every
problem with its line (or segment) number, so nothing is ever half-imported. A byte-order
mark and CRLF line ends are fine; cues may overlap (two people talking at once) and are
kept in the file's order."""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass
from html.parser import HTMLParser

import srt
import webvtt

# MIME types of podcast:transcript (https://podcastindex.org/namespace/1.0#transcript).
FORMATS = {"text/vtt": "vtt", "application/x-subrip": "srt", "application/srt": "srt",
           "application/json": "json", "text/html": "html"}
MAX_BYTES = 5 * 1024 * 1024  # a three-hour show is about 200 KB of VTT


class TranscriptError(ValueError):
    def __init__(self, problems: list[str]):
        self.problems = problems
        more = f" (and {len(problems) - 10} more)" if len(problems) > 10 else ""
        super().__init__("; ".join(problems[:10]) + more)


@dataclass(frozen=True)
class Segment:
    start: float  # seconds
    end: float | None
    speaker: str  # "" when the file does not say
    text: str


def parse(data: bytes | str, kind: str) -> list[Segment]:
    """`kind`: "vtt", "srt", "json" or "html" (or a MIME type from FORMATS)."""
    kind = FORMATS.get(kind, kind)
    if isinstance(data, bytes):
        if len(data) > MAX_BYTES:
            raise TranscriptError([f"the file is {len(data) / 1e6:.1f} MB; at most {MAX_BYTES // 1_000_000} MB"])
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise TranscriptError([f"byte {error.start}: not UTF-8 text"]) from None
    text = data.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    parser = {"vtt": _vtt, "srt": _srt, "json": _json, "html": _html}.get(kind)
    if parser is None:
        raise TranscriptError([f"unknown transcript format {kind!r} (WebVTT, SRT, JSON or HTML)"])
    segments = parser(text)
    if not segments:
        raise TranscriptError(["no cues found"])
    return segments


_EXTENSIONS = {"vtt": "vtt", "srt": "srt", "json": "json", "html": "html", "htm": "html"}


def detect(filename: str, data: bytes | str) -> str | None:
    """The format of a file by its extension, else by its first characters; None if unsure."""
    by_name = _EXTENSIONS.get((filename or "").rsplit(".", 1)[-1].lower()) if "." in (filename or "") else None
    if by_name:
        return by_name
    head = (data[:2000].decode("utf-8", "replace") if isinstance(data, bytes) else data[:2000]).lstrip("\ufeff \r\n\t")
    if head.startswith("WEBVTT"):
        return "vtt"
    if head.startswith(("{", "[")):
        return "json"
    if head.startswith("<"):
        return "html"
    if re.match(r"\d+\s*\n\s*\d+:\d\d:\d\d,\d{3}\s*-->", head):
        return "srt"
    return None


# ---------------------------------------------------------------------------- WebVTT

_TIMESTAMP = r"(?:\d{2,}:)?[0-5]\d:[0-5]\d\.\d{3}"
_TIMING = re.compile(rf"^({_TIMESTAMP})[ \t]+-->[ \t]+({_TIMESTAMP})(?:[ \t]+.*)?$")
_LOOKS_LIKE_TIMING = re.compile(r"^\s*\d[\d:.,]*\s*(?:->|--|=>|—>)\s*\d")


def _seconds(stamp: str) -> float:
    parts = [float(p) for p in stamp.replace(",", ".").split(":")]
    return sum(value * 60 ** power for power, value in enumerate(reversed(parts)))


def _vtt(text: str) -> list[Segment]:
    """webvtt-py reads the cues; this first pass only finds every malformed one by line, which
    webvtt-py reports one at a time and without a line."""
    lines = text.split("\n")
    problems = []
    if not lines[0].startswith("WEBVTT"):
        problems.append("line 1: a WebVTT file starts with WEBVTT")
    for number, line in enumerate(lines, 1):
        if "-->" not in line:
            if _LOOKS_LIKE_TIMING.match(line):  # "00:00:02.000 -> 00:00:04.000": meant as a timing
                problems.append(f"line {number}: not a cue timing ({line.strip()[:60]!r})")
            continue
        timing = _TIMING.match(line.strip())
        if timing is None:
            problems.append(f"line {number}: not a cue timing ({line.strip()[:60]!r})")
        elif _seconds(timing.group(2)) < _seconds(timing.group(1)):
            problems.append(f"line {number}: the cue ends before it starts")
        elif number < len(lines) and not lines[number].strip():
            problems.append(f"line {number}: a cue timing with no text after it")
    if problems:
        raise TranscriptError(problems)
    try:
        captions = webvtt.from_string(text)
    except webvtt.errors.MalformedFileError as error:
        raise TranscriptError([str(error)]) from None
    # Cue text escapes &, < and > as HTML does (webvtt-py leaves the entities as they are).
    return [Segment(_seconds(c.start), _seconds(c.end), (c.voice or "").strip(), " ".join(html.unescape(c.text).split()))
            for c in captions if c.text.strip()]


# ---------------------------------------------------------------------------- SRT

_SPEAKER_PREFIX = re.compile(r"^([A-Z][\w .'-]{0,60}):\s+(.+)$", re.S)


def _srt(text: str) -> list[Segment]:
    problems = []
    for number, line in enumerate(text.split("\n"), 1):
        if "-->" not in line and _LOOKS_LIKE_TIMING.match(line):
            problems.append(f"line {number}: not a subtitle timing ({line.strip()[:60]!r})")
        elif "-->" in line and not re.match(r"^\s*\d{1,2}:\d{2}:\d{2}[,.]\d{1,3}\s+-->\s+\d{1,2}:\d{2}:\d{2}[,.]\d{1,3}", line):
            problems.append(f"line {number}: not a subtitle timing ({line.strip()[:60]!r})")
    if problems:
        raise TranscriptError(problems)
    try:
        subtitles = list(srt.parse(text, ignore_errors=False))
    except srt.SRTParseError as error:
        line = text.count("\n", 0, error.actual_start) + 1
        raise TranscriptError([f"line {line}: not a subtitle ({text[error.actual_start:error.actual_start + 60]!r})"]) from None
    segments = []
    for sub in subtitles:
        if sub.end < sub.start:
            raise TranscriptError([f"subtitle {sub.index}: ends before it starts"])
        body = " ".join(re.sub(r"<[^>]+>", "", sub.content).split())
        speaker = ""
        said = _SPEAKER_PREFIX.match(body)  # "Ada Example: ..." is how SRT files name speakers
        if said:
            speaker, body = said.group(1), said.group(2)
        if body:
            segments.append(Segment(sub.start.total_seconds(), sub.end.total_seconds(), speaker, body))
    return segments


# ---------------------------------------------------------------------------- JSON


def _json(text: str) -> list[Segment]:
    """https://github.com/Podcastindex-org/podcast-namespace/blob/main/docs/examples/transcripts/transcripts.md"""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as error:
        raise TranscriptError([f"line {error.lineno}: not JSON ({error.msg})"]) from None
    raw = document.get("segments") if isinstance(document, dict) else None
    if not isinstance(raw, list):
        raise TranscriptError(["no \"segments\" list"])
    problems, segments = [], []
    for number, item in enumerate(raw, 1):
        if not isinstance(item, dict):
            problems.append(f"segment {number}: not an object")
            continue
        start, end, body = item.get("startTime"), item.get("endTime"), item.get("body")
        if not isinstance(start, (int, float)) or isinstance(start, bool) or start < 0:
            problems.append(f"segment {number}: startTime must be a number of seconds")
        elif end is not None and (not isinstance(end, (int, float)) or end < start):
            problems.append(f"segment {number}: endTime must be a number no smaller than startTime")
        elif not isinstance(body, str):
            problems.append(f"segment {number}: body must be text")
        elif body.strip():
            segments.append(Segment(float(start), float(end) if end is not None else None,
                                    str(item.get("speaker") or "").strip(), " ".join(body.split())))
    if problems:
        raise TranscriptError(problems)
    return segments


# ---------------------------------------------------------------------------- HTML


class _HtmlTranscript(HTMLParser):
    """<cite>Speaker:</cite> <time>00:01:02</time> <p>What they said.</p>, repeated."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.segments: list[Segment] = []
        self.problems: list[str] = []
        self.speaker, self.start, self.inside, self.buffer = "", None, None, []

    def handle_starttag(self, tag, attrs):
        if tag in ("cite", "time", "p"):
            self.inside, self.buffer = tag, []

    def handle_data(self, data):
        if self.inside:
            self.buffer.append(data)

    def handle_endtag(self, tag):
        if tag != self.inside:
            return
        content = " ".join("".join(self.buffer).split())
        line = self.getpos()[0]
        if tag == "cite":
            self.speaker = content.rstrip(":").strip()
        elif tag == "time":
            if re.fullmatch(r"(?:\d+:)?\d{1,2}:\d{2}(?:[.,]\d+)?", content):
                self.start = _seconds(content)
            else:
                self.problems.append(f"line {line}: not a time ({content[:40]!r})")
        elif content:
            if self.start is None:
                self.problems.append(f"line {line}: a paragraph with no <time> before it")
            else:
                self.segments.append(Segment(self.start, None, self.speaker, content))
        self.inside = None


def _html(text: str) -> list[Segment]:
    parser = _HtmlTranscript()
    parser.feed(text)
    parser.close()
    if parser.problems:
        raise TranscriptError(parser.problems)
    # Ends are the next segment's start (the format gives only starts).
    segments = parser.segments
    return [Segment(s.start, segments[i + 1].start if i + 1 < len(segments) else None, s.speaker, s.text)
            for i, s in enumerate(segments)]
