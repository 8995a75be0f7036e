"""Transcript files in each format the podcast world uses (issue 24): real-format fixtures
in tests/fixtures/transcripts/, plus the awkward cases: voice tags, overlapping cues, an
hour-long file, a byte-order mark, CRLF, and malformed cues reported by line with nothing
half-imported."""

from __future__ import annotations

from pathlib import Path

import pytest

from community.transcripts import Segment, TranscriptError, parse

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "transcripts"


def test_webvtt_with_voice_tags_settings_and_overlapping_cues():
    segments = parse((FIXTURES / "sample.vtt").read_bytes(), "text/vtt")
    assert segments == [
        Segment(0.0, 4.2, "Ada Example", "Welcome back. Today we talk about scaling laws."),
        Segment(4.2, 9.75, "Sam Sample", "Thanks for having me. I think the curves bend earlier than people expect."),
        Segment(9.0, 11.5, "Ada Example", "Wait, earlier?"),  # overlaps the one before: kept, in order
        Segment(11.5, 3602.125, "Sam Sample", "Yes & that is the surprise."),
    ]


def test_a_byte_order_mark_and_crlf_change_nothing():
    plain = (FIXTURES / "sample.vtt").read_text()
    windows = ("\ufeff" + plain.replace("\n", "\r\n")).encode("utf-8")
    assert parse(windows, "vtt") == parse(plain, "vtt")


def test_an_hour_long_webvtt_file():
    cues = ["WEBVTT", ""]
    for n in range(3600):
        cues += [f"{n // 3600:02d}:{n // 60 % 60:02d}:{n % 60:02d}.000 --> {(n + 1) // 3600:02d}:{(n + 1) // 60 % 60:02d}:{(n + 1) % 60:02d}.000",
                 f"<v Speaker {n % 2}>Sentence number {n}.", ""]
    segments = parse("\n".join(cues), "vtt")
    assert len(segments) == 3600
    assert segments[-1] == Segment(3599.0, 3600.0, "Speaker 1", "Sentence number 3599.")


def test_malformed_cues_are_reported_by_line_and_nothing_is_taken():
    with pytest.raises(TranscriptError) as refused:
        parse((FIXTURES / "malformed.vtt").read_bytes(), "vtt")
    problems = refused.value.problems
    assert [p.split(":")[0] for p in problems] == ["line 6", "line 9", "line 15"]
    assert "ends before it starts" in problems[1]


@pytest.mark.parametrize("data, kind, says", [
    (b"\xff\xfe\x00bad", "vtt", "not UTF-8"),
    ("Just some text", "vtt", "starts with WEBVTT"),
    ("WEBVTT\n\n", "vtt", "no cues"),
    ("WEBVTT\n\n00:00:01.000 --> 00:00:02.000\n\n", "vtt", "no text after it"),
    ("{not json", "json", "line 1: not JSON"),
    ('{"segments": [{"startTime": "soon", "body": "x"}]}', "json", "segment 1: startTime"),
    ('{"segments": [{"startTime": 3, "endTime": 1, "body": "x"}]}', "json", "segment 1: endTime"),
    ("<time>soon</time><p>x</p>", "html", "not a time"),
    ("<p>No time given.</p>", "html", "no <time> before it"),
    ("1\n00:00:01,000 -> 00:00:02,000\nx\n", "srt", "line 2: not a subtitle timing"),
    ("Some text", "text/plain", "unknown transcript format"),
])
def test_what_cannot_be_read_says_why(data, kind, says):
    with pytest.raises(TranscriptError) as refused:
        parse(data, kind)
    assert says in str(refused.value)


def test_srt_with_speaker_prefixes_tags_and_crlf():
    segments = parse((FIXTURES / "sample.srt").read_bytes(), "application/x-subrip")
    assert segments == [
        Segment(0.0, 3.5, "Ada Example", "Welcome back to the show."),
        Segment(3.5, 7.0, "Sam Sample", "Thanks. Let us talk about priors."),
        Segment(6.5, 9.0, "", "A line with no speaker named."),
    ]


def test_podcasting_2_json():
    segments = parse((FIXTURES / "sample.json").read_bytes(), "application/json")
    assert segments == [Segment(0.0, 2.5, "Ada Example", "Welcome back."), Segment(2.5, 5.25, "Sam Sample", "Glad to be here."),
                        Segment(5.25, 7.0, "", "No speaker on this one.")]


def test_podcasting_2_html():
    segments = parse((FIXTURES / "sample.html").read_bytes(), "text/html")
    assert segments == [
        Segment(0.0, 65.0, "Ada Example", "Welcome back to the show."),
        Segment(65.0, 3723.0, "Sam Sample", "Thanks — glad to be here."),
        Segment(3723.0, None, "Sam Sample", "And one more thought, an hour in."),
    ]
