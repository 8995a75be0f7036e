"""podcast:transcript files fetched as jobs after a feed refresh, against a real local HTTP
server; and the guard that keeps feed-supplied addresses (transcripts, chapters) off this
server's own network. The feed and its transcripts are fictional sample text."""

from __future__ import annotations

import http.server
import threading

import pytest
from sqlalchemy import func, select

from community import feed_parser
from community.extensions import db
from community.models import Episode, FeedSource, Job, JobStatus, Person, TranscriptRevision, TranscriptSegment
from tests import feed_server

CHANGED_VTT = b"""WEBVTT

00:00:00.000 --> 00:00:05.000
<v Mara Quell>Welcome to the sample show. Today we talk about sharp minima.

00:00:05.000 --> 00:00:11.000
<v Iris Okafor-Lind>Thanks. Flat minima are only one part of the story.
"""


@pytest.fixture
def server():
    state, stop = feed_server.start()
    yield state
    stop()


def cli(app, *args):
    result = app.test_cli_runner().invoke(args=list(args))
    assert result.exit_code == 0, result.output
    return result


def refresh(app, server):
    cli(app, "feeds", "add", server.feed_url)
    return cli(app, "feeds", "refresh")


def episode(number: int) -> Episode:
    db.session.expire_all()
    return db.session.scalar(select(Episode).where(Episode.number == number))


def revisions(number: int) -> list[TranscriptRevision]:
    return list(db.session.scalars(select(TranscriptRevision).where(TranscriptRevision.episode_id == episode(number).id)
                                   .order_by(TranscriptRevision.number)))


def segments(revision: TranscriptRevision) -> list[TranscriptSegment]:
    return list(db.session.scalars(select(TranscriptSegment).where(TranscriptSegment.revision_id == revision.id)
                                   .order_by(TranscriptSegment.position)))


def test_a_refresh_fetches_each_podcast_transcript_as_a_job_with_speakers_matched(app, server):
    result = refresh(app, server)
    assert "2 transcripts to fetch" in result.output
    assert server.requests["/transcripts/ep1.vtt"] == 1 and server.requests["/transcripts/ep2.json"] == 1
    [first] = revisions(1)
    assert first.source_url.endswith("/transcripts/ep1.vtt") and first.kind == "vtt"
    rows = segments(first)
    assert [row.text for row in rows][1] == "Thanks. Flat minima are only part of the story."
    iris = db.session.scalar(select(Person).where(Person.name == "Iris Okafor-Lind"))
    assert rows[1].person_id == iris.id  # the voice tag named a person of the episode
    [second] = revisions(2)
    assert second.language == "de" and len(segments(second)) == 2
    assert db.session.scalar(select(func.count(Job.id)).where(Job.name == "transcripts.fetch",
                                                              Job.status == JobStatus.done)) == 2


def test_a_refetch_adds_a_revision_only_when_the_words_changed(app, server):
    refresh(app, server)
    server.feed = server.feed.replace(b"Warm restarts, again", b"Warm restarts, once more")  # the feed changed
    cli(app, "feeds", "refresh")
    assert server.requests["/transcripts/ep1.vtt"] == 1  # an address already fetched is not asked for hourly
    cli(app, "transcripts", "fetch")
    assert server.requests["/transcripts/ep1.vtt"] == 2
    assert len(revisions(1)) == 1 and len(revisions(2)) == 1  # the same words: no new revision

    server.files["/transcripts/ep1.vtt"] = (CHANGED_VTT, "text/vtt")
    cli(app, "transcripts", "fetch", episode(1).slug)
    old, new = revisions(1)
    assert (old.number, new.number) == (1, 2)
    assert len(segments(old)) == 3  # kept: a correction is a new revision, never an overwrite
    assert segments(new)[1].text == "Thanks. Flat minima are only one part of the story."


def test_a_transcript_that_does_not_parse_fails_its_job_and_adds_nothing(app, server):
    server.files["/transcripts/ep1.vtt"] = (b"WEBVTT\n\n00:00:01.000 -> 00:00:02.000\nbroken\n", "text/vtt")
    refresh(app, server)
    assert revisions(1) == []
    job = db.session.scalar(select(Job).where(Job.name == "transcripts.fetch", Job.args["episode_id"].as_integer()
                                              == episode(1).id))
    assert "could not be read" in job.last_error and "line 3" in job.last_error


class TestTheDefaultRefusesPrivateAddresses:
    """Without FEED_FETCH_ALLOWED_NETWORKS (the default), a feed's links to 127.0.0.1 are
    not fetched: the server is really there, and it is never asked."""

    @pytest.fixture
    def app_config(self):
        return {"FEED_FETCH_ALLOWED_NETWORKS": ()}

    def test_transcripts_and_chapters_on_a_loopback_address_are_not_fetched(self, app, server):
        refresh(app, server)
        [(title, why)] = db.session.scalar(select(FeedSource.last_counts))["chapter_failures"]
        assert title.startswith("Episode 1") and why.startswith("refused: 127.0.0.1 is a private, loopback")
        assert server.requests["/chapters/ep1.json"] == 0
        assert server.requests["/transcripts/ep1.vtt"] == 0 and server.requests["/transcripts/ep2.json"] == 0
        assert revisions(1) == [] and revisions(2) == []
        errors = list(db.session.scalars(select(Job.last_error).where(Job.name == "transcripts.fetch")))
        assert len(errors) == 2 and all("private, loopback or link-local" in e for e in errors)


def test_the_default_config_allows_no_private_network():
    from community.config import DEFAULTS
    assert DEFAULTS["FEED_FETCH_ALLOWED_NETWORKS"] == ()


@pytest.mark.parametrize("address", ["127.0.0.1", "10.1.2.3", "172.16.0.9", "192.168.1.1", "169.254.169.254",
                                     "100.64.0.1", "0.0.0.0", "::1", "fe80::1", "fd00::1", "::ffff:127.0.0.1",
                                     "224.0.0.1"])
def test_private_loopback_and_link_local_addresses_are_not_public(address):
    assert not feed_parser.is_public_address(address)


def test_public_addresses_pass_and_an_allowed_network_is_let_through():
    assert feed_parser.is_public_address("93.184.215.14") and feed_parser.is_public_address("2606:4700::1111")
    assert feed_parser.is_public_address("127.0.0.1", ("127.0.0.1/32",))
    assert not feed_parser.is_public_address("127.0.0.2", ("127.0.0.1/32",))


def test_a_redirect_to_a_refused_address_is_refused_after_the_redirect():
    """Allowed 127.0.0.1 answers with a redirect to 127.0.0.2 (loopback too, not allowed):
    the address checked is the one connected to, so the second server is never asked."""
    asked = []

    class Target(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            asked.append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"WEBVTT\n")

        def log_message(self, *args):
            pass

    target = http.server.ThreadingHTTPServer(("127.0.0.2", 0), Target)

    class Redirect(Target):
        def do_GET(self):  # noqa: N802
            self.send_response(302)
            self.send_header("Location", f"http://127.0.0.2:{target.server_port}/secret")
            self.end_headers()

    origin = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
    for server in (target, origin):
        threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with pytest.raises(feed_parser.PrivateAddress):
            feed_parser.fetch_public(f"http://127.0.0.1:{origin.server_port}/t.vtt", 5, "text/vtt", 1000,
                                     ("127.0.0.1/32",))
        assert asked == []
        assert feed_parser.fetch_public(f"http://127.0.0.2:{target.server_port}/t.vtt", 5, "text/vtt", 1000,
                                        ("127.0.0.0/8",)) == b"WEBVTT\n"
    finally:
        for server in (target, origin):
            server.shutdown()
            server.server_close()
