"""Small slips a reader noticed (issue 22), one test each."""

from __future__ import annotations

import re
from datetime import datetime, timezone

from community import markup
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


def test_a_reason_that_ends_in_a_full_stop_gets_no_second_one(client, factories, login):
    troll = factories.user("troll")
    troll.suspended_until, troll.suspension_reason = datetime(2030, 5, 6, 7, 8, tzinfo=timezone.utc), "Commercial spam."
    db.session.commit()
    login(troll)
    page = text_of(client.get("/"))
    assert "Commercial spam. You can read" in page and ".." not in page
    troll.suspension_reason = "Commercial spam"  # typed without one: the sentence still ends
    db.session.commit()
    assert "Commercial spam. You can read" in text_of(client.get("/"))


def test_the_duplicate_nominee_page_shows_an_existing_endorsement(app, client, factories, login):
    from tests.views.test_suggestions import suggest, suggestions

    suggest(login(factories.user("ada"), the_client=app.test_client()))
    login(factories.user("bob"))
    (post,) = suggestions()
    response = suggest(client)
    offered = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "Endorse this suggestion" in offered and 'aria-pressed="false"' in offered
    assert client.post(f"/posts/{post.id}/vote", data={"up": "1"}).status_code == 302
    again = suggest(client)
    html = again.get_data(as_text=True)
    assert again.status_code == 409 and "▲ Endorsed" in text_of(again) and 'aria-pressed="true"' in html
    assert 'name="up" value="0"' in html  # pressing it again withdraws, as on the board


def test_a_byline_is_a_name_and_a_hat_not_the_whole_affiliation(client, factories):
    episode = factories.episode()
    ada = factories.user("ada_l", display_name="Ada L.", affiliation="Department of Long Names, Example University")
    factories.comment(ada, episode, body="A short remark.")
    html = client.get(f"/episodes/{episode.slug}").get_data(as_text=True)
    byline = re.search(r'<p class="comment-meta">(.*?)</p>', html, re.S).group(1)
    assert "Ada L." in byline and "@ada_l" in byline
    assert 'title="Department of Long Names, Example University"' in byline  # on hover
    assert "Department of Long Names" not in re.sub(r'title="[^"]*"', "", byline)  # not as text
    assert "Department of Long Names, Example University" in text_of(client.get("/u/ada_l"))  # the profile has it


def test_double_dollars_inside_a_sentence_stay_in_the_sentence():
    in_sentence = markup.render(r"The bound $$\sum_i x_i \le 1$$ holds for every draw.")
    assert in_sentence.startswith("<p>The bound <math") and in_sentence.endswith("holds for every draw.</p>")
    assert 'display="inline"' in in_sentence and '<mstyle displaystyle="true">' in in_sentence
    assert "<munder>" in in_sentence  # display style: the limits sit under the sum
    alone = markup.render("The bound:\n\n$$\\sum_i x_i \\le 1$$\n\nholds.")
    assert 'display="block"' in alone and "<mstyle" not in alone  # its own paragraph: a display block
