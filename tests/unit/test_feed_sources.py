"""Feed import of the Podcasting 2.0 tags and feed sources, against a real local HTTP server:
`flask feeds add` / `flask feeds refresh` (what the hourly timer runs) and `flask import-feed`.

The fixture feed (tests/fixtures/feeds/podcast-namespace.xml) names fictional people only."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from community.extensions import db
from community.models import AdminLogEntry, Appearance, AppearanceRole, Episode, FeedSource, Person
from tests import feed_server


@pytest.fixture
def server():
    state, stop = feed_server.start()
    yield state
    stop()


def cli(app, *args):
    return app.test_cli_runner().invoke(args=list(args))


def add_and_refresh(app, server):
    added = cli(app, "feeds", "add", server.feed_url)
    assert added.exit_code == 0, added.output
    result = cli(app, "feeds", "refresh")
    assert result.exit_code == 0, result.output
    return result


def people() -> dict[str, Person]:
    return {p.name: p for p in db.session.scalars(select(Person))}


def cast(number: int) -> set[tuple[str, AppearanceRole]]:
    episode = db.session.scalar(select(Episode).where(Episode.number == number))
    return {(a.person.name, a.role) for a in db.session.scalars(select(Appearance).where(Appearance.episode_id == episode.id))}


def test_a_feed_with_podcast_tags_imports_people_images_chapters_and_transcripts(app, server):
    result = add_and_refresh(app, server)
    assert "imported" in result.output and "created 3" in result.output

    found = people()
    assert set(found) == {"Mara Quell", "Theo Brandt", "Iris Okafor-Lind", "Sam Varga"}  # the editor is left out
    assert found["Iris Okafor-Lind"].image_url == "https://img.example.org/people/iris.jpg"
    assert found["Iris Okafor-Lind"].links == ["https://example.org/people/iris"]
    assert found["Mara Quell"].image_url == "https://img.example.org/people/mara.jpg"  # from the channel's tag

    # Item-level people replace the channel's (the spec); an item without any gets the channel's.
    assert cast(1) == {("Mara Quell", AppearanceRole.host), ("Iris Okafor-Lind", AppearanceRole.guest),
                       ("Sam Varga", AppearanceRole.guest)}
    assert cast(2) == {("Mara Quell", AppearanceRole.host), ("Theo Brandt", AppearanceRole.cohost)}
    # Folded name ("IRIS  OKAFOR-LIND") and link ("Samuel Varga", same page) find the same people.
    assert cast(3) == {("Mara Quell", AppearanceRole.host), ("Iris Okafor-Lind", AppearanceRole.guest),
                       ("Sam Varga", AppearanceRole.guest)}

    first, second = (db.session.scalar(select(Episode).where(Episode.number == n)) for n in (1, 2))
    assert first.image_url == "https://img.example.org/gdd/ep1.jpg"
    assert second.image_url == "https://img.example.org/gdd/show.jpg"  # no item image: the show's
    assert first.chapters_url == f"{server.base}/chapters/ep1.json"
    assert first.chapters == [
        {"start": 0.0, "title": "Introductions"},
        {"start": 754.5, "title": "Batch size and sharpness", "url": "https://example.org/notes/batch-size",
         "img": "https://img.example.org/gdd/ch2.jpg"},
        {"start": 3605.0, "title": "What we would tell a new student"},  # the toc:false marker is not listed
    ]
    # Three transcripts: the timed WebVTT one is kept, in the feed's language, and only it is
    # fetched (by a job: tests/unit/test_transcript_fetch.py).
    assert (first.transcript_url, first.transcript_type, first.transcript_language) == (
        f"{server.base}/transcripts/ep1.vtt", "text/vtt", "en")
    assert (second.transcript_type, second.transcript_language) == ("application/json", "de")
    assert {path for path in server.requests if path.startswith("/transcripts/")} == {
        "/transcripts/ep1.vtt", "/transcripts/ep2.json"}

    source = db.session.scalar(select(FeedSource))
    assert source.last_status == "imported" and source.last_error is None and source.last_checked_at is not None
    assert source.last_counts["unknown_roles"] == {"audio editor": 1}
    assert source.last_counts["people_created"] == 4 and source.last_counts["appearances_added"] == 8


def test_reimport_creates_no_duplicates(app, server):
    add_and_refresh(app, server)
    before = (db.session.scalar(select(func.count(Person.id))), db.session.scalar(select(func.count(Appearance.id))))
    server.set_feed(server.feed.decode().replace("A fictional show", "A fictional show, renamed"))  # a new ETag
    result = cli(app, "feeds", "refresh")
    assert "created 0, updated 0, unchanged 3" in result.output, result.output
    assert server.bodies[feed_server.FEED_PATH] == 2  # it was really fetched and parsed again
    after = (db.session.scalar(select(func.count(Person.id))), db.session.scalar(select(func.count(Appearance.id))))
    assert after == before == (4, 8)
    assert server.requests["/chapters/ep1.json"] == 1  # stored chapters are not fetched again


def test_existing_people_are_matched_by_folded_name_and_by_link(app, server, factories):
    factories.episode(90, "An older episode", guests=[("Íris Okafor-Lind", "Somewhere Institute")])
    sam = Person(name="S. Varga", name_key="s. varga", links=["https://EXAMPLE.org/people/sam-varga"])
    db.session.add(sam)
    db.session.commit()
    add_and_refresh(app, server)
    found = people()
    assert "Iris Okafor-Lind" not in found and found["Íris Okafor-Lind"].affiliation == "Somewhere Institute"
    assert found["Íris Okafor-Lind"].image_url == "https://img.example.org/people/iris.jpg"  # filled in
    assert "Sam Varga" not in found and "Samuel Varga" not in found
    assert ("S. Varga", AppearanceRole.guest) in cast(1) and ("S. Varga", AppearanceRole.guest) in cast(3)


@pytest.mark.parametrize("validators", ["etag", "last-modified"])
def test_an_unchanged_feed_is_answered_304_and_no_body_is_fetched(app, validators):
    server, stop = feed_server.start(validators=validators)
    try:
        add_and_refresh(app, server)
        again = cli(app, "feeds", "refresh")
        assert again.exit_code == 0 and "not modified (304)" in again.output, again.output
        assert server.requests[feed_server.FEED_PATH] == 2
        assert server.bodies[feed_server.FEED_PATH] == 1  # the second answer carried no body
        if_none_match, if_modified_since = server.conditional_headers[1]
        if validators == "etag":
            assert if_none_match.startswith('"') and if_modified_since is None
        else:
            assert if_none_match is None and if_modified_since.endswith("GMT")
        db.session.expire_all()
        source = db.session.scalar(select(FeedSource))
        assert source.last_status == "not modified (304)" and source.last_error is None
        assert db.session.scalar(select(func.count(Episode.id))) == 3
    finally:
        stop()


def test_a_failing_feed_records_its_error_and_the_command_fails(app, server):
    cli(app, "feeds", "add", server.feed_url)
    server.fail = 500
    result = cli(app, "feeds", "refresh")
    assert result.exit_code != 0
    assert "HTTP 500" in result.output and "1 of 1 feeds failed" in result.output
    source = db.session.scalar(select(FeedSource))
    assert source.last_status == "failed" and "HTTP 500" in source.last_error
    assert db.session.scalar(select(func.count(Episode.id))) == 0
    server.fail = None  # fixed: the next refresh imports and clears the error
    assert cli(app, "feeds", "refresh").exit_code == 0
    db.session.expire_all()
    source = db.session.scalar(select(FeedSource))
    assert source.last_error is None and source.last_status == "imported"


def test_a_chapters_file_that_fails_is_reported_not_fatal(app, server):
    server.set_feed(server.feed.decode().replace("/chapters/ep1.json", "/chapters/missing.json"))
    result = add_and_refresh(app, server)
    assert "1 chapters files failed" in result.output
    episode = db.session.scalar(select(Episode).where(Episode.number == 1))
    assert episode.chapters == [] and episode.title.startswith("Episode 1")
    source = db.session.scalar(select(FeedSource))
    assert source.last_counts["chapter_failures"][0][1].startswith("HTTP 404")


def test_feeds_add_refuses_bad_and_duplicate_addresses_and_logs_each_addition(app, server):
    assert cli(app, "feeds", "add", "ftp://example.org/feed").exit_code != 0
    assert cli(app, "feeds", "add", server.feed_url).exit_code == 0
    again = cli(app, "feeds", "add", server.feed_url)
    assert again.exit_code != 0 and "already in the list" in again.output
    assert db.session.scalar(select(func.count(FeedSource.id))) == 1
    assert [e.action for e in db.session.scalars(select(AdminLogEntry))] == ["feed.add"]


def test_import_feed_command_reads_the_podcast_tags_from_a_file_too(app):
    result = cli(app, "import-feed", str(feed_server.FIXTURES / "podcast-namespace.xml"))
    assert result.exit_code == 0, result.output
    assert "created 3" in result.output and "4 new people" in result.output
    # The chapters address in the file is a port nobody answers on: reported, not fatal.
    assert "chapters of 'Episode 1: Loss landscapes with Iris Okafor-Lind' not loaded" in result.output
    assert "role 'audio editor' left out" in result.output
