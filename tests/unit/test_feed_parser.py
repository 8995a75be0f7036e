"""Unit tests for community.feed_parser (pure feed parsing, no app, no database)."""

from __future__ import annotations

import http.server
import re
import threading
import time
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import ClassVar

import pytest

from community.feed_parser import (
    FeedError,
    FeedItem,
    ParsedFeed,
    load_source,
    parse_feed_bytes,
)

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "feeds"
REPO_ROOT = Path(__file__).resolve().parents[2]
REAL_FEEDS = REPO_ROOT.parent / "shared" / "data" / "feeds"

ESCAPED_TAG = re.compile(r"&lt;/?[A-Za-z]")


def parse_fixture(name: str) -> ParsedFeed:
    return parse_feed_bytes((FIXTURES / name).read_bytes())


def by_title(feed: ParsedFeed) -> dict[str, FeedItem]:
    return {item.title: item for item in feed.items}


def assert_unique_identities(feed: ParsedFeed) -> None:
    identities = [item.identity for item in feed.items]
    assert len(identities) == len(set(identities))


# --------------------------------------------------------------------------- identities


def test_empty_guids_fall_back_to_enclosure_then_link_then_title_and_date():
    feed = parse_fixture("empty-guids.xml")
    assert feed.title == "Empty Guids Cast"
    assert feed.skipped == []
    identities = [item.identity for item in feed.items]
    assert identities == [
        "guid:https://example.org/?p=4",
        "enclosure:https://cdn.example.org/ep3.mp3",
        "link:https://example.org/2",
        "title:Episode 1: Nothing but a title and a date|2018-01-01T10:00:00+00:00",
    ]
    assert [item.guid for item in feed.items] == ["https://example.org/?p=4", None, None, None]


def test_guid_shared_by_several_items_is_used_by_none_of_them():
    feed = parse_fixture("duplicate-guids.xml")
    items = by_title(feed)
    assert items["Geekistry part 2"].identity == "enclosure:https://example.org/shows/geekistry-2.mp3"
    assert items["Geekistry part 1"].identity == "enclosure:https://example.org/shows/geekistry-1.mp3"
    # the guid itself is still reported, it just is not trusted as a key
    assert items["Geekistry part 1"].guid == "https://example.org/shows/geekistry-2.mp3"
    assert items["Unique guid"].identity == "guid:urn:example:unique"
    assert_unique_identities(feed)


def test_items_that_still_collide_are_skipped_as_duplicates():
    feed = parse_fixture("duplicate-guids.xml")
    # "Posted twice" appears twice with identical guid, enclosure, link, title and date
    twice = [item for item in feed.items if item.title == "Posted twice"]
    assert len(twice) == 1
    assert twice[0].identity == "title:Posted twice|2007-02-17T12:00:00+00:00"
    assert ("Posted twice", "duplicate of an earlier item") in feed.skipped


def test_item_without_title_and_enclosure_is_skipped_but_untitled_audio_is_kept():
    feed = parse_fixture("duplicate-guids.xml")
    assert ("(untitled)", "no title and no enclosure") in feed.skipped
    assert len(feed.skipped) == 2
    untitled = [item for item in feed.items if item.title.startswith("Untitled episode")]
    assert len(untitled) == 1
    assert untitled[0].title == "Untitled episode (2007-02-03)"
    assert untitled[0].audio_url == "https://example.org/shows/untitled.mp3"
    assert untitled[0].identity == "enclosure:https://example.org/shows/untitled.mp3"


def test_guid_in_cdata_is_read_and_trimmed():
    feed = parse_fixture("cdata-guid.xml")
    assert feed.title == "CDATA & Guids"
    assert [item.guid for item in feed.items] == [
        "c964777d603943dab53f36ccc17a742e",
        "9e1fad2466ecbccd86456e1efd58a64f",
    ]
    assert feed.items[0].identity == "guid:c964777d603943dab53f36ccc17a742e"
    assert feed.items[0].audio_url == "https://traffic.example.org/ep-2.mp3?dest-id=171666"


# --------------------------------------------------------------------------- numbers


def test_episode_numbers_from_itunes_episode_then_title():
    numbers = {item.title: item.number for item in parse_fixture("episode-numbers.xml").items}
    assert numbers == {
        "Delegate all the things!": 83,
        "Episode 5: itunes:episode wins": 7,
        "Episode 12: Colon form": 12,
        "SE-Radio Episode 248: Prefixed form": 248,
        "#42 Hash form": 42,
        "Ep. 9 - Dotted abbreviation": 9,
        "Ep 10 Bare abbreviation": 10,
        "No. 11 Numero form": 11,
        "Episode 0: About": 0,
        "Episode 123456: Too big to be real": None,
        "Huge itunes:episode": None,
        "Junk itunes:episode, Episode 14 in the title": 14,
        "What is new in C# 10 for 2 hosts": None,
        "A deep 3 hour conversation": None,
    }


# --------------------------------------------------------------------------- durations


def test_durations_in_every_format_missing_and_junk():
    durations = {item.title: item.duration_seconds for item in parse_fixture("durations.xml").items}
    assert durations == {
        "HH:MM:SS": 2 * 3600 + 18 * 60 + 38,
        "H:MM:SS": 3600 + 3 * 60 + 13,
        "MM:SS": 45 * 60 + 20,
        "M:SS": 5 * 60 + 23,
        "seconds": 3600,
        "fractional seconds": 3601,  # rounded half up
        "MM:SS over an hour": 75 * 60 + 30,
        "padded": 3599,
        "missing": None,
        "empty": None,
        "junk words": None,
        "junk seconds field": None,
        "junk minutes field": None,
        "negative": None,
        "zero": None,
        # Stored as they were, these failed the whole import (an integer column overflows).
        "over a week": None,
        "past any integer column": None,
    }


# --------------------------------------------------------------------------- dates


def test_dates_with_offsets_and_named_us_zones_become_aware_utc():
    dates = {item.title: item.published_at for item in parse_fixture("timezones.xml").items}
    expected = {
        "plus zero": datetime(2018, 6, 11, 1, 20, 48, tzinfo=UTC),
        "minus five": datetime(2018, 6, 11, 6, 20, 48, tzinfo=UTC),
        "PST": datetime(2016, 1, 28, 18, 6, 52, tzinfo=UTC),
        "PDT": datetime(2015, 7, 2, 17, 6, 52, tzinfo=UTC),
        "EST": datetime(2017, 1, 2, 15, 0, 0, tzinfo=UTC),
        "EDT": datetime(2017, 7, 3, 14, 0, 0, tzinfo=UTC),
        "GMT": datetime(2017, 7, 3, 10, 0, 0, tzinfo=UTC),
        "PST rolls over midnight": datetime(2006, 1, 21, 0, 0, 0, tzinfo=UTC),
        "no date": None,
        "junk date": None,
    }
    assert dates == expected
    for value in dates.values():
        if value is not None:
            assert value.tzinfo is not None
            assert value.utcoffset().total_seconds() == 0


# --------------------------------------------------------------------------- descriptions


def test_cdata_html_is_kept_raw_including_tracking_pixel():
    item = by_title(parse_fixture("descriptions.xml"))["CDATA HTML"]
    assert '<a href="https://example.org/x">a link</a>' in item.show_notes_html
    assert '<img src="https://feeds.example.org/~r/cast/~4/abc"' in item.show_notes_html
    assert item.summary == "Notes with a link."


def test_entity_escaped_html_becomes_real_tags():
    item = by_title(parse_fixture("descriptions.xml"))["Escaped HTML"]
    assert '<a href="https://example.org/js">JavaScript</a>' in item.show_notes_html
    assert "&lt;a" not in item.show_notes_html
    assert '<img src="https://feeds.example.org/~r/cast/~4/def"' in item.show_notes_html
    # "[&amp;#8230;]" in the XML is the HTML character reference "[&#8230;]"
    assert "[&#8230;]" in item.show_notes_html
    assert item.summary == "Johannes talks about JavaScript and more […]"


def test_double_escaped_html_and_references_are_unescaped():
    items = by_title(parse_fixture("descriptions.xml"))
    double = items["Double escaped HTML"]
    assert double.show_notes_html == '<p>Double <a href="https://example.org/d">escaped</a> notes</p>'
    assert double.summary == "Double escaped notes"
    ellipsis = items["Double escaped ellipsis in CDATA"]
    assert ellipsis.show_notes_html == "<p>Cut short [&#8230;]</p>"
    assert ellipsis.summary == "Cut short […]"


def test_content_encoded_wins_for_notes_and_itunes_summary_for_summary():
    items = by_title(parse_fixture("descriptions.xml"))
    item = items["content:encoded beats description, itunes:summary feeds the summary"]
    assert item.show_notes_html == "<p>Full <strong>notes</strong> here.</p>"
    assert item.summary == "The iTunes summary"
    escaped_summary = items["Escaped HTML in itunes:summary"]
    assert escaped_summary.summary == "Summary after an empty link."
    assert escaped_summary.show_notes_html == "Plain description"


def test_literal_escaped_code_inside_real_html_is_left_alone():
    item = by_title(parse_fixture("descriptions.xml"))["Code sample stays escaped"]
    assert item.show_notes_html == "<p>Use <code>&lt;div&gt;</code> wisely.</p>"
    assert item.summary == "Use <div> wisely."


def test_show_notes_are_not_sanitised_here_but_summary_is_plain_text():
    item = by_title(parse_fixture("descriptions.xml"))["Script is not removed here"]
    assert "<script>" in item.show_notes_html  # the caller's sanitiser removes it
    assert item.summary == "Hello"


def test_long_summary_is_cut_on_a_word_boundary():
    item = by_title(parse_fixture("descriptions.xml"))["Long description"]
    assert len(item.summary) <= 500
    assert item.summary.endswith("…")
    assert "\n" not in item.summary and "  " not in item.summary
    body = item.summary[:-1]
    full = " ".join(re.sub(r"<[^>]+>", " ", item.show_notes_html).split())
    assert full.startswith(body)
    assert full[len(body)] in " ,.;:"  # the cut fell between words


def test_missing_description_gives_empty_strings():
    item = by_title(parse_fixture("descriptions.xml"))["No description at all"]
    assert item.summary == ""
    assert item.show_notes_html == ""


# --------------------------------------------------------------------------- prologue quirks


def test_blank_line_before_xml_declaration():
    data = (FIXTURES / "leading-blank-line.xml").read_bytes()
    assert data.startswith(b"\n")
    feed = parse_feed_bytes(data)
    assert feed.title == "Blank Line Cast"
    assert len(feed.items) == 1
    assert feed.items[0].audio_url == "https://example.org/shows/only.mp3"  # audio/mp3


def test_bom_and_whitespace_before_xml_declaration():
    data = (FIXTURES / "bom-blank-line.xml").read_bytes()
    assert data.startswith(b"\xef\xbb\xbf\r\n")
    feed = parse_feed_bytes(data)
    assert feed.title == "BOM Cast — café"
    assert [item.identity for item in feed.items] == ["guid:bom-1"]


def test_stylesheet_processing_instructions_before_rss():
    feed = parse_fixture("stylesheet-pi.xml")
    assert feed.title == "Stylesheet Cast"
    assert [(item.number, item.duration_seconds) for item in feed.items] == [(2, 3793), (1, 323)]
    assert feed.items[1].identity == "enclosure:https://feeds.example.org/~r/cast/~5/one.mp3"
    assert feed.items[0].published_at == datetime(2016, 1, 28, 18, 6, 52, tzinfo=UTC)


# --------------------------------------------------------------------------- enclosures


def test_non_standard_enclosure_types():
    audio = {item.title: item.audio_url for item in parse_fixture("enclosure-types.xml").items}
    assert audio == {
        "x-audio/mp3": "https://example.org/shows/e1.mp3",
        "audio/mp3": "https://example.org/shows/e2.mp3",
        "video first, audio second": "https://example.org/shows/e3-audio",
        "octet-stream but .m4a": "https://example.org/shows/e4.M4A?dl=1",
        "no type, .ogg": "https://example.org/shows/e5.ogg",
        "upper-case type": "https://example.org/shows/e6",
        "only a picture": None,
        "javascript URL is no audio": None,
    }


# --------------------------------------------------------------------------- Atom


def test_minimal_atom_feed():
    feed = parse_fixture("atom.xml")
    assert feed.title == "Atom Cast"
    first, second = feed.items
    assert first.identity == "guid:urn:example:e3"
    assert first.number == 3
    assert first.published_at == datetime(2020, 1, 1, 9, 0, tzinfo=UTC)
    assert first.audio_url == "https://example.org/3.mp3"
    assert first.link == "https://example.org/3"
    assert first.duration_seconds == 754
    assert first.show_notes_html == '<p>Hi <a href="https://example.org/x">there</a></p>'
    assert first.summary == "Short & sweet"
    # no <published>: fall back to <updated>
    assert second.published_at == datetime(2019, 12, 24, 8, 30, tzinfo=UTC)
    assert second.audio_url is None
    assert second.summary == "Just a summary."


# --------------------------------------------------------------------------- errors


def test_html_page_is_not_a_feed():
    with pytest.raises(FeedError) as info:
        parse_fixture("page.html")
    assert "HTML" in str(info.value)
    assert str(info.value).startswith("not a feed")


def test_malformed_xml_without_entries_is_an_error_with_line_number():
    with pytest.raises(FeedError) as info:
        parse_fixture("malformed.xml")
    message = str(info.value)
    assert message.startswith("malformed feed: ")
    assert "mismatched tag" in message and "line 4" in message
    assert "\n" not in message


def test_malformed_line_number_counts_stripped_blank_lines():
    data = b"\n\n" + (FIXTURES / "malformed.xml").read_bytes()
    with pytest.raises(FeedError, match="line 6"):
        parse_feed_bytes(data)


def test_truncated_feed_is_refused_rather_than_half_imported():
    with pytest.raises(FeedError, match="^malformed feed: "):
        parse_fixture("truncated.xml")


@pytest.mark.parametrize("name", ["empty.xml", "whitespace-only.xml"])
def test_empty_file(name):
    with pytest.raises(FeedError, match="^empty file$"):
        parse_fixture(name)


def test_empty_bytes():
    with pytest.raises(FeedError, match="^empty file$"):
        parse_feed_bytes(b"")


def test_json_is_not_a_feed():
    with pytest.raises(FeedError, match=r"^not a feed: .*JSON"):
        parse_fixture("feed.json")


def test_xml_that_is_not_a_feed():
    with pytest.raises(FeedError, match=r"^not a feed: .*<catalog>"):
        parse_fixture("not-a-feed.xml")


def test_plain_text_is_not_a_feed():
    with pytest.raises(FeedError, match="^not a feed"):
        parse_feed_bytes(b"hello, this is not XML\n")


def test_valid_channel_without_items_is_not_an_error():
    feed = parse_fixture("empty-channel.xml")
    assert feed == ParsedFeed(title="Nothing Yet", items=[], skipped=[])


def test_feed_error_message_is_one_line():
    assert str(FeedError("malformed feed:\n  something\tbad ")) == "malformed feed: something bad"


# --------------------------------------------------------------------------- load_source


def test_load_source_reads_a_file_path():
    path = FIXTURES / "atom.xml"
    assert load_source(str(path)) == path.read_bytes()


def test_load_source_missing_file(tmp_path):
    missing = tmp_path / "x.xml"
    with pytest.raises(FeedError) as info:
        load_source(str(missing))
    assert str(info.value) == f"no such file: {missing}"


def test_load_source_directory(tmp_path):
    with pytest.raises(FeedError, match="^not a file"):
        load_source(str(tmp_path))


def test_load_source_rejects_other_url_schemes():
    with pytest.raises(FeedError, match="unsupported URL scheme"):
        load_source("ftp://example.org/feed.xml")


class _FixtureHandler(http.server.SimpleHTTPRequestHandler):
    seen_user_agents: ClassVar[list[str]] = []

    def do_GET(self):
        type(self).seen_user_agents.append(self.headers.get("User-Agent", ""))
        if self.path == "/slow.xml":
            time.sleep(1.0)
        super().do_GET()

    def log_message(self, format, *args):  # keep pytest output quiet
        pass


class _QuietServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):  # the timeout test hangs up on purpose
        pass


@pytest.fixture
def feed_server(monkeypatch):
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    _FixtureHandler.seen_user_agents = []
    handler = partial(_FixtureHandler, directory=str(FIXTURES))
    server = _QuietServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_load_source_fetches_http_with_user_agent(feed_server):
    data = load_source(f"{feed_server}/stylesheet-pi.xml", timeout=5)
    assert data == (FIXTURES / "stylesheet-pi.xml").read_bytes()
    assert _FixtureHandler.seen_user_agents == ["GI-Community/1.0"]
    assert parse_feed_bytes(data).title == "Stylesheet Cast"


def test_load_source_http_error(feed_server):
    with pytest.raises(FeedError, match=r"^HTTP 404 "):
        load_source(f"{feed_server}/nope.xml", timeout=5)


def test_load_source_http_timeout(feed_server):
    with pytest.raises(FeedError, match="timed out"):
        load_source(f"{feed_server}/slow.xml", timeout=0.3)


def test_load_source_connection_refused():
    import socket

    with socket.socket() as sock:  # find a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(FeedError, match="^cannot fetch "):
        load_source(f"http://127.0.0.1:{port}/feed.xml", timeout=2)


# --------------------------------------------------------------------------- real feeds


def _real_feed(name: str) -> ParsedFeed:
    if not REAL_FEEDS.is_dir():
        pytest.skip(f"real feeds not available at {REAL_FEEDS}")
    return parse_feed_bytes(load_source(str(REAL_FEEDS / name)))


def _assert_sane(feed: ParsedFeed) -> None:
    assert_unique_identities(feed)
    for item in feed.items:
        assert item.published_at is not None and item.published_at.tzinfo is not None
        assert not ESCAPED_TAG.search(item.show_notes_html), item.title
        assert len(item.summary) <= 500
        assert item.audio_url and item.audio_url.startswith(("http://", "https://"))


def test_real_feed_coding_blocks():
    feed = _real_feed("coding-blocks.xml")
    assert feed.title == "Coding Blocks Podcast"
    assert len(feed.items) == 83
    assert feed.skipped == []
    assert sorted(item.number for item in feed.items) == list(range(1, 84))
    assert all(item.identity.startswith("guid:") for item in feed.items)
    assert sum(item.duration_seconds is not None for item in feed.items) == 83
    assert sum("<a " in item.show_notes_html for item in feed.items) >= 20
    _assert_sane(feed)


def test_real_feed_se_radio():
    feed = _real_feed("se-radio.xml")
    assert feed.title.startswith("Software Engineering Radio")
    assert len(feed.items) == 249
    assert feed.skipped == []
    numbered = [item.number for item in feed.items if item.number is not None]
    assert len(numbered) >= 240
    assert len(set(numbered)) == len(numbered)
    assert sum(item.duration_seconds is not None for item in feed.items) >= 240
    # 166 items have an empty <guid/>: they fall back to the (unique) enclosure URL
    assert sum(item.identity.startswith("enclosure:") for item in feed.items) == 166
    newest = feed.items[0]
    assert newest.number == 248
    assert newest.published_at == datetime(2016, 1, 28, 18, 6, 52, tzinfo=UTC)
    assert "<img src=" in newest.show_notes_html  # FeedBurner pixel kept for the sanitiser
    assert "&lt;" not in newest.summary and "<" not in newest.summary
    oldest = feed.items[-1]
    assert oldest.number == 0
    assert oldest.published_at == datetime(2006, 1, 21, 0, 0, tzinfo=UTC)  # 16:00 PST
    _assert_sane(feed)


# --------------------------------------------------------------------------- Podcasting 2.0 and iTunes tags


def test_podcast_namespace_people_images_chapters_and_transcripts():
    feed = parse_fixture("podcast-namespace.xml")
    assert feed.image_url == "https://img.example.org/gdd/show.jpg"
    assert [(p.name, p.role, p.group, p.href) for p in feed.persons] == [
        ("Mara Quell", "host", "cast", "https://example.org/people/mara-quell"),  # no role: host, as the spec says
        ("Theo Brandt", "co-host", "cast", "https://example.org/people/theo-brandt"),  # role is case-insensitive
    ]
    first, second, third = feed.items
    assert first.image_url == "https://img.example.org/gdd/ep1.jpg" and second.image_url is None
    assert [(p.name, p.role) for p in first.persons] == [
        ("Mara Quell", "host"), ("Iris Okafor-Lind", "guest"), ("Sam Varga", "guest"), ("Pim Roelofs", "audio editor")]
    assert first.persons[1].img == "https://img.example.org/people/iris.jpg"
    assert first.persons[3].group == "audio post-production"
    assert second.persons == []  # the channel's people apply (the importer's business)
    assert [p.name for p in third.persons][1] == "IRIS OKAFOR-LIND"  # spacing folded, case kept
    assert (first.chapters_url, first.chapters_type) == ("http://127.0.0.1:9/chapters/ep1.json",
                                                         "application/json+chapters")
    assert second.chapters_url is None
    # WebVTT beats SubRip and HTML; no language attribute means the channel's <language>.
    assert (first.transcript.url, first.transcript.type, first.transcript.language) == (
        "http://127.0.0.1:9/transcripts/ep1.vtt", "text/vtt", "en")
    assert second.transcript.language == "de" and third.transcript is None


def test_the_github_address_of_the_namespace_counts_as_the_namespace():
    data = (FIXTURES / "podcast-namespace.xml").read_bytes().replace(
        b"https://podcastindex.org/namespace/1.0", b"https://github.com/Podcastindex-org/podcast-namespace/blob/main/docs/1.0.md")
    assert [p.name for p in parse_feed_bytes(data).persons] == ["Mara Quell", "Theo Brandt"]


def test_blank_people_and_transcripts_without_type_are_ignored():
    data = b"""<?xml version="1.0"?><rss version="2.0" xmlns:podcast="https://podcastindex.org/namespace/1.0">
<channel><title>T</title><item><title>One</title><guid>1</guid>
<podcast:person role="guest">   </podcast:person>
<podcast:transcript url="https://example.org/t.txt"/>
<podcast:transcript url="javascript:alert(1)" type="text/html"/>
<podcast:chapters url="ftp://example.org/c.json" type="application/json+chapters"/>
</item></channel></rss>"""
    item = parse_feed_bytes(data).items[0]
    assert item.persons == [] and item.transcript is None and item.chapters_url is None


def test_atom_feeds_still_parse_without_the_podcast_tags():
    feed = parse_fixture("atom.xml")
    assert feed.items and all(i.persons == [] and i.transcript is None for i in feed.items)


def test_json_chapters_are_sorted_and_silent_ones_left_out():
    from community.feed_parser import parse_chapters

    data = b'''{"version": "1.2.0", "chapters": [
        {"startTime": 90, "title": "Second", "url": "https://example.org/a", "img": "javascript:x"},
        {"startTime": 0, "title": "First"},
        {"startTime": 30, "toc": false, "title": "Silent"},
        {"startTime": -1, "title": "Negative"}, {"startTime": "12", "title": "A string"}, {"title": "No start"}]}'''
    assert parse_chapters(data) == [{"start": 0.0, "title": "First"},
                                     {"start": 90.0, "title": "Second", "url": "https://example.org/a"}]


@pytest.mark.parametrize("data", [b"not json", b"[]", b'{"version": "1.2.0"}', b"\xff\xfe"])
def test_bad_chapters_files_raise_one_line_errors(data):
    from community.feed_parser import parse_chapters

    with pytest.raises(FeedError) as error:
        parse_chapters(data)
    assert "\n" not in str(error.value) and "chapters" in str(error.value)
