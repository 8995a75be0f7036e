"""Personalising a shared thread: the usual reader's fills are prepared once, and only
the posts where a reader differs are filled per request. Whatever the reader, the result
must equal filling every marker for that reader from scratch."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from community.extensions import db
from community.models import Episode, Notification, Role
from community.models.base import utcnow
from community.services import discussion, episodes, papers, questions
from community.pages import threads


TOKEN = re.compile(r'(?<=name="csrf_token" value=")[^"]+|(?<=name="csrf_token" type="hidden" value=")[^"]+')


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


# ------------------------------------------------ the logged-in page frame (views/episodes.py)

def test_the_frame_gives_each_reader_exactly_the_page_rendered_for_them(app, page, login, monkeypatch, factories):
    """The frame is rendered by whoever comes first; every later reader must get what the
    full template would have rendered for them: no name, token or count of anyone else."""
    from community.views import episodes as episode_views

    sections, users, late = page
    url = f"/episodes/{db.session.scalar(select(Episode.slug).where(Episode.id == late.episode_id))}"
    seen_before = utcnow() - timedelta(days=2)  # so the later posts are "new" for everyone
    monkeypatch.setattr(discussion, "mark_visit", lambda user, episode: seen_before)
    unread = {who: db.session.scalar(select(func.count(Notification.id)).where(Notification.user_id == users[who].id))
              for who in ("ada", "bob")}
    assert all(unread.values())  # replies to each other: both have something to read
    pages = {}
    for who in ("ada", "bob", "mod", "guest", "ada"):
        reader = login(users[who], the_client=app.test_client())
        reader.get("/")  # takes the "Logged in" message: a page with a flash is not framed
        framed = reader.get(url)
        assert framed.status_code == 200
        monkeypatch.setattr(episode_views, "_frame_applies", lambda: False)
        templated = reader.get(url)
        monkeypatch.undo()
        monkeypatch.setattr(discussion, "mark_visit", lambda user, episode: seen_before)
        framed_html, templated_html = framed.get_data(as_text=True), templated.get_data(as_text=True)
        # The signed token carries a timestamp: one per page, compared apart from the rest.
        assert len(set(TOKEN.findall(framed_html))) == 1 and len(set(TOKEN.findall(templated_html))) == 1
        assert TOKEN.sub("TOKEN", framed_html) == TOKEN.sub("TOKEN", templated_html), who
        pages[who] = framed_html
    header = {who: html.split("</header>")[0] for who, html in pages.items()}
    assert 'href="/u/bob">bob</a>' in header["bob"] and "ada" not in header["bob"]  # the frame was ada's
    assert all(f'aria-label="{n} unread"' in header[who] for who, n in unread.items())
    assert "badge-new" in pages["bob"] and 'href="/moderation/queue"' in pages["mod"]
    assert "Post answer" in pages["guest"] and "Post answer" not in pages["ada"]
