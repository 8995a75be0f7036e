"""Anchors on transcript text that survive corrections (a leaf: imports nothing of ours).

An anchor is kept the way the W3C Web Annotation model keeps a selection: the exact quote
with a little text before and after it (TextQuoteSelector), its character position in the
transcript (TextPositionSelector), and the media time range. When a transcript gets a new
revision (words fixed, a sentence inserted, every time shifted by an inserted ad), each
anchor is found again in this order:

1. the exact quote, once: there it is; several times: the occurrence whose surrounding
   text and relative position agree best;
2. else the closest approximate match of the quote near where it should be (rapidfuzz's
   partial alignment over a window around the expected position), accepted when it is
   similar enough and its context agrees;
3. else the anchor is *drifted*: kept with its original quote and shown as such, never
   dropped (Hypothesis's "orphans" are what this avoids losing silently).

The new time range is read off the segments the new span falls in."""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass

from rapidfuzz import fuzz

CONTEXT = 32  # characters of prefix and suffix kept with a quote
MIN_SIMILARITY = 80.0  # rapidfuzz ratio (0-100) for an approximate match
WINDOW = 3000  # characters either side of the expected position searched for an approximate match


@dataclass(frozen=True)
class Anchor:
    quote: str
    prefix: str
    suffix: str
    start: int  # character offsets in the revision's text
    end: int
    time_start: float | None = None
    time_end: float | None = None
    drifted: bool = False


@dataclass(frozen=True)
class Text:
    """A revision as one string: segment texts joined by single spaces, with where each starts."""

    text: str
    offsets: tuple[int, ...]
    times: tuple[tuple[float, float | None], ...]

    @classmethod
    def of(cls, segments) -> Text:
        parts, offsets, times, at = [], [], [], 0
        for segment in segments:
            offsets.append(at)
            times.append((segment.start, segment.end))
            parts.append(segment.text)
            at += len(segment.text) + 1
        return cls(" ".join(parts), tuple(offsets), tuple(times))

    def time_range(self, start: int, end: int) -> tuple[float | None, float | None]:
        if not self.offsets:
            return None, None
        first = max(0, bisect_right(self.offsets, start) - 1)
        last = max(0, bisect_right(self.offsets, max(start, end - 1)) - 1)
        return self.times[first][0], self.times[last][1]


def make(revision: Text, start: int, end: int) -> Anchor:
    """An anchor on revision.text[start:end] (what a reader selected)."""
    if not 0 <= start < end <= len(revision.text):
        raise ValueError("the selection is not inside the transcript")
    time_start, time_end = revision.time_range(start, end)
    return Anchor(revision.text[start:end], revision.text[max(0, start - CONTEXT):start],
                  revision.text[end:end + CONTEXT], start, end, time_start, time_end)


def _context_score(anchor: Anchor, text: str, start: int, end: int) -> float:
    before = text[max(0, start - len(anchor.prefix)):start]
    after = text[end:end + len(anchor.suffix)]
    scores = [fuzz.ratio(anchor.prefix, before) if anchor.prefix else 100.0,
              fuzz.ratio(anchor.suffix, after) if anchor.suffix else 100.0]
    return sum(scores) / 2


def _moved(anchor: Anchor, revision: Text, start: int, end: int) -> Anchor:
    time_start, time_end = revision.time_range(start, end)
    return Anchor(anchor.quote, anchor.prefix, anchor.suffix, start, end, time_start, time_end)


def reanchor(anchor: Anchor, old_length: int, revision: Text) -> Anchor:
    """Where `anchor` (made on a text of `old_length` characters) is in `revision`."""
    text = revision.text
    expected = round(anchor.start * len(text) / old_length) if old_length else 0
    occurrences, at = [], text.find(anchor.quote)
    while at != -1 and anchor.quote:
        occurrences.append(at)
        at = text.find(anchor.quote, at + 1)
    if occurrences:
        def fit(position: int) -> tuple[float, float]:
            return (_context_score(anchor, text, position, position + len(anchor.quote)), -abs(position - expected))
        best = max(occurrences, key=fit)
        return _moved(anchor, revision, best, best + len(anchor.quote))

    found = _between_context(anchor, text, expected) or _approximate(anchor, text, expected)
    if found is not None:
        return _moved(anchor, revision, *found)
    return Anchor(anchor.quote, anchor.prefix, anchor.suffix, anchor.start, anchor.end,
                  anchor.time_start, anchor.time_end, drifted=True)


def _between_context(anchor: Anchor, text: str, expected: int) -> tuple[int, int] | None:
    """The words were corrected but what surrounds them was not: the span between the
    unchanged prefix and suffix, nearest the expected place, if it still resembles the quote."""
    before, after = anchor.prefix[-16:], anchor.suffix[:16]
    if len(before) < 8 or len(after) < 8:
        return None
    best = None
    at = text.find(before, max(0, expected - WINDOW))
    while at != -1 and at <= expected + WINDOW:
        start = at + len(before)
        end = text.find(after, start, start + 2 * len(anchor.quote) + 40)
        if end > start:
            span = _trimmed(text, start, end)
            if fuzz.ratio(anchor.quote, text[span[0]:span[1]]) >= 50:
                distance = abs(start - expected)
                if best is None or distance < best[0]:
                    best = (distance, span)
        at = text.find(before, at + 1)
    return best[1] if best else None


def _approximate(anchor: Anchor, text: str, expected: int) -> tuple[int, int] | None:
    """Whole-word spans near the expected place, the one most like the quote (context breaking
    ties), if it is similar enough."""
    low = max(0, expected - WINDOW)
    window = text[low:expected + WINDOW + len(anchor.quote)]
    rough = fuzz.partial_ratio_alignment(anchor.quote, window, score_cutoff=MIN_SIMILARITY - 10)
    if rough is None:
        return None
    # Word starts and ends around the rough alignment; try every pair a few words either side.
    starts = [i for i in range(max(0, low + rough.dest_start - 40), min(len(text), low + rough.dest_start + 40))
              if not text[i].isspace() and (i == 0 or text[i - 1].isspace())]
    ends = [i for i in range(max(1, low + rough.dest_end - 40), min(len(text), low + rough.dest_end + 40) + 1)
            if not text[i - 1].isspace() and (i == len(text) or text[i].isspace())]
    best, best_score = None, MIN_SIMILARITY
    for start in starts:
        for end in ends:
            if end <= start:
                continue
            score = fuzz.ratio(anchor.quote, text[start:end]) + _context_score(anchor, text, start, end) / 100
            if score >= best_score:
                best, best_score = (start, end), score
    return best


def _trimmed(text: str, start: int, end: int) -> tuple[int, int]:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return start, end
