"""Personalising a shared thread: the usual reader's fills are prepared once, and only
the posts where a reader differs are filled per request. Whatever the reader, the result
must equal filling every marker for that reader from scratch."""

from __future__ import annotations

import re
from datetime import timedelta
from types import SimpleNamespace

import pytest
from flask import g, render_template_string
from flask_login import current_user
from sqlalchemy import func, select

from community.extensions import db
from community.models import Episode, Notification, Role
from community.models.base import utcnow
from community.services import discussion, episodes, papers, questions
from community.pages import frames, readers, threads
from community.pages.readers import Reader


TOKEN = re.compile(r'(?<=name="csrf_token" value=")[^"]+|(?<=name="csrf_token" type="hidden" value=")[^"]+')


@pytest.fixture
def page(app, factories):
    guest = factories.user("guest", role=Role.guest)
    episode = factories.episode(13, guests=[("Guest Speaker", "MIT")])
    episode.appearances[0].person.user_id = guest.id
    ada, bob, mod = factories.user("ada"), factories.user("bob"), factories.user("mod", role=Role.moderator)
    troll = factories.user("troll", suspended_until=utcnow() + timedelta(days=3))
    first = factories.comment(ada, episode, body="ada's old point")
    reply = factories.comment(bob, episode, parent=first, body="bob replies")
    factories.comment(ada, episode, parent=reply, body="ada again")
    late = factories.comment(bob, episode, body="bob, later")
    for post in (first, reply):
        post.created_at = utcnow() - timedelta(days=3)  # old: ada may no longer edit `first`
    questions.ask(bob, episode, "What would you do differently?")
    papers.submit(ada, episode, link="1803.03635", title="The Lottery Ticket Hypothesis")
    # Links: their submitter (ada) and moderators say whether each is a paper.
    papers.submit(ada, episode, link="https://example.org/essay", title="An essay")
    papers.submit(ada, episode, link="https://example.org/preprint", title="A preprint").post.paper.confirmed_paper = True
    discussion.set_vote(ada, late, True)
    db.session.commit()
    with app.test_request_context():
        sections = frames.build_sections(episodes.episode_content(episode, None, "best"), episode.slug)
    return sections, {"ada": ada, "bob": bob, "mod": mod, "guest": guest, "troll": troll}, late


# Readers that between them make every slot differ from its class's usual fill.
CASES = [
    (None, set(), None, False),
    ("ada", "late", 1, False),     # an author with a vote, back after a day: bob's later post is new
    ("bob", set(), None, False),   # an author on a first visit
    ("mod", set(), 10, False),     # a moderator: edit links everywhere
    ("guest", set(), None, True),  # the episode's guest: answer forms on questions
    ("troll", set(), None, False),  # suspended: reads, and is offered no vote, reply or flag
]


def make_reader(users, late, who, voted, visit_days_ago, is_guest) -> Reader:
    voted = {late.id} if voted == "late" else voted
    last_visit = utcnow() - timedelta(days=visit_days_ago) if visit_days_ago else None
    return Reader(users.get(who), voted=voted, last_visit=last_visit, csrf="token-1", is_guest=is_guest)


def htmls(sections) -> list[str]:
    return [sections.thread.html, sections.papers_html, sections.questions_html]


@pytest.mark.parametrize("who, voted, visit_days_ago, is_guest", CASES)
def test_personalised_html_equals_filling_from_scratch(app, page, who, voted, visit_days_ago, is_guest):
    sections, users, late = page
    with app.test_request_context():
        reader = make_reader(users, late, who, voted, visit_days_ago, is_guest)
        whole = ""
        for html in htmls(sections):
            for _ in range(2):  # the second time from the prepared fills
                got = threads.personal_html(sections.thread, reader, html)
                assert str(got) == readers.fill(html, sections.thread.facts, reader)
                assert readers.CSRF_SLOT not in got and "<!--u:" not in got
            whole += got
    # The cases do reach what differs between readers.
    expected = {None: "log in to reply", "ada": "badge-new", "bob": "/delete", "mod": "/edit", "guest": "Post answer",
                "troll": "parent"}
    assert expected[who] in whole
    if who == "troll":
        assert 'class="vote ' not in whole and "flag-link" not in whole and "reply-link" not in whole
    assert ('aria-pressed="true"' in whole) == (who == "ada")


def test_every_declared_slot_is_on_the_test_page_and_differs_between_readers(app, page):
    """Walks the registry, so a new slot is covered by the test above as soon as it is
    declared, or fails here until the test page carries it for readers it differs for."""
    sections, users, late = page
    found: dict[str, dict[int, set[str]]] = {name: {} for name in readers.SLOTS}
    with app.test_request_context():
        for case in CASES:
            reader = make_reader(users, late, *case)
            views = {name: reader.view(s.needs) for name, s in readers.SLOTS.items()}
            for html in htmls(sections):
                for m in readers.MARKER.finditer(html):
                    name, post_id = m[1], int(m[2])
                    slot = readers.SLOTS[name]
                    # A slot may read only the facts it declared, as it may read only its declared fields.
                    facts = SimpleNamespace(**{f: getattr(sections.thread.facts[post_id], f) for f in slot.facts})
                    found[name].setdefault(post_id, set()).add(slot.render(post_id, facts, views[name]))
    missing = sorted(name for name, posts in found.items() if not posts)
    assert not missing, f"slots on no post of the test page: {missing} (give the `page` fixture a post that has them)"
    alike = sorted(name for name, posts in found.items() if all(len(fills) == 1 for fills in posts.values()))
    assert not alike, f"slots that no case fills differently: {alike} (add a reader to CASES that they differ for)"


def test_a_slot_reads_only_what_it_declares(app, page):
    sections, users, late = page
    view = Reader(users["ada"], csrf="token-1").view(frozenset({"logged_in"}))
    assert view.logged_in is True
    with pytest.raises(readers.UndeclaredNeed):
        view.own  # noqa: B018
    with pytest.raises(ValueError):
        readers.slot("A", needs={"own"})  # taken
    with pytest.raises(ValueError):
        readers.slot("Q", needs={"favourite_colour"})


def test_a_new_slot_is_one_declaration(app, page):
    """Declaring a slot is all it takes: its marker is recognised, it is prefilled for each
    class, and filled again exactly where a reader differs (here: their own posts)."""
    sections, users, late = page
    readers.slot("Z", needs={"own"}, facts={"author_id"})(lambda post_id, f, r: " (yours)" if r.own(f) else "")
    try:
        html = "".join(f"<p>{post_id}{readers.SLOTS['Z'].marker(post_id)}</p>" for post_id in sections.thread.facts)
        with app.test_request_context():
            for case in CASES:
                reader = make_reader(users, late, *case)
                got = threads.personal_html(sections.thread, reader, html)
                assert str(got) == readers.fill(html, sections.thread.facts, reader)
                mine = sum(f.author_id == reader.id for f in sections.thread.facts.values())
                assert got.count("(yours)") == mine
    finally:
        del readers.SLOTS["Z"]
        readers._compile()


def test_the_class_stand_in_refuses_personal_data(app):
    """What is rendered once for a class of readers cannot show one reader's data: as
    current_user, the stand-in answers what the class shares and raises on the rest."""
    with app.test_request_context():
        with readers.as_class(readers.ClassReader(logged_in=True, moderator=False)):
            assert render_template_string("{{ current_user.is_authenticated }} {{ csrf_token() }}") == \
                f"True {readers.CSRF_SLOT}"
            for personal in ("current_user.username", "current_user.id", "unread_count()"):
                with pytest.raises(readers.PersonalDataInSharedFrame):
                    render_template_string("{{ %s }}" % personal)
        # The lists are shared by anonymous readers and members: not even that is known.
        with readers.as_class(readers.ClassReader(logged_in=None, moderator=False)):
            with pytest.raises(readers.PersonalDataInSharedFrame):
                render_template_string("{{ current_user.is_authenticated }}")
        assert not current_user.is_authenticated and "csrf_token" not in g  # all put back


def test_prepared_fills_stay_out_of_the_shared_cache(app, page):
    import pickle

    sections, users, _ = page
    with app.test_request_context():
        threads.personal_html(sections.thread, Reader(users["ada"], csrf="token-1"))
    assert sections.thread.prefilled and pickle.loads(pickle.dumps(sections)).thread.prefilled == {}


# ------------------------------------------------ the logged-in page frame (pages/frames.py)

def test_the_frame_gives_each_reader_exactly_the_page_rendered_for_them(app, page, login, monkeypatch, factories):
    """The frame is rendered by whoever comes first; every later reader must get what the
    full template would have rendered for them: no name, token or count of anyone else."""
    sections, users, late = page
    url = f"/episodes/{db.session.scalar(select(Episode.slug).where(Episode.id == late.episode_id))}"
    seen_before = utcnow() - timedelta(days=2)  # so the later posts are "new" for everyone
    monkeypatch.setattr(discussion, "mark_visit", lambda user, episode, **_: seen_before)
    unread = {who: db.session.scalar(select(func.count(Notification.id)).where(Notification.user_id == users[who].id))
              for who in ("ada", "bob")}
    assert all(unread.values())  # replies to each other: both have something to read
    pages = {}
    for who in ("ada", "bob", "mod", "guest", "ada"):
        reader = login(users[who], the_client=app.test_client())
        reader.get("/")  # takes the "Logged in" message (the templated page would not show it again)
        framed = reader.get(url)
        assert framed.status_code == 200
        monkeypatch.setattr(frames, "frame_applies", lambda: False)
        templated = reader.get(url)
        monkeypatch.undo()
        monkeypatch.setattr(discussion, "mark_visit", lambda user, episode, **_: seen_before)
        framed_html, templated_html = framed.get_data(as_text=True), templated.get_data(as_text=True)
        # The signed token carries a timestamp: one per page, compared apart from the rest.
        assert len(set(TOKEN.findall(framed_html))) == 1 and len(set(TOKEN.findall(templated_html))) == 1
        assert TOKEN.sub("TOKEN", framed_html) == TOKEN.sub("TOKEN", templated_html), who
        pages[who] = framed_html
    header = {who: html.split("</header>")[0] for who, html in pages.items()}
    assert 'href="/u/bob">bob</a>' in header["bob"] and "ada" not in header["bob"]  # the frame was ada's
    assert all(f'aria-label="{n} unread"' in header[who] for who, n in unread.items())
    assert "badge-new" in pages["bob"] and 'href="/moderation/"' in header["mod"] and "/moderation/posts/" in pages["mod"]
    assert "Post answer" in pages["guest"] and "Post answer" not in pages["ada"]


def test_a_page_with_a_message_is_framed_too_and_says_it_to_that_reader_only(app, page, login, monkeypatch):
    """The writer's own page after a write carries "Posted": the notices are a slot of the
    frame (rendered per request), so that page is framed like anyone's, and equals the page
    the full template renders for them; the next reader of the same frame sees no message."""
    sections, users, late = page
    url = f"/episodes/{db.session.scalar(select(Episode.slug).where(Episode.id == late.episode_id))}"
    seen_before = utcnow() - timedelta(days=2)
    monkeypatch.setattr(discussion, "mark_visit", lambda user, episode, **_: seen_before)
    ada, bob = (login(users[who], the_client=app.test_client()) for who in ("ada", "bob"))
    for reader in (ada, bob):
        reader.get("/")
    framed_pages = []
    real_frame = frames.episode_frame
    monkeypatch.setattr(frames, "episode_frame", lambda *a: framed_pages.append(1) or real_frame(*a))

    def with_message() -> str:
        with ada.session_transaction() as session:
            session["_flashes"] = [("success", "Posted: a message for ada alone.")]
        return ada.get(url).get_data(as_text=True)

    framed = with_message()
    assert framed_pages and "Posted: a message for ada alone." in framed
    monkeypatch.setattr(frames, "frame_applies", lambda: False)
    templated = with_message()
    assert TOKEN.sub("TOKEN", framed) == TOKEN.sub("TOKEN", templated)
    monkeypatch.undo()
    assert "Posted: a message for ada alone." not in bob.get(url).get_data(as_text=True)
