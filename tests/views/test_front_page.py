"""The front page shows where the conversation is (issue 22): active discussions ranked by
recent replies, votes and guests' answers, decaying with age as services/activity.py
documents; guests' answers, open questions and new papers; constant queries."""

from __future__ import annotations

from datetime import timedelta

from community.extensions import db
from community.models.base import utcnow
from community.services import activity, questions
from tests.conftest import text_of


def _thread(factories, episode, people, title: str, replies_ago: list[float]):
    root = factories.comment(people[0], episode, body=title)
    for n, hours in enumerate(replies_ago):
        factories.comment(people[(n + 1) % len(people)], episode, parent=root, body=f"Reply {n} to {title}",
                          created_at=utcnow() - timedelta(hours=hours))
    return root


def test_the_decay_is_the_documented_formula():
    now = utcnow()
    assert activity.hotness([("reply", now)], now) == 1.0
    assert abs(activity.hotness([("reply", now - timedelta(hours=12))], now) - 2 ** -1.5) < 1e-9
    assert activity.hotness([("answer", now)], now) == 3.0 and activity.hotness([("vote", now)], now) == 0.5


def test_steady_replies_today_outrank_a_burst_last_week(app, client, factories):
    episode = factories.episode(title="Scaling and surprises")
    people = [factories.user() for _ in range(4)]
    burst = _thread(factories, episode, people, "A burst a week ago", [150, 150.1, 150.2, 150.3, 150.4, 150.5])
    steady = _thread(factories, episode, people, "Steady today", [1, 2, 3])
    fresh = _thread(factories, episode, people, "One reply just now", [0])
    old = _thread(factories, episode, people, "Too old to count", [24 * 20])
    ranked = [t.root.id for t in activity.active_threads()]
    assert ranked == [steady.id, fresh.id, burst.id]  # 1.0+0.92+0.84 > 1.0 > 6 x ~0.03; the old one is out
    assert old.id not in ranked
    page = text_of(client.get("/"))
    assert page.index("Steady today") < page.index("One reply just now") < page.index("A burst a week ago")
    assert "3 new replies" in page and "1 new reply" in page


def test_hidden_roots_and_unpublished_episodes_stay_off_the_front_page(app, client, factories):
    people = [factories.user() for _ in range(3)]
    draft = factories.episode(is_published=False)
    _thread(factories, draft, people, "On a draft episode", [1, 1])
    episode = factories.episode()
    hidden = _thread(factories, episode, people, "A hidden thread", [1, 1])
    hidden.status = hidden.status.__class__("hidden")
    db.session.commit()
    page = text_of(client.get("/"))
    assert "On a draft episode" not in page and "A hidden thread" not in page


def test_answers_open_questions_and_papers_are_shown(app, client, factories):
    guest = factories.user()
    episode = factories.episode(guests=["Guest Person"])
    person = episode.guests[0]
    person.user_id = guest.id
    asker = factories.user()
    db.session.commit()
    answered = questions.ask(asker, episode, "How was the data collected?")
    waiting = questions.ask(asker, episode, "What would you do differently?")
    db.session.commit()
    questions.answer(guest, answered, "By hand, over two years.")
    db.session.commit()
    page = text_of(client.get("/"))
    assert "Guests answered" in page and "How was the data collected?" in page
    assert "Open questions for the guests" in page and "What would you do differently?" in page


def test_the_front_page_costs_the_same_queries_with_more_activity(app, client, factories, count_queries):
    people = [factories.user() for _ in range(3)]
    episode = factories.episode()
    _thread(factories, episode, people, "First", [1])
    client.application.config["PAGE_CACHE"] = False
    with count_queries() as few:
        assert client.get("/").status_code == 200
    for n in range(8):
        other = factories.episode()
        _thread(factories, other, people, f"Thread {n}", [1, 2])
    with count_queries() as many:
        assert client.get("/").status_code == 200
    assert many.count == few.count


def test_new_since_your_last_visit_counts_across_episodes_per_reader(app, client, factories, login):
    ada, bob, cy = factories.user("ada"), factories.user("bob"), factories.user("cy")
    first, second, unread = factories.episode(title="Scaling laws"), factories.episode(title="Robust RL"), factories.episode(title="Never opened")
    login(ada)
    for episode in (first, second):  # ada reads both discussions
        assert client.get(f"/episodes/{episode.slug}").status_code == 200
    before = text_of(client.get("/"))
    assert "New since your last visit" not in before  # nothing new yet
    for body in ("One.", "Two.", "Three."):
        factories.comment(bob, first, body=body)
    factories.comment(cy, second, body="Only one here.")
    factories.comment(ada, second, body="Her own reply is not news to her.")
    factories.comment(cy, unread, body="On an episode she never opened.")
    hidden = factories.comment(cy, second, body="Hidden.")
    hidden.status = hidden.status.__class__.hidden
    db.session.commit()
    page = text_of(client.get("/"))
    assert "New since your last visit" in page
    section = page.split("New since your last visit", 1)[1].split("Latest episode", 1)[0]
    assert "Scaling laws 3 new comments" in section and "Robust RL 1 new comment" in section
    assert section.index("Scaling laws") < section.index("Robust RL")  # most new first
    assert "Never opened" not in section
    # Reading an episode clears its count; the other stays.
    client.get(f"/episodes/{first.slug}")
    again = text_of(client.get("/")).split("Latest episode", 1)[0]
    assert "Scaling laws" not in again and "Robust RL 1 new comment" in again
    # Anonymous readers get the cached page, without anyone's counts.
    anonymous = app.test_client()
    assert "New since your last visit" not in text_of(anonymous.get("/"))
    assert "New since your last visit" not in text_of(anonymous.get("/"))


def test_a_logged_in_reader_does_not_pay_for_the_ranking_on_every_visit(app, client, factories, login, count_queries):
    """Logged-in readers get no cached page, but the lists under their own "New since your
    last visit" are the same for everyone: rendered once per version of the lists, they
    are not read again on the next visit; a new thread is ranked at once."""
    people = [factories.user() for _ in range(3)]
    _thread(factories, factories.episode(), people, "First", [1])
    login(factories.user("reader"))
    with count_queries() as first:
        assert "First" in text_of(client.get("/"))
    with count_queries() as again:
        assert "First" in text_of(client.get("/"))
    # The lists' version, the reader, their "new since" and the header's counts: nothing else.
    assert again.count <= 4 < first.count, again.statements
    _thread(factories, factories.episode(), people, "Second", [1, 2])
    assert "Second" in text_of(client.get("/"))
