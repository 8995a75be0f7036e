"""Listening on the episode page: the player, ?t= moments, "Listen on" links (the show's on
every episode, the demo's real episodes included), chapters, the order of the page, and
the summary said once. The browser side (mini-player, seeking) is tests/e2e/test_listening.py."""

from __future__ import annotations

import json
import re
from importlib import resources
from pathlib import Path

import pytest

from community.seed import demo
from tests.conftest import text_of

SHOW = json.loads(resources.files("community").joinpath("data/show.json").read_text("utf-8"))
SHOW_LINKS = [(link["label"], link["url"]) for link in SHOW["listen"]]
SHARED_SHOW = Path(__file__).resolve().parents[3] / "shared" / "data" / "gi-show.json"


def links_in(html: str) -> set[tuple[str, str]]:
    return {(label, href) for href, label in re.findall(r'<a href="([^"]+)"[^>]*>([^<]+)</a>', html)}


@pytest.mark.skipif(not SHARED_SHOW.is_file(), reason="../shared/data/gi-show.json is not beside this checkout")
def test_the_show_links_are_the_shared_facts():
    facts = json.loads(SHARED_SHOW.read_text("utf-8"))
    assert {url for _, url in SHOW_LINKS} == set(facts["listen"].values())


def test_every_real_demo_episode_shows_the_shows_listen_links(app, client):
    demo.load()
    from community.extensions import db

    db.session.commit()
    for record in demo.package_data()["episodes"]:
        html = client.get(f"/episodes/{record['slug']}").get_data(as_text=True)
        assert set(SHOW_LINKS) <= links_in(html), record["slug"]
        assert "Listen to the show on:" in text_of(client.get(f"/episodes/{record['slug']}"))
        # The demo's notes open with the summary: it is said once, above them.
        assert text_of(client.get(f"/episodes/{record['slug']}")).count(record["summary"]) == 1, record["slug"]


def test_player_only_with_audio_and_the_episodes_own_links(client, factories):
    silent = factories.episode(1, "No audio yet")
    html = client.get(f"/episodes/{silent.slug}").get_data(as_text=True)
    assert "<audio" not in html and set(SHOW_LINKS) <= links_in(html)
    episode = factories.episode(2, "With audio", audio_url="https://cdn.example.org/2.mp3",
                                listen_links=[{"label": "Spotify", "url": "https://open.spotify.com/episode/abc"}])
    html = client.get(f"/episodes/{episode.slug}").get_data(as_text=True)
    assert '<audio controls preload="none" src="https://cdn.example.org/2.mp3">' in html
    assert ("Spotify", "https://open.spotify.com/episode/abc") in links_in(html)
    assert "This episode on: Spotify" in text_of(client.get(f"/episodes/{episode.slug}"))


@pytest.mark.parametrize("t, start", [("90", 90), ("1:23:45", 5025), ("12:34", 754), ("0", None), ("-5", None),
                                      ("soon", None), ("99:99", None)])
def test_t_starts_the_audio_there_without_javascript(client, factories, t, start):
    episode = factories.episode(3, "Seekable", audio_url="https://cdn.example.org/3.mp3")
    html = client.get(f"/episodes/{episode.slug}?t={t}").get_data(as_text=True)
    if start is None:
        assert 'src="https://cdn.example.org/3.mp3">' in html and "data-start" not in html
    else:
        # A media fragment: the browser starts there on its own; site.js seeks as well.
        assert f'src="https://cdn.example.org/3.mp3#t={start}" data-start="{start}">' in html


def test_link_to_a_moment_without_javascript_and_the_copy_button_for_javascript(client, factories, login):
    episode = factories.episode(4, "Momentous", audio_url="https://cdn.example.org/4.mp3")
    html = client.get(f"/episodes/{episode.slug}?t=754").get_data(as_text=True)
    # Without JS: a GET form whose result page's address is the link to share.
    form = re.search(r'<form method="get" action="([^"]+)" class="moment-form inline">(.*?)</form>', html, re.S)
    assert form and form.group(1) == f"/episodes/{episode.slug}#player"
    assert 'name="t"' in form.group(2) and 'value="12:34"' in form.group(2)
    assert client.get(f"/episodes/{episode.slug}?t=12%3A34").status_code == 200
    # With JS: the button, hidden until site.js shows it, knows the page's full address.
    assert (f'<p class="copy-moment" hidden><button type="button" class="secondary small" '
            f'data-copy-moment="http://localhost/episodes/{episode.slug}">') in html
    login(factories.user("listener"))
    assert "Copy link at this moment" in client.get(f"/episodes/{episode.slug}").get_data(as_text=True)


def test_chapters_are_seekable_moments(client, factories):
    episode = factories.episode(5, "Chaptered", audio_url="https://cdn.example.org/5.mp3", chapters=[
        {"start": 0.0, "title": "Introductions"},
        {"start": 754.5, "title": "Batch size", "url": "https://example.org/notes"},
        {"start": 3605.0, "title": ""}])
    html = client.get(f"/episodes/{episode.slug}").get_data(as_text=True)
    chapters = re.search(r'<section class="chapters".*?</section>', html, re.S).group(0)
    assert '<a class="seek" href="?t=0#player"><time>0:00</time></a>' in chapters
    assert '<a class="seek" href="?t=754#player"><time>12:34</time></a>' in chapters
    assert '<a href="https://example.org/notes" rel="nofollow noopener">Batch size</a>' in chapters
    assert '<time>1:00:05</time></a>\n        Chapter 3' in chapters
    assert "<section class=\"chapters\"" not in client.get(
        f"/episodes/{factories.episode(6, 'No chapters').slug}").get_data(as_text=True)


def test_the_page_reads_in_the_order_of_its_tab_row(client, factories):
    episode = factories.episode(7, "Ordered")
    html = client.get(f"/episodes/{episode.slug}").get_data(as_text=True)
    tabs = re.search(r'<nav class="episode-sections".*?</nav>', html, re.S).group(0)
    order = re.findall(r'href="#(\w+)"', tabs)
    assert order == ["discussion", "papers", "questions"]
    positions = [html.index(f'<section id="{name}"') for name in order]
    assert positions == sorted(positions)


@pytest.mark.parametrize("notes, repeated", [
    ("<p>Distribution shift and forecasting.</p><p>Then robustness.</p>", False),
    ("<p>  distribution SHIFT, and forecasting </p><p>Then robustness.</p>", False),  # normalised: still the same
    ("<p>Something else first.</p><p>Distribution shift and forecasting.</p>", True),  # not the first paragraph
])
def test_the_summary_is_not_repeated_as_the_first_paragraph_of_the_notes(client, factories, notes, repeated):
    episode = factories.episode(8, "Said once", summary="Distribution shift and forecasting.", show_notes_html=notes)
    page = text_of(client.get(f"/episodes/{episode.slug}"))
    assert page.lower().count("distribution shift") == (2 if repeated else 1)
    assert "Then robustness." in page or repeated


def test_a_summary_cut_short_matches_the_paragraph_it_was_cut_from(client, factories):
    episode = factories.episode(9, "Long", summary="A long opening sentence about optimisation that…",
                                show_notes_html="<p>A long opening sentence about optimisation that goes on.</p><p>Rest.</p>")
    page = text_of(client.get(f"/episodes/{episode.slug}"))
    assert "goes on" not in page and "Rest." in page


def test_listening_costs_no_query(client, factories, count_queries):
    plain = factories.episode(10, "Plain")
    rich = factories.episode(11, "Rich", audio_url="https://cdn.example.org/11.mp3", image_url="https://img.example.org/11.jpg",
                             listen_links=[{"label": "Spotify", "url": "https://open.spotify.com/episode/x"}],
                             chapters=[{"start": 1.0, "title": "One"}])

    def queries(slug, path=""):
        with count_queries() as counted:
            assert client.get(f"/episodes/{slug}{path}").status_code == 200
        return counted.count

    assert queries(rich.slug, "?t=5") == queries(plain.slug, "?t=5")
