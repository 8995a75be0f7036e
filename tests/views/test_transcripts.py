"""An episode's transcript (issue 24): imported by the operator's command as revisions,
shown as speaker paragraphs whose sentences link to their moment, and given back as
WebVTT and Podcasting 2.0 JSON that read back to the same segments."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from community.extensions import db
from community.models import AdminLogEntry, TranscriptRevision, TranscriptSegment
from community.transcripts import parse
from tests.conftest import text_of

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "transcripts"


def _import(app, slug: str, path: Path, *extra: str):
    return app.test_cli_runner().invoke(args=["transcripts", "import", slug, str(path), *extra])


def test_an_imported_transcript_reads_as_speaker_paragraphs_linked_to_their_moments(app, client, factories):
    episode = factories.episode(guests=["Sam Sample"], hosts=["Ada Example"])
    result = _import(app, episode.slug, FIXTURES / "sample.vtt", "--language", "en")
    assert result.exit_code == 0, result.output
    assert "revision 1" in result.output
    page = client.get(f"/episodes/{episode.slug}/transcript")
    assert page.status_code == 200
    text = text_of(page)
    assert "Ada Example 0:00 Welcome back. Today we talk about scaling laws." in text
    assert "Sam Sample 0:04 Thanks for having me." in text
    body = page.get_data(as_text=True)
    assert f'href="/episodes/{episode.slug}?t=9"' in body  # "Wait, earlier?" starts at 9.0 s
    assert 'id="m-2"' in body
    speakers = set(db.session.scalars(select(TranscriptSegment.person_id)))
    assert speakers == {p.id for p in episode.guests + episode.hosts}  # labels matched to the episode's people
    assert db.session.scalar(select(func.count()).select_from(AdminLogEntry)
                             .where(AdminLogEntry.action == "transcript.add")) == 1


def test_the_transcript_goes_back_out_as_webvtt_and_json_that_read_the_same(app, client, factories):
    episode = factories.episode(guests=["Sam Sample"], hosts=["Ada Example"])
    _import(app, episode.slug, FIXTURES / "sample.vtt")
    original = parse((FIXTURES / "sample.vtt").read_bytes(), "vtt")
    vtt = client.get(f"/episodes/{episode.slug}/transcript.vtt")
    assert vtt.status_code == 200 and vtt.mimetype == "text/vtt"
    assert parse(vtt.data, "vtt") == original
    as_json = client.get(f"/episodes/{episode.slug}/transcript.json")
    assert as_json.mimetype == "application/json"
    assert parse(as_json.data, "json") == original


def test_a_correction_is_a_new_revision_and_the_old_one_is_kept(app, client, factories):
    episode = factories.episode()
    _import(app, episode.slug, FIXTURES / "sample.vtt")
    assert _import(app, episode.slug, FIXTURES / "sample.srt", "--note", "Fixed the opening").exit_code == 0
    assert db.session.scalar(select(func.count()).select_from(TranscriptRevision)) == 2
    text = text_of(client.get(f"/episodes/{episode.slug}/transcript"))
    assert "Revision 2: Fixed the opening" in text and "Welcome back to the show." in text
    assert "scaling laws" not in text


def test_a_malformed_file_is_refused_whole_with_its_lines(app, client, factories):
    episode = factories.episode()
    result = _import(app, episode.slug, FIXTURES / "malformed.vtt")
    assert result.exit_code != 0
    assert "line 6" in result.output and "line 9" in result.output and "line 15" in result.output
    assert db.session.scalar(select(func.count()).select_from(TranscriptRevision)) == 0
    assert db.session.scalar(select(func.count()).select_from(TranscriptSegment)) == 0
    assert client.get(f"/episodes/{episode.slug}/transcript").status_code == 404


def test_no_such_episode_or_no_transcript_is_a_404(app, client, factories):
    episode = factories.episode()
    for url in (f"/episodes/{episode.slug}/transcript", f"/episodes/{episode.slug}/transcript.vtt",
                "/episodes/no-such/transcript.json"):
        assert client.get(url).status_code == 404
    assert _import(app, "no-such", FIXTURES / "sample.vtt").exit_code != 0


def test_the_episode_page_links_its_transcript_once_there_is_one(app, client, factories):
    episode = factories.episode()
    assert "Read the transcript" not in text_of(client.get(f"/episodes/{episode.slug}"))
    _import(app, episode.slug, FIXTURES / "sample.vtt")
    page = client.get(f"/episodes/{episode.slug}")  # the import bumped the page's version: not the cached one
    assert f'href="/episodes/{episode.slug}/transcript"' in page.get_data(as_text=True)


def test_chapters_go_out_as_podcasting_json_chapters(client, factories):
    episode = factories.episode(chapters=[{"start": 0.0, "title": "Introductions"},
                                          {"start": 754.5, "title": "Batch size", "url": "https://example.org/n"}])
    response = client.get(f"/episodes/{episode.slug}/chapters.json")
    assert response.status_code == 200 and response.mimetype == "application/json+chapters"
    assert response.get_json(force=True) == {"version": "1.2.0", "chapters": [
        {"startTime": 0.0, "title": "Introductions"},
        {"startTime": 754.5, "title": "Batch size", "url": "https://example.org/n"}]}
    assert client.get(f"/episodes/{factories.episode().slug}/chapters.json").get_json(force=True)["chapters"] == []
    assert client.get("/episodes/no-such-episode/chapters.json").status_code == 404


def test_annotations_are_a_web_annotation_collection_and_soundbites_are_listed(client, factories):
    """Nothing anchored yet: an empty collection, and no soundbites in the API or the feed."""
    episode = factories.episode()
    response = client.get(f"/episodes/{episode.slug}/annotations.jsonld")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/ld+json")
    data = response.get_json(force=True)
    assert data["@context"][0] == "http://www.w3.org/ns/anno.jsonld"
    assert data["type"] == "AnnotationCollection" and data["total"] == 0
    assert data["first"] == {"id": data["id"] + "#page-1", "type": "AnnotationPage", "items": []}
    assert client.get(f"/api/v1/episodes/{episode.slug}").get_json()["soundbites"] == []
    feed = client.get("/feeds/episodes.atom").get_data(as_text=True)
    assert 'xmlns:podcast="https://podcastindex.org/namespace/1.0"' in feed
    assert client.get("/episodes/no-such-episode/annotations.jsonld").status_code == 404
