"""Notifications: replies, mentions, answers; the page; email now, digests, unsubscribe."""

from __future__ import annotations

import email
import re

import pytest
from sqlalchemy import func, select

from community.extensions import db
from community.models import Notification, NotificationKind, Post
from community.services import notifications
from tests.conftest import text_of


@pytest.fixture
def episode(factories):
    return factories.episode(1, "An episode")


def kinds_for(user) -> list[str]:
    return sorted(n.kind.value for n in db.session.scalars(select(Notification).where(Notification.user_id == user.id)))


def test_reply_and_mention_notify_once_each(app, factories, login, episode):
    ada, bob, cy = factories.user("ada"), factories.user("bob"), factories.user("cyd")
    top = factories.comment(bob, episode, body="Bob's point")
    browser = login(ada, the_client=app.test_client())
    browser.post(f"/posts/{top.id}/reply", data={"body": "Good point @bob, and @cyd should see this. @nobody_here"})
    assert kinds_for(bob) == ["reply"]  # mentioned too, but one event tells him once
    assert kinds_for(cy) == ["mention"]
    assert kinds_for(ada) == []
    reply = db.session.scalar(select(Post).where(Post.parent_id == top.id))
    assert '<a href="/u/cyd" rel="nofollow ugc noopener">@cyd</a>' in reply.body_html
    assert "@nobody_here" in reply.body_html and 'href="/u/nobody_here"' not in reply.body_html


def test_no_notification_for_replying_to_yourself(app, factories, login, episode):
    ada = factories.user("ada")
    top = factories.comment(ada, episode)
    login(ada, the_client=app.test_client()).post(f"/posts/{top.id}/reply", data={"body": "also, @ada"})
    assert kinds_for(ada) == []


def test_edit_notifies_only_newly_mentioned(app, factories, login, episode):
    ada, cy, dee = factories.user("ada"), factories.user("cyd"), factories.user("dee")
    browser = login(ada, the_client=app.test_client())
    browser.post(f"/episodes/{episode.slug}/comments", data={"body": "hi @cyd"})
    post = db.session.scalar(select(Post))
    browser.post(f"/posts/{post.id}/edit", data={"body": "hi @cyd and @dee", "submit": "Save"})
    assert kinds_for(cy) == ["mention"] and kinds_for(dee) == ["mention"]


def test_suspended_users_get_no_notifications(app, factories, login, episode):
    from datetime import timedelta

    from community.models.base import utcnow

    ada = factories.user("ada")
    gone = factories.user("gone")
    top = factories.comment(gone, episode)
    gone.suspended_until = utcnow() + timedelta(days=1)
    db.session.commit()
    login(ada, the_client=app.test_client()).post(f"/posts/{top.id}/reply", data={"body": "hello"})
    assert kinds_for(gone) == []


def test_notifications_page_unread_count_and_mark_read(app, factories, login, episode):
    ada, bob = factories.user("ada"), factories.user("bob")
    top = factories.comment(bob, episode)
    login(ada, the_client=app.test_client()).post(f"/posts/{top.id}/reply", data={"body": "first"})
    login(ada, the_client=app.test_client()).post(f"/posts/{top.id}/reply", data={"body": "second"})
    browser = login(bob, the_client=app.test_client())
    html = browser.get("/").get_data(as_text=True)
    assert 'aria-label="2 unread">2</span>' in html
    page = browser.get("/notifications/")
    assert "ada replied to “A comment.” on #1 An episode: second" in text_of(page)  # quoted while the post is public (Notification.text)
    first = db.session.scalar(select(Notification).order_by(Notification.id))
    target = browser.get(f"/notifications/{first.id}")
    assert target.status_code == 302 and target.headers["Location"].endswith(f"/posts/{first.post_id}#c{first.post_id}")
    assert 'aria-label="1 unread"' in browser.get("/").get_data(as_text=True)
    browser.post("/notifications/read-all")
    assert "unread" not in browser.get("/").get_data(as_text=True).split("<main")[0]


def test_cannot_open_someone_elses_notification(app, factories, login, episode):
    ada, bob = factories.user("ada"), factories.user("bob")
    top = factories.comment(bob, episode)
    login(ada, the_client=app.test_client()).post(f"/posts/{top.id}/reply", data={"body": "hi"})
    note = db.session.scalar(select(Notification))
    assert login(factories.user("mallory"), the_client=app.test_client()).get(f"/notifications/{note.id}").status_code == 404


@pytest.fixture
def app_config(smtp):
    return {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": smtp[0].port}


def _parts(message) -> dict[str, str]:
    return {part.get_content_type(): part.get_payload(decode=True).decode() for part in message.walk()
            if not part.is_multipart()}


def test_reply_email_arrives_with_text_and_html_and_readable_math(app, factories, login, episode, smtp):
    _, inbox = smtp
    ada, bob = factories.user("ada"), factories.user("bob", email="bob@example.org")
    top = factories.comment(bob, episode)
    login(ada, the_client=app.test_client()).post(f"/posts/{top.id}/reply", data={"body": "The loss is $\\mathcal{L}(\\theta)$."})
    assert len(inbox.messages) == 1
    message = inbox.messages[0]
    assert message["To"] == "bob@example.org" and "ada replied" in message["Subject"]
    parts = _parts(message)
    assert "\\mathcal{L}(\\theta)" in parts["text/plain"]  # the LaTeX source reads fine as text
    # Most mail clients drop MathML (leaving "L(θ)" run together): the HTML part quotes the source too.
    assert "<math" not in parts["text/html"] and "$\\mathcal{L}(\\theta)$" in parts["text/html"]
    assert "- ada replied to “A comment.” on #1 An episode: The loss is $\\mathcal{L}(\\theta)$." in parts["text/plain"]
    assert "/notifications/unsubscribe/" in parts["text/plain"]


def test_unsubscribe_link_works_without_logging_in(app, factories, login, episode, smtp):
    _, inbox = smtp
    ada, bob = factories.user("ada"), factories.user("bob")
    top = factories.comment(bob, episode)
    login(ada, the_client=app.test_client()).post(f"/posts/{top.id}/reply", data={"body": "one"})
    link = re.search(r"http://localhost(/notifications/unsubscribe/\S+)", _parts(inbox.messages[0])["text/plain"]).group(1)
    anonymous = app.test_client()
    assert "Stop these emails?" in text_of(anonymous.get(link))
    assert "Unsubscribed" in text_of(anonymous.post(link))
    login(ada, the_client=app.test_client()).post(f"/posts/{top.id}/reply", data={"body": "two"})
    assert len(inbox.messages) == 1  # no more reply emails
    assert kinds_for(bob) == ["reply", "reply"]  # still on the site
    assert app.test_client().get("/notifications/unsubscribe/forged-token").status_code == 404


def test_daily_digest_gathers_notifications(app, factories, login, episode, smtp):
    _, inbox = smtp
    ada, bob = factories.user("ada"), factories.user("bob")
    bob.email_prefs = {"reply": "daily"}
    db.session.commit()
    top = factories.comment(bob, episode)
    for body in ("one", "two", "three"):
        login(ada, the_client=app.test_client()).post(f"/posts/{top.id}/reply", data={"body": body})
    assert inbox.messages == []
    result = app.test_cli_runner().invoke(args=["notifications", "send-digests"])
    assert "queued 1 digests" in result.output  # and sent: in tests, jobs run as their transaction commits
    assert len(inbox.messages) == 1 and "3 new notifications" in inbox.messages[0]["Subject"]
    app.test_cli_runner().invoke(args=["notifications", "send-digests"])
    assert len(inbox.messages) == 1  # nothing twice


def test_a_removed_reply_is_quoted_in_no_digest_and_no_notification(app, factories, login, episode, smtp):
    from community.models import Post, Role
    from community.services import moderation

    _, inbox = smtp
    ada, bob = factories.user("ada"), factories.user("bob")
    bob.email_prefs = {"reply": "daily"}
    db.session.commit()
    top = factories.comment(bob, episode)
    login(ada, the_client=app.test_client()).post(f"/posts/{top.id}/reply", data={"body": "buy cheap pills now"})
    reply = db.session.scalar(select(Post).where(Post.parent_id == top.id))
    moderation.act(factories.user("marta", role=Role.moderator), reply, "remove", "Spam")
    db.session.commit()
    assert "buy cheap pills" not in text_of(login(bob, the_client=app.test_client()).get("/notifications/"))
    app.test_cli_runner().invoke(args=["notifications", "send-digests"])
    digest = next(m for m in inbox.messages if m["To"] == bob.email)
    assert all("buy cheap pills" not in part for part in _parts(digest).values())
    assert "ada replied to your post" in _parts(digest)["text/plain"]


def test_a_digest_run_that_fails_half_way_mails_no_one_twice(app, factories, login, episode, smtp):
    """The mail server refuses the second recipient: the first digest stays recorded as sent,
    the second waits for its retry (each digest is a job of its own)."""
    from community.models import Job, JobStatus

    controller, inbox = smtp
    ada = factories.user("ada")
    readers = [factories.user(name, email=f"{name}@example.org") for name in ("bob", "cyd")]
    for reader in readers:
        reader.email_prefs = {"reply": "daily"}
    db.session.commit()
    for reader in readers:
        top = factories.comment(reader, episode)
        login(ada, the_client=app.test_client()).post(f"/posts/{top.id}/reply", data={"body": f"to {reader.username}"})
    original = inbox.handle_DATA

    async def refuse_cyd(server, session, envelope):  # noqa: N802 (aiosmtpd's API)
        if "cyd@example.org" in envelope.rcpt_tos:
            return "550 mailbox unavailable"
        return await original(server, session, envelope)

    inbox.handle_DATA = refuse_cyd
    result = app.test_cli_runner().invoke(args=["notifications", "send-digests"])
    assert "queued 2 digests" in result.output
    assert [m["To"] for m in inbox.messages] == ["bob@example.org"]
    waiting = db.session.scalars(select(Job).where(Job.name == "notifications.digest", Job.status == JobStatus.queued)).one()
    assert waiting.attempts == 1 and "mailbox unavailable" in waiting.last_error
    inbox.handle_DATA = original
    result = app.test_cli_runner().invoke(args=["notifications", "send-digests"])
    assert "queued 1 digests" in result.output  # cyd's, the one still waiting, and no new job
    assert db.session.scalar(select(func.count(Job.id)).where(Job.name == "notifications.digest")) == 2
    assert [m["To"] for m in inbox.messages] == ["bob@example.org"]  # bob only once; cyd's waits for its retry


def test_email_settings_page(app, factories, login):
    bob = factories.user("bob")
    browser = login(bob, the_client=app.test_client())
    assert browser.post("/notifications/settings", data={"reply": "none", "mention": "daily"}).status_code == 302
    db.session.expire_all()
    user = db.session.get(type(bob), bob.id)
    assert notifications.email_mode(user, NotificationKind.reply) == "none"
    assert notifications.email_mode(user, NotificationKind.mention) == "daily"
    assert browser.post("/notifications/settings", data={"reply": "hourly"}).status_code == 400
    assert db.session.scalar(select(func.count(Notification.id))) == 0


def test_follow_a_guest_and_hear_of_their_next_episode(app, factories, login):
    from community.models import Person
    from community.services import episodes as episode_service

    first = factories.episode(1, "First", guests=[("Percy Liang", "Stanford")])
    person = db.session.scalar(select(Person))
    fan = factories.user("fan")
    browser = login(fan, the_client=app.test_client())
    page = browser.get(f"/people/{person.id}")
    assert "Percy Liang" in text_of(page) and "First" in text_of(page)
    assert browser.post(f"/people/{person.id}/follow", data={"on": "1"}).status_code == 302
    later = factories.episode(2, "Second")
    episode_service.set_people(episode_service.get_by_id(later.id), [person], [])
    db.session.commit()
    [note] = db.session.scalars(select(Notification).where(Notification.user_id == fan.id)).all()
    assert note.kind == NotificationKind.episode and "Percy Liang" in note.message
    assert browser.get(f"/notifications/{note.id}").headers["Location"].endswith(f"/episodes/{later.slug}")
    assert first


def test_mail_links_work_with_async_delivery_and_no_server_name(app, factories, login, episode, smtp):
    """No SERVER_NAME nor PUBLIC_URL configured: links name the address the reader used."""
    import time

    _, inbox = smtp
    app.config.update(SERVER_NAME=None)
    ada, bob = factories.user("ada"), factories.user("bob")
    top = factories.comment(bob, episode)
    browser = app.test_client()
    browser.post("/auth/login", data={"login": "ada", "password": factories.PASSWORD})
    browser.post(f"/posts/{top.id}/reply", data={"body": "threaded mail"})
    for _ in range(100):
        if inbox.messages:
            break
        time.sleep(0.05)
    assert len(inbox.messages) == 1
    assert "http://localhost/posts/" in _parts(inbox.messages[0])["text/plain"]
    assert ada
