"""/admin/episodes/<id>/transcript (issue 24): the show's team uploads a transcript file
(format chosen or detected), a malformed file is refused whole with each problem by its
line, every upload is a new revision, and speakers are confirmed against the episode's
people. One admin-log row per change. Fixtures are fictional sample text.

Role x route is in tests/security/test_access_matrix.py ("show team")."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from sqlalchemy import func, select

from community.extensions import db
from community.models import AdminLogEntry, Role, TranscriptRevision, TranscriptSegment
from tests.conftest import text_of

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "transcripts"


@pytest.fixture
def host(factories, login):
    user = factories.user("show_host", role=Role.host)
    login(user)
    return user


@pytest.fixture
def episode(factories):
    return factories.episode(guests=["Sam Sample"], hosts=["Ada Example"])


def upload(client, episode, name: str, data: bytes | None = None, **fields):
    body = data if data is not None else (FIXTURES / name).read_bytes()
    return client.post(f"/admin/episodes/{episode.id}/transcript",
                       data={"file": (io.BytesIO(body), name), **fields}, content_type="multipart/form-data")


def actions() -> list[str]:
    return list(db.session.scalars(select(AdminLogEntry.action).order_by(AdminLogEntry.id)))


def test_an_upload_with_its_format_detected_is_revision_one_with_speakers_guessed(client, host, episode):
    assert "No transcript yet." in text_of(client.get(f"/admin/episodes/{episode.id}/transcript"))
    response = upload(client, episode, "sample.vtt", language="en", note="First version")
    assert response.status_code == 302 and response.location.endswith("#speakers")
    page = text_of(client.get(f"/admin/episodes/{episode.id}/transcript"))
    assert "Transcript revision 1 added." in page
    assert "an upload (vtt), en" in page and "First version" in page
    revision = db.session.scalar(select(TranscriptRevision))
    assert (revision.number, revision.kind, revision.created_by_id) == (1, "vtt", host.id)
    # Guessed by name: both labels are preselected as the episode's people.
    body = client.get(f"/admin/episodes/{episode.id}/transcript").get_data(as_text=True)
    sam = episode.guests[0]
    assert f'<option value="{sam.id}" selected>Sam Sample</option>' in body
    assert actions() == ["transcript.add"]


def test_a_file_without_a_telling_name_is_read_by_its_content_or_by_the_chosen_format(client, host, episode):
    srt = (FIXTURES / "sample.srt").read_bytes()
    assert upload(client, episode, "transcript", srt).status_code == 302  # sniffed: SRT's numbered cues
    assert upload(client, episode, "transcript.txt", srt, kind="srt").status_code == 302
    assert [r.kind for r in db.session.scalars(select(TranscriptRevision))] == ["srt", "srt"]
    refused = upload(client, episode, "transcript", b"just some words")
    assert refused.status_code == 422
    assert "The format could not be told from the file: choose it." in text_of(refused)


def test_a_malformed_file_is_refused_whole_with_every_problem_by_its_line(client, host, episode):
    upload(client, episode, "sample.vtt")
    response = upload(client, episode, "malformed.vtt", note="Keep this note")
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    problems = [line for line in text_of(response).split("\n")]
    text = text_of(response)
    assert "The file was not added: 3 problem(s), each by its line." in text
    assert "line 6" in text and "line 9" in text and "line 15" in text, problems
    assert 'value="Keep this note"' in body  # what was typed is kept
    # Nothing half-imported: still one revision, its segments only.
    assert db.session.scalar(select(func.count(TranscriptRevision.id))) == 1
    first = db.session.scalar(select(TranscriptRevision.id))
    assert db.session.scalar(select(func.count(TranscriptSegment.id))) == db.session.scalar(
        select(func.count(TranscriptSegment.id)).where(TranscriptSegment.revision_id == first))
    assert actions() == ["transcript.add"]


def test_each_upload_is_a_new_revision_and_the_list_shows_them_all(client, host, episode):
    upload(client, episode, "sample.vtt")
    upload(client, episode, "sample.srt", note="Fixed the opening")
    rows = list(db.session.scalars(select(TranscriptRevision).order_by(TranscriptRevision.number)))
    assert [r.number for r in rows] == [1, 2]
    counts = [db.session.scalar(select(func.count(TranscriptSegment.id)).where(TranscriptSegment.revision_id == r.id))
              for r in rows]
    assert all(counts)  # the first revision's segments are kept
    page = text_of(client.get(f"/admin/episodes/{episode.id}/transcript"))
    assert "2 shown" in page and "Fixed the opening" in page
    assert "Speakers of revision 2" in page
    assert actions() == ["transcript.add", "transcript.add"]


def test_speakers_are_confirmed_or_changed_with_one_log_row(client, host, episode, factories):
    upload(client, episode, "sample.srt")
    ada, sam = episode.hosts[0], episode.guests[0]
    revision = db.session.scalar(select(TranscriptRevision))
    labels = {"label-0": "Ada Example", "label-1": "Sam Sample", "label-2": ""}
    # Swap them (a file that mixed up who is who), and leave the unnamed label alone.
    response = client.post(f"/admin/episodes/{episode.id}/transcript/speakers",
                           data={"revision": "1", **labels, "speaker-0": str(sam.id), "speaker-1": str(ada.id),
                                 "speaker-2": ""})
    assert response.status_code == 302
    db.session.expire_all()
    by_label = dict(db.session.execute(select(TranscriptSegment.speaker, TranscriptSegment.person_id)
                                       .where(TranscriptSegment.revision_id == revision.id)).all())
    assert by_label["Ada Example"] == sam.id and by_label["Sam Sample"] == ada.id and by_label[""] is None
    assert actions() == ["transcript.add", "transcript.speakers"]
    entry = db.session.scalar(select(AdminLogEntry).where(AdminLogEntry.action == "transcript.speakers"))
    assert "Ada Example → Sam Sample" in entry.summary
    # The transcript page names the confirmed person.
    assert "Sam Sample 0:00 Welcome back to the show." in text_of(client.get(f"/episodes/{episode.slug}/transcript"))

    # Someone not on the episode is refused, and nothing changes.
    stranger = factories.episode(guests=["Otto Other"]).guests[0]
    refused = client.post(f"/admin/episodes/{episode.id}/transcript/speakers",
                          data={"revision": "1", **labels, "speaker-0": str(stranger.id)})
    assert refused.status_code == 422 and "Choose people who were on this episode" in text_of(refused)
    assert actions() == ["transcript.add", "transcript.speakers"]


def test_members_may_not_upload(client, factories, login, episode):
    login(factories.user("just_member"))
    assert client.get(f"/admin/episodes/{episode.id}/transcript").status_code in (403, 404)
    assert upload(client, episode, "sample.vtt").status_code in (403, 404)
    assert db.session.scalar(select(func.count(TranscriptRevision.id))) == 0
