"""Personalising a shared thread: the usual reader's fills are prepared once, and only
the posts where a reader differs are filled per request. Whatever the reader, the result
must equal filling every marker for that reader from scratch."""

from __future__ import annotations

from datetime import timedelta

import pytest

from community.extensions import db
from community.models import Role
from community.models.base import utcnow
from community.services import discussion, episodes, papers, questions
from community.views import threads


def from_scratch(shared, html, reader) -> str:
    return threads.MARKER.sub(lambda m: threads._fill(m[1], int(m[2]), shared.facts[int(m[2])], reader), html)


@pytest.fixture
def page(app, factories):
    guest = factories.user("guest", role=Role.guest)
    episode = factories.episode(13, guests=[("Guest Speaker", "MIT")])
    episode.appearances[0].person.user_id = guest.id
    ada, bob, mod = factories.user("ada"), factories.user("bob"), factories.user("mod", role=Role.moderator)
    first = factories.comment(ada, episode, body="ada's old point")
    reply = factories.comment(bob, episode, parent=first, body="bob replies")
    factories.comment(ada, episode, parent=reply, body="ada again")
    late = factories.comment(bob, episode, body="bob, later")
    for post in (first, reply):
        post.created_at = utcnow() - timedelta(days=3)  # old: ada may no longer edit `first`
    questions.ask(bob, episode, "What would you do differently?")
    papers.submit(ada, episode, link="1803.03635", title="The Lottery Ticket Hypothesis")
    discussion.set_vote(ada, late, True)
    db.session.commit()
    sections = threads.build_sections(episodes.episode_content(episode, None, "best"), episode.slug)
    return sections, {"ada": ada, "bob": bob, "mod": mod, "guest": guest}, late


@pytest.mark.parametrize("who, voted, visit_days_ago, is_guest", [
    (None, set(), None, False),
    ("ada", "late", 1, False),     # an author with a vote, back after a day: bob's later post is new
    ("bob", set(), None, False),   # an author on a first visit
    ("mod", set(), 10, False),     # a moderator: edit links everywhere
    ("guest", set(), None, True),  # the episode's guest: answer forms on questions
])
def test_personalised_html_equals_filling_from_scratch(app, page, who, voted, visit_days_ago, is_guest):
    sections, users, late = page
    with app.test_request_context():
        viewer = users.get(who)
        voted = {late.id} if voted == "late" else voted
        last_visit = utcnow() - timedelta(days=visit_days_ago) if visit_days_ago else None
        whole = ""
        for html in (sections.thread.html, sections.papers_html, sections.questions_html):
            for _ in range(2):  # the second time from the prepared fills
                got = threads.personal_html(sections.thread, viewer, voted, last_visit, "token-1", is_guest, html)
                reader = threads.Reader(viewer, voted, last_visit, "token-1", is_guest)
                assert str(got) == from_scratch(sections.thread, html, reader)
                assert threads.CSRF_SLOT not in got and "<!--u:" not in got
            whole += got
    # The cases do reach what differs between readers.
    expected = {None: "log in to reply", "ada": "badge-new", "bob": "/delete", "mod": "/edit", "guest": "Post answer"}
    assert expected[who] in whole
    assert ('aria-pressed="true"' in whole) == (who == "ada")


def test_prepared_fills_stay_out_of_the_shared_cache(app, page):
    import pickle

    sections, users, _ = page
    with app.test_request_context():
        threads.personal_html(sections.thread, users["ada"], set(), None, "token-1")
    assert sections.thread.prefilled and pickle.loads(pickle.dumps(sections)).thread.prefilled == {}
