"""Search covers what was said (issue 24): words of an episode's current transcript are
found on SQLite (FTS5) and PostgreSQL (tsvector) alike, and each hit lands on its moment,
/episodes/<slug>?t=<seconds>#m-<sentence>. Sample transcripts: fictional speakers and text."""

from __future__ import annotations

import pytest

from community.extensions import db
from community.services import transcripts
from tests.conftest import text_of

FIRST = """WEBVTT

00:00:00.000 --> 00:00:04.000
<v Ada Example>Sample text: welcome to a fictional episode.

00:20:34.500 --> 00:20:40.000
<v Sam Sample>The spectral radius of the update decides whether training diverges.

00:20:40.000 --> 00:20:44.000
<v Ada Example>Sample text: a short reply about warmup.
"""
CORRECTED = FIRST.replace("spectral radius", "largest eigenvalue")


@pytest.fixture
def episode(factories):
    episode = factories.episode(7, "A sample episode about stability", guests=["Sam Sample"], hosts=["Ada Example"])
    transcripts.add_revision(None, episode, FIRST, "vtt")
    db.session.commit()
    return episode


def api_moments(client, q, **params) -> list[dict]:
    return client.get("/api/v1/search", query_string={"q": q, **params}).get_json()["moments"]


def test_words_said_are_found_and_land_on_their_moment(client, episode):
    [hit] = api_moments(client, "spectral radius")
    assert hit["url"] == f"http://localhost/episodes/{episode.slug}?t=1234#m-1"
    assert hit["start_time"] == 1234.5 and hit["speaker"] == "Sam Sample"
    assert "<mark>" in hit["snippet_html"]
    page = client.get("/search", query_string={"q": '"spectral radius"'})
    assert f'href="/episodes/{episode.slug}?t=1234#m-1"' in page.get_data(as_text=True)
    assert "Said in episodes" in text_of(page) and "at 20:34 · Sam Sample" in text_of(page)


def test_only_the_current_revision_and_published_episodes_are_searched(client, episode):
    transcripts.add_revision(None, episode, CORRECTED, "vtt", note="fixed a term")
    db.session.commit()
    assert api_moments(client, "spectral") == []  # the old wording is revision 1's only
    assert [h["url"] for h in api_moments(client, "eigenvalue")] == [
        f"http://localhost/episodes/{episode.slug}?t=1234#m-1"]
    episode.is_published = False
    db.session.commit()
    assert api_moments(client, "eigenvalue") == []


def test_phrases_prefixes_exclusions_and_the_episode_filter_work_on_transcripts(client, episode, factories):
    other = factories.episode(8, "Another sample episode")
    transcripts.add_revision(None, other, FIRST.replace("warmup", "cooldown"), "vtt")
    db.session.commit()
    assert len(api_moments(client, "reply")) == 2
    assert [h["episode"] for h in api_moments(client, "reply -cooldown")] == [episode.slug]
    assert [h["episode"] for h in api_moments(client, "warm*")] == [episode.slug]
    assert [h["episode"] for h in api_moments(client, "reply", episode=other.slug)] == [other.slug]
    assert api_moments(client, '"update decides"') and api_moments(client, '"decides update"') == []


@pytest.mark.parametrize("q", ['"', "-", "*", "NEAR(a b)", "text:radius", "') OR 1=1 --", "radius\x00", "^radius",
                               "a" * 1000, "{text}: radius", "radius AND", "OR radius"])
def test_hostile_queries_never_error_on_transcripts(client, episode, q):
    response = client.get("/api/v1/search", query_string={"q": q})
    assert response.status_code in (200, 400)
    assert client.get("/search", query_string={"q": q}).status_code in (200, 400)
