"""What the rest of the web reads: robots.txt, the sitemap, and Atom feeds that carry every
element RFC 4287 requires (checked element by element below, not by a lenient reader)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from community.extensions import db
from community.services import papers

SM = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture
def app_config():
    return {"SITEMAP_PAGE_SIZE": 4}


def test_robots_keeps_crawlers_out_of_personal_pages_and_names_the_sitemap(client):
    response = client.get("/robots.txt")
    assert response.status_code == 200 and response.mimetype == "text/plain"
    lines = response.get_data(as_text=True).splitlines()
    assert "User-agent: *" in lines
    for private in ("/auth/", "/settings/", "/admin/", "/notifications"):
        assert f"Disallow: {private}" in lines
    assert "Sitemap: http://localhost/sitemap.xml" in lines
    assert "Disallow: /" not in lines  # the site itself is open


def _locs(response) -> list[str]:
    root = ET.fromstring(response.data)
    return [loc.text for loc in root.iter(f"{SM}loc")]


def test_the_sitemap_lists_every_published_episode_and_what_it_cites(client, factories):
    first = factories.episode(guests=["Ada Example"])
    hidden = factories.episode(is_published=False, guests=["Someone Unpublished"])
    author = factories.user()
    papers.submit(author, first, link="https://arxiv.org/abs/2005.11401", title="Retrieval-augmented generation")
    db.session.commit()
    response = client.get("/sitemap.xml")
    assert response.status_code == 200 and response.mimetype == "application/xml"
    locs = _locs(response)
    assert f"http://localhost/episodes/{first.slug}" in locs
    assert f"http://localhost/episodes/{hidden.slug}" not in locs
    assert "http://localhost/papers/arxiv:2005.11401" in locs
    person_id = first.guests[0].id
    assert f"http://localhost/people/{person_id}" in locs
    assert f"http://localhost/people/{hidden.guests[0].id}" not in locs  # only on an unpublished episode
    for loc in locs:  # every URL it names answers
        assert client.get(loc.replace("http://localhost", "")).status_code == 200, loc


def test_active_threads_are_listed(client, factories):
    episode = factories.episode()
    people = [factories.user() for _ in range(3)]
    root = factories.comment(people[0], episode, body="Where does the scaling argument break?")
    for person in people:
        factories.comment(person, episode, parent=root, body="A reply that keeps the thread alive.")
    quiet = factories.comment(people[1], episode, body="Nobody answered this one.")
    locs = _locs(client.get("/sitemap.xml"))
    assert f"http://localhost/posts/{root.id}" in locs
    assert f"http://localhost/posts/{quiet.id}" not in locs


def test_past_one_page_the_sitemap_becomes_an_index_of_pages(client, factories):
    episodes = [factories.episode() for _ in range(9)]  # 9 URLs with SITEMAP_PAGE_SIZE 4: three pages
    index = ET.fromstring(client.get("/sitemap.xml").data)
    assert index.tag == f"{SM}sitemapindex"
    pages = [loc.text for loc in index.iter(f"{SM}loc")]
    assert pages == [f"http://localhost/sitemap-{n}.xml" for n in (1, 2, 3)]
    listed = [loc for page in pages for loc in _locs(client.get(page.replace("http://localhost", "")))]
    assert sorted(listed) == sorted(f"http://localhost/episodes/{e.slug}" for e in episodes)
    assert client.get("/sitemap-4.xml").status_code == 404
    assert client.get("/sitemap-0.xml").status_code == 404


# ----------------------------------------------------------------------- Atom, strictly

def assert_valid_atom(body: bytes) -> None:
    """RFC 4287 section 4.1: the elements a feed and each entry MUST carry."""
    feed = ET.fromstring(body)
    assert feed.tag == f"{ATOM}feed"

    def one(parent, name):
        found = parent.findall(f"{ATOM}{name}")
        assert len(found) == 1, f"exactly one atom:{name} in {parent.tag}, found {len(found)}"
        assert (found[0].text or "").strip() or list(found[0]), f"atom:{name} is empty"
        return found[0]

    for name in ("id", "title", "updated"):
        one(feed, name)
    entries = feed.findall(f"{ATOM}entry")
    feed_author = feed.findall(f"{ATOM}author")
    assert feed_author or (entries and all(e.findall(f"{ATOM}author") for e in entries)), "atom:author is required"
    for author in feed_author:
        one(author, "name")
    assert any(link.get("rel") == "self" for link in feed.findall(f"{ATOM}link"))
    for entry in entries:
        for name in ("id", "title", "updated"):
            one(entry, name)
        content = entry.findall(f"{ATOM}content")
        alternate = [link for link in entry.findall(f"{ATOM}link") if link.get("rel", "alternate") == "alternate"]
        assert content or alternate, "an entry without content needs a link rel=alternate"
        assert len({(link.get("type"), link.get("hreflang")) for link in alternate}) == len(alternate)


def test_every_feed_carries_what_rfc_4287_requires_even_empty(client, factories):
    episode = factories.episode()
    user = factories.user()
    feeds = ["/feeds/episodes.atom", f"/episodes/{episode.slug}/discussion.atom", f"/u/{user.username}/posts.atom",
             "/questions/answered.atom"]
    for url in feeds:  # nothing written yet: empty feeds
        response = client.get(url)
        assert response.status_code == 200, url
        assert_valid_atom(response.data)
    factories.comment(user, episode, body="A comment with $x^2$ math.")
    for url in feeds:
        assert_valid_atom(client.get(url).data)
    author = ET.fromstring(client.get("/feeds/episodes.atom").data).find(f"{ATOM}author")
    assert author.find(f"{ATOM}name").text == "GI Community"


# ----------------------------------------------------------------------- JSON-LD

def _json_ld(response) -> dict:
    import json
    import re

    [block] = re.findall(r'<script type="application/ld\+json">(.*?)</script>', response.get_data(as_text=True), re.S)
    return json.loads(block)


def test_an_episode_page_describes_itself_as_a_podcast_episode_naming_its_guests(client, factories):
    episode = factories.episode(title="Scaling <laws> & \"surprises\"", guests=[("Ada Example", "Example University")],
                                hosts=["Host Person"], duration_seconds=3725, audio_url="https://media.example/1.mp3",
                                image_url="https://media.example/1.jpg", summary="</script><b>not markup</b>")
    response = client.get(f"/episodes/{episode.slug}")
    data = _json_ld(response)
    assert data["@context"] == "https://schema.org" and data["@type"] == "PodcastEpisode"
    assert data["name"] == episode.title  # escaped in the page, intact once parsed
    assert data["description"] == "</script><b>not markup</b>"
    assert data["url"] == f"http://localhost/episodes/{episode.slug}"
    assert data["timeRequired"] == "PT1H2M5S" and data["episodeNumber"] == episode.number
    assert data["associatedMedia"]["contentUrl"] == "https://media.example/1.mp3"
    guests = [p for p in data["actor"] if p["jobTitle"] == "Guest"]
    assert [(g["name"], g["affiliation"]["name"]) for g in guests] == [("Ada Example", "Example University")]
    assert [p["name"] for p in data["actor"] if p["jobTitle"] == "Host"] == ["Host Person"]
    assert data["partOfSeries"]["@type"] == "PodcastSeries"
    assert '<meta property="og:image" content="https://media.example/1.jpg">' in response.get_data(as_text=True)


def test_what_is_unknown_is_left_out_not_null(client, factories):
    episode = factories.episode()
    data = _json_ld(client.get(f"/episodes/{episode.slug}"))
    assert None not in data.values()
    assert "associatedMedia" not in data and "actor" not in data
    assert "og:image" not in client.get(f"/episodes/{episode.slug}").get_data(as_text=True)
