"""Moderation: flags, auto-hide, queue, actions with receipts, appeals, the public log."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from community.extensions import db
from community.models import Flag, FlagReason, ModerationAction, Notification, NotificationKind, Post, PostStatus, Role, User
from community.models.base import utcnow
from community.services import moderation
from tests.conftest import text_of
from tests.unit.test_concurrency import run_concurrently

ROLES = ["anonymous", "member", "researcher", "guest", "moderator", "admin"]


@pytest.fixture
def episode(factories):
    return factories.episode(1, "An episode")


@pytest.fixture
def post(factories, episode):
    return factories.comment(factories.user("author"), episode, body="A spicy take about benchmarks.")


def as_role(app, factories, login, role: str):
    if role == "anonymous":
        return app.test_client()
    return login(factories.user(f"{role}_user", role=Role(role)), the_client=app.test_client())


MODERATION_ROUTES = [("GET", "/moderation/"), ("GET", "/moderation/queue"), ("POST", "/moderation/posts/{id}/act"),
                     ("POST", "/moderation/bulk"), ("GET", "/moderation/posts/{id}"), ("POST", "/moderation/posts/{id}")]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("method, path", MODERATION_ROUTES)
def test_moderation_routes_by_role(app, factories, login, post, role, method, path):
    browser = as_role(app, factories, login, role)
    url = path.format(id=post.id)
    response = browser.get(url) if method == "GET" else browser.post(url, data={"action": "hide", "reason": "Off-topic",
                                                                                  "post_ids": post.id})
    if role == "anonymous":
        assert response.status_code == 302 and "/auth/login" in response.headers["Location"]
    elif role in ("moderator", "admin"):
        assert response.status_code in (200, 302)
        if method == "GET":
            assert response.status_code == 200
    else:
        assert response.status_code == 403


@pytest.mark.parametrize("role", ROLES)
def test_public_log_is_public(app, factories, login, role):
    assert as_role(app, factories, login, role).get("/moderation/log").status_code == 200


def flag(browser, post, reason="spam", note=""):
    return browser.post(f"/posts/{post.id}/flag", data={"reason": reason, "note": note})


def status_of(post) -> PostStatus:
    db.session.expire_all()
    return db.session.get(Post, post.id).status


def test_three_member_flags_hide_a_post_for_everyone_but_author_and_moderators(app, factories, login, episode, post):
    for i in range(3):
        assert flag(login(factories.user(f"m{i}"), the_client=app.test_client()), post).status_code == 302
    assert status_of(post) == PostStatus.hidden
    reader = login(factories.user("reader"), the_client=app.test_client())
    assert "spicy take" not in text_of(reader.get(f"/episodes/{episode.slug}"))
    assert reader.get(f"/posts/{post.id}").status_code == 404
    assert "spicy take" not in reader.get(f"/episodes/{episode.slug}/discussion.atom").get_data(as_text=True)
    assert "spicy take" not in reader.get(f"/api/v1/episodes/{episode.slug}/thread").get_data(as_text=True)
    author = login(db.session.scalar(select(User).where(User.username == "author")), the_client=app.test_client())
    assert "spicy take" in text_of(author.get(f"/episodes/{episode.slug}"))
    moderator = as_role(app, factories, login, "moderator")
    assert "spicy take" in text_of(moderator.get(f"/episodes/{episode.slug}"))
    told = db.session.scalar(select(Notification).where(Notification.kind == NotificationKind.moderation))
    assert told.user_id == post.author_id and "hidden" in told.message
    assert db.session.scalar(select(ModerationAction.action)) == "auto_hide"


@pytest.mark.parametrize("flaggers, hidden", [
    ([("member", 30)] * 2, False),
    ([("researcher", 30)] * 2, True),  # 1.5 + 1.5
    ([("member", 3)] * 5, False),  # members under a week weigh 0.5: 2.5 < 3
    ([("member", 3)] * 6, True),
    ([("moderator", 1)], True),  # a moderator's flag is the whole threshold
])
def test_flag_weights(app, factories, login, post, flaggers, hidden):
    for i, (role, age_days) in enumerate(flaggers):
        user = factories.user(f"f{i}", role=Role(role), created_at=utcnow() - timedelta(days=age_days))
        assert flag(login(user, the_client=app.test_client()), post).status_code == 302
    assert (status_of(post) == PostStatus.hidden) is hidden


def test_one_flag_per_user_and_withdrawal(app, factories, login, post):
    browser = login(factories.user("m"), the_client=app.test_client())
    flag(browser, post)
    again = flag(browser, post, reason="unkind")
    assert again.status_code == 422 and "already flagged" in text_of(again)
    assert db.session.scalar(select(func.count(Flag.id))) == 1
    browser.post(f"/posts/{post.id}/unflag")
    db.session.expire_all()
    assert db.session.scalar(select(func.count(Flag.id))) == 0 and db.session.get(Post, post.id).flag_weight == 0


def test_one_flag_per_user_under_concurrent_requests(app, factories, post):
    from community.models import FlagReason
    from community.services import moderation

    flagger = factories.user("m")

    def job():
        try:
            moderation.flag(db.session.get(User, flagger.id), db.session.get(Post, post.id), FlagReason.spam)
        except Exception as error:  # the losers get a clean domain error
            assert "already flagged" in str(error)

    assert run_concurrently(app, [job for _ in range(8)]) == []
    db.session.expire_all()
    assert db.session.scalar(select(func.count(Flag.id))) == 1
    assert db.session.get(Post, post.id).flag_count == 1


def test_new_accounts_cannot_flag_and_other_needs_a_note(app, factories, login, post):
    newbie = login(factories.user("newbie", created_at=utcnow() - timedelta(hours=2)), the_client=app.test_client())
    assert flag(newbie, post).status_code == 403
    member = login(factories.user("m"), the_client=app.test_client())
    response = flag(member, post, reason="other")
    assert response.status_code == 422 and "short note" in text_of(response)
    assert db.session.scalar(select(func.count(Flag.id))) == 0


def test_needs_citation_notifies_and_hides_nothing(app, factories, login, post):
    for i in range(4):
        flag(login(factories.user(f"m{i}"), the_client=app.test_client()), post, reason="citation")
    assert status_of(post) == PostStatus.visible
    notes = db.session.scalars(select(Notification).where(Notification.kind == NotificationKind.citation)).all()
    assert len(notes) == 4 and all(n.user_id == post.author_id for n in notes)


@pytest.mark.parametrize("action, status", [("dismiss", PostStatus.visible), ("hide", PostStatus.hidden),
                                            ("remove", PostStatus.removed), ("restore", PostStatus.visible),
                                            ("lock", PostStatus.visible), ("suspend", PostStatus.visible),
                                            ("ban", PostStatus.visible)])
def test_every_action_writes_one_log_entry_and_one_notification(app, factories, login, post, action, status):
    # Each action where it applies: flags to dismiss, a hidden post to restore.
    if action == "dismiss":
        moderation.flag(factories.user("flagger"), post, FlagReason.off_topic)
    elif action == "restore":
        post.status, post.status_reason = PostStatus.hidden, "hidden until a moderator reviews it"
    db.session.commit()
    moderator = as_role(app, factories, login, "moderator")
    response = moderator.post(f"/moderation/posts/{post.id}/act",
                              data={"action": action, "reason": "Off-topic", "detail": "see the guidelines", "days": 3})
    assert response.status_code == 302
    assert status_of(post) == status
    [record] = db.session.scalars(select(ModerationAction)).all()
    assert record.action == action and record.reason.startswith("Off-topic: see the guidelines")
    [note] = db.session.scalars(select(Notification).where(Notification.user_id == post.author_id)).all()
    assert note.kind == NotificationKind.moderation and "see the guidelines" in note.message
    log = text_of(app.test_client().get("/moderation/log"))
    assert "Off-topic: see the guidelines" in log and "spicy take" not in log


def test_action_without_reason_is_refused(app, factories, login, post):
    moderator = as_role(app, factories, login, "moderator")
    moderator.post(f"/moderation/posts/{post.id}/act", data={"action": "remove", "reason": "Other", "detail": ""})
    assert status_of(post) == PostStatus.visible
    assert db.session.scalar(select(func.count(ModerationAction.id))) == 0


def test_removed_post_leaves_a_placeholder_with_the_reason(app, factories, login, episode, post):
    factories.comment(factories.user("replier"), parent=post, body="A calm reply")
    moderator = as_role(app, factories, login, "moderator")
    moderator.post(f"/moderation/posts/{post.id}/act", data={"action": "remove", "reason": "Unkind or personal attack"})
    text = text_of(app.test_client().get(f"/episodes/{episode.slug}"))
    assert "[removed by moderators: Unkind or personal attack]" in text and "A calm reply" in text
    assert "spicy take" not in text


def test_locked_thread_takes_no_replies(app, factories, login, post):
    moderator = as_role(app, factories, login, "moderator")
    moderator.post(f"/moderation/posts/{post.id}/act", data={"action": "lock", "reason": "Other", "detail": "cooling off"})
    member = login(factories.user("m"), the_client=app.test_client())
    response = member.post(f"/posts/{post.id}/reply", data={"body": "one more thing"})
    assert response.status_code == 422 and "locked" in text_of(response)


def test_suspended_user_can_read_but_every_post_is_refused(app, factories, login, episode, post):
    moderator = as_role(app, factories, login, "moderator")
    moderator.post(f"/moderation/posts/{post.id}/act", data={"action": "suspend", "reason": "Spam", "days": 2})
    author = login(db.session.scalar(select(User).where(User.username == "author")), the_client=app.test_client())
    page = author.get(f"/episodes/{episode.slug}")
    assert page.status_code == 200 and "Your account is suspended until" in text_of(page)
    other = factories.comment(factories.user("other"), episode)
    assert author.post(f"/episodes/{episode.slug}/comments", data={"body": "hi"}).status_code == 403
    assert author.post(f"/posts/{other.id}/vote", data={"up": "1"}, headers={"Accept": "application/json"}).status_code == 403
    assert author.post(f"/posts/{other.id}/flag", data={"reason": "spam"}).status_code == 403
    assert author.post(f"/episodes/{episode.slug}/papers", data={"link": "1706.03762", "title": "x"}).status_code == 403
    assert db.session.scalar(select(func.count(Post.id))) == 2


def test_appeal_once_puts_post_back_in_queue(app, factories, login, post):
    moderator = as_role(app, factories, login, "moderator")
    moderator.post(f"/moderation/posts/{post.id}/act", data={"action": "hide", "reason": "Off-topic"})
    assert "The queue is empty" in text_of(moderator.get("/moderation/queue"))
    author = login(db.session.scalar(select(User).where(User.username == "author")), the_client=app.test_client())
    assert author.post(f"/posts/{post.id}/appeal", data={"text": "It is about the episode's benchmark."}).status_code == 302
    queue = text_of(moderator.get("/moderation/queue"))
    assert "Appeal" in queue and "It is about the episode's benchmark." in queue
    author.post(f"/posts/{post.id}/appeal", data={"text": "again"})
    assert "already appealed" in text_of(author.get(f"/posts/{post.id}"))
    moderator.post(f"/moderation/posts/{post.id}/act", data={"action": "restore", "reason": "Looks fine"})
    assert status_of(post) == PostStatus.visible
    assert "The queue is empty" in text_of(moderator.get("/moderation/queue"))


def test_queue_lists_flags_with_reasons_and_filters(app, factories, login, episode, post):
    other = factories.comment(factories.user("writer"), episode, body="An off-topic ramble")
    for i in range(2):
        browser = login(factories.user(f"m{i}"), the_client=app.test_client())
        flag(browser, post, reason="unkind")
        flag(browser, other, reason="off_topic", note="not about the episode")
    moderator = as_role(app, factories, login, "moderator")
    text = text_of(moderator.get("/moderation/queue"))
    assert "Unkind by m0" in text and "not about the episode" in text
    only_unkind = text_of(moderator.get("/moderation/queue?reason=unkind"))
    assert "spicy take" in only_unkind and "off-topic ramble" not in only_unkind


def test_bulk_dismiss(app, factories, login, episode, post):
    other = factories.comment(factories.user("writer"), episode, body="Another")
    flagger = login(factories.user("m"), the_client=app.test_client())
    flag(flagger, post)
    flag(flagger, other)
    moderator = as_role(app, factories, login, "moderator")
    response = moderator.post("/moderation/bulk", data={"post_ids": [post.id, other.id], "action": "dismiss", "reason": "Looks fine"})
    assert response.status_code == 302
    assert db.session.scalar(select(func.count(ModerationAction.id))) == 2
    assert "The queue is empty" in text_of(moderator.get("/moderation/queue"))


def test_action_answers_json_for_in_place_updates(app, factories, login, post):
    moderator = as_role(app, factories, login, "moderator")
    data = moderator.post(f"/moderation/posts/{post.id}/act", data={"action": "hide", "reason": "Spam"},
                          headers={"Accept": "application/json"}).get_json()
    assert data["ok"] and data["status"] == "hidden"


def test_dashboard_draws_svg_charts(app, factories, login, post):
    flag(login(factories.user("m"), the_client=app.test_client()), post)
    html = as_role(app, factories, login, "moderator").get("/moderation/").get_data(as_text=True)
    assert html.count("<svg") == 1 or html.count("<svg") == 2
    assert "open item" in html and "<rect" in html


def test_premoderation_of_first_posts(app, client, factories, login, episode):
    app.config["PREMODERATION_FIRST_POSTS"] = 1
    login(factories.user("newcomer"))
    client.post(f"/episodes/{episode.slug}/comments", data={"body": "my first words"})
    first = db.session.scalar(select(Post))
    assert first.status == PostStatus.pending
    assert "my first words" not in text_of(app.test_client().get(f"/episodes/{episode.slug}"))
    moderator = as_role(app, factories, login, "moderator")
    assert "my first words" in text_of(moderator.get("/moderation/queue"))
    client.post(f"/episodes/{episode.slug}/comments", data={"body": "second"})
    assert db.session.scalar(select(Post).where(Post.body_source == "second")).status == PostStatus.visible
