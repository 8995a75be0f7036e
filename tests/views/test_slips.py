"""Small slips a reader noticed (issue 22), one test each."""

from __future__ import annotations

import re

from community.extensions import db
from community.names import without_initials
from community.services import guests
from tests.conftest import text_of


def test_counts_agree_with_their_nouns(client, factories):
    episode = factories.episode()
    author = factories.user()
    factories.comment(author, episode, body="The only comment.")
    page = text_of(client.get("/episodes/"))
    assert "1 comment · 0 papers · 0 questions" in page
    assert "1 comments" not in page


def test_a_collapsed_comment_counts_every_reply_under_it(client, factories):
    episode = factories.episode()
    people = [factories.user() for _ in range(3)]
    root = factories.comment(people[0], episode, body="Top of the thread.")
    child = factories.comment(people[1], episode, parent=root, body="A direct reply.")
    factories.comment(people[2], episode, parent=child, body="A reply to the reply.")
    body = client.get(f"/episodes/{episode.slug}").get_data(as_text=True)
    notes = re.findall(r'<li class="comment[^"]*" id="c(\d+)".*?collapsed-note">\((\d+) repl', body, re.S)
    assert (str(root.id), "2") in notes  # two replies hide under the top comment, not one
    assert (str(child.id), "1") in notes


def test_episode_numbers_lead_to_their_episode(client, factories):
    episode = factories.episode(number=13)
    response = client.get("/episodes/13")
    assert response.status_code == 301 and response.headers["Location"].endswith(f"/episodes/{episode.slug}")
    assert client.get("/episodes/99").status_code == 404
    assert client.get("/episodes/99999999999999999999").status_code == 404
    hidden = factories.episode(number=14, is_published=False)
    assert client.get("/episodes/14").status_code == 404, hidden.slug  # no hint that an unpublished one exists


def test_the_404_page_offers_a_search_and_ways_on(client):
    response = client.get("/episodes/scaling-laws-revisited")
    assert response.status_code == 404
    page = response.get_data(as_text=True)
    assert 'action="/search"' in page and 'value="scaling laws revisited"' in page
    for place in ("/episodes/", "/papers/", "/questions/"):
        assert f'href="{place}"' in page


def test_a_middle_initial_does_not_make_a_second_nominee(app, factories):
    first = factories.user()
    second = factories.user()
    made = guests.suggest(first, name="Christopher Manning", affiliation="Stanford", links=[],
                          why="Decades of NLP.", papers=[], disclosure="neither")
    db.session.commit()
    again = guests.suggest(second, name="Christopher D. Manning", affiliation="", links=[],
                           why="Same person.", papers=[], disclosure="neither")
    assert again.post is None and again.duplicate.id == made.post.id
    assert without_initials("christopher d. manning") == without_initials("christopher manning")
    assert without_initials("yann lecun") == "yann lecun"
    assert without_initials("a b") == "a b"  # two words: both are the name
