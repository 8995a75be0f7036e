"""Moderation where the post is read (issue 22): a menu on every post for moderators, the
queue's decision behind it (the same log entry and notice), the queue's count in the
header, and a queue that offers only what applies, with nothing chosen in advance."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from community.extensions import db
from community.models import FlagReason, ModerationAction, Notification, Post, PostStatus, Role
from community.models.base import utcnow
from community.services import moderation, papers, questions
from tests.conftest import text_of

@pytest.fixture
def episode(factories):
    return factories.episode(4, "Joel Lehman on open-endedness")


@pytest.fixture
def spam(factories, episode):
    thread = factories.comment(factories.user("writer"), episode, body="Open-endedness needs a curriculum.")
    return factories.comment(factories.user("spammer"), episode, parent=thread, body="Cheap pills at pills.example")


@pytest.fixture
def moderator(app, factories, login):
    return login(factories.user("mod", role=Role.moderator), the_client=app.test_client())


def counts() -> tuple[int, int]:
    return (db.session.scalar(select(func.count(ModerationAction.id))),
            db.session.scalar(select(func.count(Notification.id))))


def status_of(post) -> PostStatus:
    db.session.expire_all()
    return db.session.get(Post, post.id).status


def menu_of(page: str, post_id: int) -> str:
    """The moderator's menu in the comment `post_id` (empty when there is none)."""
    own = page.split(f'id="c{post_id}"', 1)[1].split('<li class="comment', 1)[0]  # up to the next comment
    found = re.search(r'<details class="inline mod-menu">.*?</details>', own, re.S)
    return found[0] if found else ""


# ------------------------------------------------------------------ the menu on each post

def test_the_menu_is_on_every_post_for_moderators_and_no_one_else(app, factories, login, episode, spam, moderator):
    for url in (f"/episodes/{episode.slug}", f"/posts/{spam.parent_id}"):
        for _ in range(2):  # the second time from the shared rendering (and the moderators' frame)
            page = moderator.get(url).get_data(as_text=True)
            menu = menu_of(page, spam.id)
            assert ">hide</a>" in menu and ">remove</a>" in menu and ">lock thread</a>" in menu
            assert ">suspend author</a>" in menu and ">restore</a>" not in menu
            assert f'href="/moderation/posts/{spam.id}?action=remove"' in menu
    readers = {"anonymous": app.test_client(), "member": login(factories.user("member"), the_client=app.test_client()),
               "guest": login(factories.user("guest", role=Role.guest), the_client=app.test_client()),
               "host": login(factories.user("host", role=Role.host), the_client=app.test_client())}
    for who, browser in readers.items():
        for url in (f"/episodes/{episode.slug}", f"/posts/{spam.parent_id}"):
            page = browser.get(url).get_data(as_text=True)
            assert "mod-menu" not in page and "/moderation/posts/" not in page, (who, url)


def test_the_menu_follows_the_posts_state(app, factories, moderator, episode, spam):
    moderation.act(factories.user("mod2", role=Role.moderator), spam, "hide", "Spam")
    db.session.commit()
    menu = menu_of(moderator.get(f"/episodes/{episode.slug}").get_data(as_text=True), spam.id)
    assert ">restore</a>" in menu and ">remove</a>" in menu and ">hide</a>" not in menu
    # A removed post with replies stays as a placeholder: its menu is under it, to restore it.
    thread = db.session.get(Post, spam.parent_id)
    moderation.act(factories.user("mod3", role=Role.moderator), thread, "remove", "Off-topic")
    db.session.commit()
    page = moderator.get(f"/episodes/{episode.slug}").get_data(as_text=True)
    assert "[removed by moderators: Off-topic]" in page
    menu = menu_of(page, thread.id)
    assert ">restore</a>" in menu and ">lock thread</a>" in menu and ">remove</a>" not in menu


def test_papers_questions_and_suggestions_have_it_on_their_own_threads(app, factories, moderator, episode):
    ada = factories.user("ada")
    paper = papers.submit(ada, episode, link="1803.03635", title="The Lottery Ticket Hypothesis").post
    question = questions.ask(ada, episode, "What would you do differently?")
    db.session.commit()
    for post in (paper, question):
        page = moderator.get(f"/posts/{post.id}").get_data(as_text=True)
        assert f'href="/moderation/posts/{post.id}?action=hide"' in page


# ------------------------------------------------------------------ one implementation

@pytest.mark.parametrize("action, extra", [("hide", {}), ("remove", {}), ("lock", {}), ("suspend", {"days": "3"})])
def test_the_menu_and_the_queue_write_the_same_rows(app, factories, login, episode, moderator, action, extra):
    """The same decision on two like posts, one from the queue, one from the post's menu:
    exactly one log entry and one notice each, alike but for the post and its author."""
    posts = {path: factories.comment(factories.user(f"author_{path}"), episode, body=f"Spam sent for the {path}.")
             for path in ("queue", "menu")}
    flagger = factories.user("flagger")
    for post in posts.values():
        moderation.flag(flagger, post, FlagReason.spam)
    db.session.commit()
    rows = {}
    for path, post in posts.items():
        before = counts()
        url = f"/moderation/posts/{post.id}/act" if path == "queue" else f"/moderation/posts/{post.id}"
        response = moderator.post(url, data={"action": action, "reason": "Spam", "detail": "links to a shop", **extra})
        assert response.status_code == 302
        assert counts() == (before[0] + 1, before[1] + 1)  # exactly one log entry and one notification
        record = db.session.scalar(select(ModerationAction).order_by(ModerationAction.id.desc()))
        note = db.session.scalar(select(Notification).order_by(Notification.id.desc()))
        assert (record.post_id, record.target_user_id, note.user_id, note.post_id) == \
            (post.id, post.author_id, post.author_id, post.id)
        rows[path] = ((record.action, record.moderator_id, record.reason),
                      (note.kind, note.actor_id, re.sub(r"\d{4}-\d\d-\d\d \d\d:\d\d", "WHEN", note.message)))
    assert rows["menu"] == rows["queue"]
    assert rows["menu"][0][2].startswith("Spam: links to a shop")


# ------------------------------------------------------------------ who may

NON_MODERATORS = ["anonymous", "new member", "member", "researcher", "guest", "host", "suspended", "unconfirmed"]


def as_reader(app, factories, login, who: str):
    if who == "anonymous":
        return app.test_client()
    fields = {"new member": {"created_at": utcnow() - timedelta(hours=1)},
              "suspended": {"suspended_until": utcnow() + timedelta(days=3)}}.get(who, {})
    role = who if who in ("member", "researcher", "guest", "host") else "member"
    user = factories.user(who.replace(" ", "_"), role=Role(role), confirmed=who != "unconfirmed", **fields)
    return login(user, the_client=app.test_client())


@pytest.mark.parametrize("who", NON_MODERATORS)
def test_every_non_moderator_is_refused_and_nothing_changes(app, factories, login, spam, who):
    browser = as_reader(app, factories, login, who)
    before = counts()
    for response in (browser.get(f"/moderation/posts/{spam.id}?action=remove"),
                     browser.post(f"/moderation/posts/{spam.id}", data={"action": "remove", "reason": "Spam"})):
        if who == "anonymous":
            assert response.status_code == 302 and "/auth/login" in response.headers["Location"]
        elif who == "unconfirmed" and response.request.method == "POST":
            # Refused before any view (policy.refuse_unconfirmed_writes): sent back to confirm first.
            assert response.status_code == 303, who
        else:
            assert response.status_code == 403, who
    assert counts() == before and status_of(spam) == PostStatus.visible


def test_a_forged_request_is_refused(app, spam, moderator):
    before = counts()
    response = moderator.post(f"/moderation/posts/{spam.id}", data={"action": "remove", "reason": "Spam"}, csrf=False)
    assert response.status_code == 400 and "CSRF" in text_of(response)
    assert counts() == before and status_of(spam) == PostStatus.visible


# ------------------------------------------------------------------ the decision page

def test_a_decision_returns_to_the_post_with_a_flash(app, episode, spam, moderator):
    page = f"/episodes/{episode.slug}"
    form = moderator.get(f"/moderation/posts/{spam.id}?action=hide", headers={"Referer": f"http://localhost{page}"})
    html = form.get_data(as_text=True)
    assert form.status_code == 200 and "Cheap pills" in html
    assert f'name="next" value="{page}"' in html and '<option value="hide" selected>' in html
    assert re.search(r'<option value="[^"]+" selected>', html.split('name="reason"')[1].split("</select>")[0]) is None
    done = moderator.post(f"/moderation/posts/{spam.id}", data={"action": "hide", "reason": "Spam", "next": page})
    assert done.status_code == 302 and done.headers["Location"].endswith(f"{page}#c{spam.id}")
    after = moderator.get(done.headers["Location"])
    assert "Done: hid post" in text_of(after) and status_of(spam) == PostStatus.hidden


def test_a_removed_leaf_returns_to_where_it_was(app, episode, spam, moderator):
    page = f"/episodes/{episode.slug}"
    done = moderator.post(f"/moderation/posts/{spam.id}", data={"action": "remove", "reason": "Spam", "next": page})
    # Removed with no replies, it leaves the page even for moderators: back to its parent.
    assert done.headers["Location"].endswith(f"{page}#c{spam.parent_id}")
    assert status_of(spam) == PostStatus.removed


def test_a_refused_decision_keeps_what_was_chosen_and_typed(app, spam, moderator):
    before = counts()
    refused = moderator.post(f"/moderation/posts/{spam.id}", data={"action": "remove", "detail": "the shop link again"})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "Choose a reason." in text_of(refused)
    assert 'value="the shop link again"' in html and '<option value="remove" selected>' in html
    # An action that does not apply to the post as it is: said, and nothing written.
    wrong = moderator.post(f"/moderation/posts/{spam.id}", data={"action": "restore", "reason": "Looks fine",
                                                                  "detail": "kept"})
    assert wrong.status_code == 422 and "already public" in text_of(wrong) and 'value="kept"' in wrong.get_data(as_text=True)
    assert counts() == before and status_of(spam) == PostStatus.visible


def test_a_menu_entry_that_no_longer_applies_chooses_nothing(app, factories, spam, moderator):
    moderation.act(factories.user("mod2", role=Role.moderator), spam, "lock", "Cooling off")
    db.session.commit()
    html = moderator.get(f"/moderation/posts/{spam.id}?action=lock").get_data(as_text=True)
    assert "its thread is already locked" in html
    assert '<option value="unlock">' in html and 'value="lock"' not in html and " selected>" not in html


# ------------------------------------------------------------------ the queue

def test_queue_names_the_episode_and_offers_only_what_applies(app, factories, episode, spam, moderator):
    moderation.flag(factories.user("flagger"), spam, FlagReason.spam)
    db.session.commit()
    html = moderator.get("/moderation/queue").get_data(as_text=True)
    row = html.split(f'id="q{spam.id}"')[1]
    assert f'href="/episodes/{episode.slug}#c{spam.id}">#4 Joel Lehman on open-endedness</a>' in row
    offered = set(re.findall(r'<option value="(\w+)"', row.split('name="action"')[1].split("</select>")[0]))
    assert offered == {"dismiss", "hide", "remove", "lock", "suspend", "ban"}
    assert " selected" not in row.split("</form>")[0]  # neither an action nor a reason chosen in advance

    mod2 = factories.user("mod2", role=Role.moderator)
    moderation.act(mod2, spam, "lock", "Cooling off")
    moderation.act(mod2, spam, "suspend", "Spam", days=2)
    moderation.act(mod2, spam, "hide", "Spam")
    moderation.flag(factories.user("flagger2"), db.session.get(Post, spam.parent_id), FlagReason.spam)
    spam.appeal_note, spam.appealed_at = "Not spam", utcnow()  # back in the queue as an appeal
    db.session.commit()
    row = moderator.get("/moderation/queue").get_data(as_text=True).split(f'id="q{spam.id}"')[1]
    offered = set(re.findall(r'<option value="(\w+)"', row.split('name="action"')[1].split("</select>")[0]))
    assert offered == {"dismiss", "remove", "restore", "unlock", "ban", "unsuspend"}


def test_bulk_remove_names_what_it_skipped(app, factories, episode, spam, moderator):
    other = factories.comment(factories.user("writer2"), episode, body="More pills.")
    flagger = factories.user("flagger")
    for post in (spam, other):
        moderation.flag(flagger, post, FlagReason.spam)
    db.session.commit()
    unchosen = moderator.post("/moderation/bulk", data={"post_ids": [spam.id, other.id]})
    assert unchosen.status_code == 422 and "Choose what to do with the selected posts." in text_of(unchosen)
    before = counts()
    done = moderator.post("/moderation/bulk", data={"post_ids": [spam.id, other.id], "action": "remove", "reason": "Spam"})
    assert done.status_code == 302
    assert status_of(spam) == status_of(other) == PostStatus.removed and counts() == (before[0] + 2, before[1] + 2)
    again = moderator.post("/moderation/bulk", data={"post_ids": [spam.id], "action": "remove", "reason": "Spam"},
                           follow_redirects=True)
    assert f"Skipped (it does not apply): post {spam.id}" in text_of(again) and counts() == (before[0] + 2, before[1] + 2)


# ------------------------------------------------------------------ the header

def test_the_header_counts_the_queue_for_moderators_and_links_the_dashboard(app, factories, login, episode, spam,
                                                                            moderator):
    member = login(factories.user("member"), the_client=app.test_client())
    moderation.flag(factories.user("flagger"), spam, FlagReason.spam)
    db.session.commit()
    for url in ("/", f"/episodes/{episode.slug}", f"/episodes/{episode.slug}"):  # the last one from the frame
        header = moderator.get(url).get_data(as_text=True).split("</header>")[0]
        assert re.search(r'<a href="/moderation/" class="moderation-link">Moderation <span class="count-badge" '
                         r'aria-label="1 in the queue">1</span></a>', header), url
        assert "Moderation" not in member.get(url).get_data(as_text=True).split("</header>")[0]
    moderator.post(f"/moderation/posts/{spam.id}", data={"action": "dismiss", "reason": "Looks fine"})
    header = moderator.get(f"/episodes/{episode.slug}").get_data(as_text=True).split("</header>")[0]
    assert 'href="/moderation/" class="moderation-link">Moderation</a>' in header and "in the queue" not in header
