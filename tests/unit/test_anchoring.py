"""Anchors survive a corrected transcript (issue 24): 200 anchors on a synthetic hour-long
transcript, then a revision that fixes words, inserts a sentence and shifts every later
time by an inserted ad. At least 99% must land on the right words; the rest are marked
drifted with their quote; none disappear. The transcript is generated (no real person's
words)."""

from __future__ import annotations

import random
from dataclasses import replace

import pytest

from community import anchoring
from community.transcripts import Segment

VOCABULARY = ("model data scaling loss gradient layer token attention memory policy reward agent "
              "benchmark paper result baseline noise signal prior posterior sample batch optimizer "
              "curve regime compute budget theory proof intuition experiment ablation dataset label "
              "feature representation embedding vision language robot simulator planner search tree "
              "value estimate bias variance kernel network weight update step schedule warmup decay "
              "the a of to in that we it was is for on with as but not so then just really think "
              "because when which what how why where there here very quite much more less often").split()
SPEAKERS = ("Ada Example", "Sam Sample")


def transcript(seed: int = 7, sentences: int = 600) -> list[Segment]:
    rng = random.Random(seed)
    segments, clock = [], 0.0
    for n in range(sentences):
        words = [rng.choice(VOCABULARY) for _ in range(rng.randint(8, 20))]
        length = len(words) * 0.4
        segments.append(Segment(round(clock, 3), round(clock + length, 3), SPEAKERS[n % 7 == 0],
                                " ".join(words).capitalize() + "."))
        clock += length + 0.2
    return segments


def _words(segment: Segment) -> list[str]:
    return segment.text.split(" ")


def test_two_hundred_anchors_survive_a_corrected_revision():
    rng = random.Random(11)
    old = transcript()
    old_text = anchoring.Text.of(old)

    # 200 selections of 3-10 whole words inside one sentence, remembered by word position.
    picks = []
    for _ in range(200):
        index = rng.randrange(len(old))
        words = _words(old[index])
        first = rng.randrange(0, len(words) - 3)
        last = min(len(words), first + rng.randint(3, 10))
        picks.append((index, first, last))

    def span(segments, text, index, first, last):
        start = text.offsets[index] + len(" ".join(_words(segments[index])[:first])) + (1 if first else 0)
        return start, start + len(" ".join(_words(segments[index])[first:last]))

    anchors = [anchoring.make(old_text, *span(old, old_text, *pick)) for pick in picks]

    # The revision: one word fixed in every tenth sentence, a sentence inserted at 300, and
    # 45 s of advertising before sentence 200 (every later time shifts).
    revised, fixed = [], {}
    for index, segment in enumerate(old):
        words = _words(segment)
        if index % 10 == 3:
            at = rng.randrange(len(words) - 1)
            words = words[:at] + ["correctedword"] + words[at + 1:]
            fixed[index] = at
        shift = 45.0 if index >= 200 else 0.0
        revised.append(replace(segment, text=" ".join(words), start=segment.start + shift, end=segment.end + shift))
    revised.insert(300, Segment(revised[299].end + 0.1, revised[299].end + 3, SPEAKERS[0], "An inserted sentence about nothing."))
    new_text = anchoring.Text.of(revised)

    right, drifted, wrong = 0, 0, []
    for pick, anchor in zip(picks, anchors):
        index, first, last = pick
        new_index = index + (index >= 300)
        expected = span(revised, new_text, new_index, first, last)
        moved = anchoring.reanchor(anchor, len(old_text.text), new_text)
        if moved.drifted:
            drifted += 1
            assert moved.quote == anchor.quote  # kept as it was, to show
        elif (moved.start, moved.end) == expected:
            right += 1
            assert moved.time_start == revised[new_index].start  # times follow the ad
        else:
            wrong.append((anchor.quote, new_text.text[moved.start:moved.end], new_text.text[slice(*expected)]))
    print(f"re-anchored: {right} on the right words, {drifted} drifted, {len(wrong)} wrong")
    assert right + drifted + len(wrong) == 200  # none disappear
    assert right >= 198, (right, drifted, wrong[:5])
    assert not wrong, wrong[:5]  # what is not found is marked drifted, never moved onto other words


def test_a_quote_that_appears_twice_goes_where_its_context_says():
    segments = [Segment(0, 2, "", "We tried the obvious thing first."), Segment(2, 4, "", "It failed badly."),
                Segment(4, 6, "", "Then we tried the obvious thing again."), Segment(6, 8, "", "It worked.")]
    text = anchoring.Text.of(segments)
    second = text.text.rindex("the obvious thing")
    anchor = anchoring.make(text, second, second + len("the obvious thing"))
    revision = anchoring.Text.of([Segment(0, 1, "", "Intro."), *segments])
    moved = anchoring.reanchor(anchor, len(text.text), revision)
    assert revision.text[moved.start:moved.end] == "the obvious thing"
    assert revision.text[moved.start - 9:moved.start] == "we tried " and moved.time_start == 4


def test_a_quote_whose_words_are_gone_is_drifted_not_lost():
    text = anchoring.Text.of([Segment(0, 3, "", "The learning rate was ten to the minus three.")])
    anchor = anchoring.make(text, 4, 17)  # "learning rate"
    revision = anchoring.Text.of([Segment(0, 3, "", "Completely different words are here now.")])
    moved = anchoring.reanchor(anchor, len(text.text), revision)
    assert moved.drifted and moved.quote == "learning rate" and moved.time_start == 0


def test_a_selection_outside_the_text_is_refused():
    text = anchoring.Text.of([Segment(0, 1, "", "Short.")])
    with pytest.raises(ValueError):
        anchoring.make(text, 3, 99)
