"""Watching (issue 22): episodes, threads and papers watched, own threads by default, a
muted thread silent, one notification per event, and notifications that name the episode,
the post and a snippet with math as written."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from community.extensions import db
from community.models import Notification, NotificationKind, Paper, Person, Post, PostKind, Role, User, Watch
from tests.conftest import text_of
from tests.views.test_notifications import _parts


@pytest.fixture
def app_config(smtp):
    return {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": smtp[0].port}


@pytest.fixture
def episode(factories):
    return factories.episode(12, "Kelvin Guu", guests=[("Kelvin Guu", "Google AI")])


def told(user) -> list[tuple[str, str]]:
    """(kind, message) of every notification the user has, oldest first."""
    db.session.expire_all()
    return [(n.kind.value, n.message) for n in db.session.scalars(
        select(Notification).where(Notification.user_id == user.id).order_by(Notification.id))]


def kinds(user) -> list[str]:
    return [kind for kind, _ in told(user)]


def press(browser, action: str, state: str, back: str = "/"):
    return browser.post(action, data={"state": state}, headers={"Referer": f"http://localhost{back}"})


def reply(browser, post, body: str):
    response = browser.post(f"/posts/{post.id}/reply", data={"body": body})
    assert response.status_code == 302, response.get_data(as_text=True)
    return db.session.scalar(select(Post).where(Post.parent_id == post.id).order_by(Post.id.desc()))


def test_watching_an_episode_tells_of_every_new_post_on_it(app, factories, login, episode):
    carl, ada = factories.user("carl"), factories.user("ada", display_name="Ada Lovelace")
    watcher = login(carl, the_client=app.test_client())
    page = watcher.get(f"/episodes/{episode.slug}")
    assert 'action="/watch/episodes/' in page.get_data(as_text=True) and "Not watching." in text_of(page)
    back = press(watcher, f"/watch/episodes/{episode.slug}", "watch", back=f"/episodes/{episode.slug}?sort=newest")
    assert back.status_code == 302 and back.headers["Location"] == f"/episodes/{episode.slug}?sort=newest"
    assert "You are watching this episode." in text_of(watcher.get(f"/episodes/{episode.slug}"))

    writer = login(ada, the_client=app.test_client())
    writer.post(f"/episodes/{episode.slug}/comments", data={"body": "Is $x^2$ the **loss**?"})
    top = db.session.scalar(select(Post).where(Post.parent_id.is_(None)))
    deep = reply(login(factories.user("bob"), the_client=app.test_client()), top, "Yes, see [the paper](https://e.org/p).")
    reply(writer, deep, "Thanks")
    assert told(carl) == [
        ("watching", "Ada Lovelace commented on #12 Kelvin Guu: Is $x^2$ the loss?"),
        ("watching", "bob replied to “Is $x^2$ the loss?” on #12 Kelvin Guu: Yes, see the paper."),
        ("watching", "Ada Lovelace replied to “Yes, see the paper.” on #12 Kelvin Guu: Thanks"),
    ]
    # The page says it with the math as written, not flattened MathML.
    assert "Ada Lovelace commented on #12 Kelvin Guu: Is $x^2$ the loss?" in text_of(watcher.get("/notifications/"))

    press(watcher, f"/watch/episodes/{episode.slug}", "none")
    factories.comment(ada, episode, body="One more")
    assert len(told(carl)) == 3


def test_watching_a_thread_covers_its_whole_subtree_and_nothing_else(app, factories, login, episode):
    carl, ada, bob = factories.user("carl"), factories.user("ada"), factories.user("bob")
    top = factories.comment(ada, episode, body="Top")
    middle = factories.comment(bob, episode, parent=top, body="Middle")
    elsewhere = factories.comment(bob, episode, body="Elsewhere")
    watcher = login(carl, the_client=app.test_client())
    page = watcher.get(f"/posts/{middle.id}")
    assert f'action="/watch/posts/{middle.id}"' in page.get_data(as_text=True)
    press(watcher, f"/watch/posts/{middle.id}", "watch", back=f"/posts/{middle.id}")
    assert "You are watching this thread." in text_of(watcher.get(f"/posts/{middle.id}"))

    writer = login(ada, the_client=app.test_client())
    below = reply(writer, middle, "Below")
    reply(writer, below, "Further below")
    reply(writer, top, "Beside, not below")
    reply(writer, elsewhere, "Elsewhere")
    assert [m for _, m in told(carl)] == [
        "ada replied to “Middle” on #12 Kelvin Guu: Below",
        "ada replied to “Below” on #12 Kelvin Guu: Further below",
    ]
    # Deeper posts show the thread as watched through the one above.
    assert "Replies here notify you" in text_of(watcher.get(f"/posts/{below.id}"))


def test_watching_a_paper_tells_of_new_citations_and_their_threads(app, factories, login, episode):
    other = factories.episode(13, "Another guest")
    carl, ada = factories.user("carl"), factories.user("ada")
    writer = login(ada, the_client=app.test_client())
    link = "https://arxiv.org/abs/2005.11401"
    writer.post(f"/episodes/{episode.slug}/papers", data={"link": link, "title": "Retrieval-Augmented Generation"})
    paper = db.session.scalar(select(Paper))
    watcher = login(carl, the_client=app.test_client())
    page = watcher.get(f"/papers/{paper.canonical_id}")
    assert f'action="/watch/papers/{paper.id}"' in page.get_data(as_text=True)
    press(watcher, f"/watch/papers/{paper.id}", "watch", back=f"/papers/{paper.canonical_id}")
    assert "You are watching this paper." in text_of(watcher.get(f"/papers/{paper.canonical_id}"))

    writer.post(f"/episodes/{other.slug}/papers", data={"link": link, "title": "", "note": "Cited again"})
    entry = db.session.scalar(select(Post).where(Post.kind == PostKind.paper, Post.episode_id == other.id))
    reply(login(factories.user("bob"), the_client=app.test_client()), entry, "Why this one?")
    assert [m for _, m in told(carl)] == [
        "ada added a paper on #13 Another guest: Retrieval-Augmented Generation",
        "bob replied to “Retrieval-Augmented Generation” on #13 Another guest: Why this one?",
    ]


def test_own_threads_are_watched_by_default_and_the_setting_turns_it_off(app, factories, login, episode):
    ada, bob, cyd = factories.user("ada"), factories.user("bob"), factories.user("cyd")
    top = factories.comment(ada, episode, body="Mine")
    answer = reply(login(bob, the_client=app.test_client()), top, "A reply to Ada")
    reply(login(cyd, the_client=app.test_client()), answer, "A reply to Bob")
    assert kinds(ada) == ["reply", "watching"]  # the direct reply, then the one below it
    assert told(ada)[1][1] == "cyd replied to “A reply to Ada” on #12 Kelvin Guu: A reply to Bob"

    owner = login(ada, the_client=app.test_client())
    assert owner.post("/notifications/settings", data={"watch_own_threads": "0"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(User, ada.id).watch_own_threads is False
    reply(login(cyd, the_client=app.test_client()), answer, "Another reply to Bob")
    reply(login(cyd, the_client=app.test_client()), top, "Straight to Ada")
    assert kinds(ada) == ["reply", "watching", "reply"]  # direct replies still tell her


def test_a_muted_thread_tells_nothing_whatever_the_reason(app, factories, login, episode):
    ada, bob, cyd = factories.user("ada"), factories.user("bob"), factories.user("cyd")
    top = factories.comment(ada, episode, body="Mine")
    owner = login(ada, the_client=app.test_client())
    press(owner, f"/watch/episodes/{episode.slug}", "watch")
    press(owner, f"/watch/posts/{top.id}", "mute")
    assert "You muted this thread" in text_of(owner.get(f"/posts/{top.id}"))

    answer = reply(login(bob, the_client=app.test_client()), top, "A reply, hi @ada")  # reply + mention
    reply(login(cyd, the_client=app.test_client()), answer, "Deeper, @ada")  # mention + own thread + episode
    assert told(ada) == []
    assert "Muted: you muted a thread above" in text_of(owner.get(f"/posts/{answer.id}"))
    factories.comment(bob, episode, body="Outside the muted thread")
    assert kinds(ada) == ["watching"]

    press(owner, f"/watch/posts/{top.id}", "none")  # unmute
    reply(login(bob, the_client=app.test_client()), top, "Heard again")
    assert kinds(ada) == ["watching", "reply"]


def test_one_notification_per_event_when_reasons_overlap(app, factories, login, episode):
    ada, bob, cyd = factories.user("ada"), factories.user("bob"), factories.user("cyd")
    top = factories.comment(bob, episode, body="Bob's")
    for user in (bob, cyd):
        browser = login(user, the_client=app.test_client())
        press(browser, f"/watch/episodes/{episode.slug}", "watch")
        press(browser, f"/watch/posts/{top.id}", "watch")
    # Bob: replied to, mentioned, watching the episode and the thread, his own thread: one reply.
    # Cyd: mentioned, watching both: one mention.
    reply(login(ada, the_client=app.test_client()), top, "@bob and @cyd, look")
    assert kinds(bob) == ["reply"] and kinds(cyd) == ["mention"]
    assert told(cyd)[0][1] == "ada mentioned you in a reply to “Bob's” on #12 Kelvin Guu: @bob and @cyd, look"
    assert db.session.scalar(select(func.count(Notification.id))) == 2


def test_guest_answer_names_the_question_and_episode_and_tells_each_once(app, factories, login, episode):
    kelvin = factories.user("kelvin", role=Role.guest, display_name="Kelvin Guu")
    db.session.scalar(select(Person).where(Person.name == "Kelvin Guu")).user_id = kelvin.id
    db.session.commit()
    asker, watcher = factories.user("ada"), factories.user("carl")
    guest = login(kelvin, the_client=app.test_client())
    for user in (kelvin, asker, watcher):
        press(login(user, the_client=app.test_client()), f"/watch/episodes/{episode.slug}", "watch")
    login(asker, the_client=app.test_client()).post(
        f"/episodes/{episode.slug}/questions", data={"body": "How did you train $p(z \\mid x)$ without labels?"})
    question = db.session.scalar(select(Post).where(Post.kind == PostKind.question))
    assert kinds(kelvin) == ["question"]  # watching the episode too, told once
    assert kinds(watcher) == ["watching"]

    guest.post(f"/questions/{question.id}/answer", data={"body": "End to end: $\\nabla_\\theta$ flows through."})
    assert told(asker) == [("answer", "Kelvin Guu answered “How did you train $p(z \\mid x)$ without labels?” on "
                                      "#12 Kelvin Guu: End to end: $\\nabla_\\theta$ flows through.")]
    assert [k for k in kinds(watcher)] == ["watching", "watching"]
    assert told(watcher)[1][1].startswith("Kelvin Guu answered “How did you train")


def test_watched_posts_reach_the_daily_digest_with_math_as_written(app, factories, login, episode, smtp):
    _, inbox = smtp
    carl, ada = factories.user("carl", email="carl@example.org"), factories.user("ada")
    press(login(carl, the_client=app.test_client()), f"/watch/episodes/{episode.slug}", "watch")
    factories.comment(ada, episode, body="The bound is $O(n \\log n)$.")
    assert inbox.messages == []  # watching is daily by default
    assert "queued 1 digest" in app.test_cli_runner().invoke(args=["notifications", "send-digests"]).output
    mails = [m for m in inbox.messages if m["To"] == "carl@example.org"]
    assert len(mails) == 1
    parts = _parts(mails[0])
    assert "ada commented on #12 Kelvin Guu: The bound is $O(n \\log n)$." in parts["text/plain"]
    assert "The bound is $O(n \\log n)$." in parts["text/html"] and "<math" not in parts["text/html"]


def test_buttons_refuse_strangers_bad_input_and_forged_posts(app, client, factories, login, episode):
    top = factories.comment(factories.user("ada"), episode)
    # Anonymous readers get no buttons and are sent to log in.
    assert "watch-form" not in client.get(f"/posts/{top.id}").get_data(as_text=True)
    assert "watch-form" not in client.get(f"/episodes/{episode.slug}").get_data(as_text=True)
    response = client.post(f"/watch/posts/{top.id}", data={"state": "watch"})
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]
    carl = login(factories.user("carl"), the_client=app.test_client())
    assert carl.post(f"/watch/posts/{top.id}", data={"state": "watch"}, csrf=False).status_code == 400
    refused = press(carl, f"/watch/episodes/{episode.slug}", "mute", back=f"/episodes/{episode.slug}")
    assert refused.status_code == 302
    assert "Only a thread can be muted" in text_of(carl.get(f"/episodes/{episode.slug}"))
    assert press(carl, f"/watch/posts/{top.id}", "bogus").status_code == 302
    assert db.session.scalar(select(func.count(Watch.id))) == 0
    assert carl.post("/watch/posts/999999", data={"state": "watch"}).status_code == 404
    assert carl.post("/watch/papers/999999", data={"state": "watch"}).status_code == 404
    # An off-site referrer is not followed back.
    away = carl.post(f"/watch/posts/{top.id}", data={"state": "watch"}, headers={"Referer": "https://evil.example/x"})
    assert away.headers["Location"] == f"/posts/{top.id}"


def test_a_post_removed_later_is_quoted_by_no_notification(app, factories, login, episode):
    from community.services import moderation

    ada, bob, cyd = factories.user("ada"), factories.user("bob"), factories.user("cyd")
    top = factories.comment(ada, episode, body="Buy cheap pills at spam.example")
    press(login(bob, the_client=app.test_client()), f"/watch/posts/{top.id}", "watch")
    reply(login(cyd, the_client=app.test_client()), top, "Is this spam?")
    page = text_of(login(bob, the_client=app.test_client()).get("/notifications/"))
    assert "cyd replied to “Buy cheap pills at spam.example” on #12 Kelvin Guu: Is this spam?" in page
    moderation.act(factories.user("marta", role=Role.moderator), db.session.get(Post, top.id), "remove", "Spam")
    db.session.commit()
    page = text_of(login(bob, the_client=app.test_client()).get("/notifications/"))
    assert "cheap pills" not in page and "cyd posted in something you watch" in page


def test_the_watching_page_lists_every_choice_and_stops_each_where_it_stands(app, factories, login, episode,
                                                                             count_queries):
    from community.services import moderation

    ada, bob = factories.user("ada"), factories.user("bob")
    watched = factories.comment(ada, episode, body="Is $x^2$ the **loss**?")
    noisy = factories.comment(ada, episode, body="A thread too loud")
    spam = factories.comment(ada, episode, body="Buy cheap pills at spam.example")
    writer = login(ada, the_client=app.test_client())
    writer.post(f"/episodes/{episode.slug}/papers", data={"link": "https://arxiv.org/abs/2005.11401",
                                                          "title": "Retrieval-Augmented Generation"})
    paper = db.session.scalar(select(Paper))
    browser = login(bob, the_client=app.test_client())
    assert "You are not watching anything yet." in text_of(browser.get("/settings/watching"))
    press(browser, f"/watch/episodes/{episode.slug}", "watch")
    press(browser, f"/watch/posts/{watched.id}", "watch")
    press(browser, f"/watch/posts/{spam.id}", "watch")
    press(browser, f"/watch/posts/{noisy.id}", "mute")
    press(browser, f"/watch/papers/{paper.id}", "watch")
    carl = login(factories.user("carl"), the_client=app.test_client())
    press(carl, f"/watch/posts/{noisy.id}", "watch")
    moderation.act(factories.user("marta", role=Role.moderator), db.session.get(Post, spam.id), "remove", "Spam")
    db.session.commit()

    with count_queries() as queries:
        page = browser.get("/settings/watching")
    assert page.status_code == 200
    shown = text_of(page)
    lists = shown.split("Delete account Watching", 1)[1]  # after the settings nav
    # Each item, then its button (which names it again for screen readers).
    assert "Episodes Every new comment, question, paper and reply on them. #12 Kelvin Guu Stop watching" in lists
    # The math as written; a removed post is named without its words.
    assert "“Is $x^2$ the loss?” on #12 Kelvin Guu Stop watching" in lists
    assert "a removed post on #12 Kelvin Guu Stop watching" in lists and "cheap pills" not in lists
    assert "Papers New citations of them in any episode, and their discussions. Retrieval-Augmented Generation " \
           "Stop watching" in lists
    assert "Muted threads" in lists and "“A thread too loud” on #12 Kelvin Guu Unmute" in lists
    assert "Replies anywhere under your own posts notify you too" in lists
    body = page.get_data(as_text=True)
    assert f'action="/watch/posts/{noisy.id}"' in body and 'aria-current="page">Watching<' in body
    # Four queries for the lists (and no more however many are watched), plus the frame's.
    counted = queries.count
    press(browser, f"/watch/posts/{factories.comment(ada, episode, body='One more').id}", "watch")
    with count_queries() as queries:
        browser.get("/settings/watching")
    assert queries.count == counted

    # Each button returns to the list, which no longer holds what was stopped.
    back = press(browser, f"/watch/posts/{noisy.id}", "none", back="/settings/watching")
    assert back.status_code == 302 and back.headers["Location"] == "/settings/watching"
    shown = text_of(browser.get("/settings/watching"))
    assert "No longer watching or muting this thread." in shown and "too loud" not in shown
    press(browser, f"/watch/episodes/{episode.slug}", "none", back="/settings/watching")
    assert "Every new comment" not in text_of(browser.get("/settings/watching"))
    # Only the reader's own choices: carl's watch of the muted thread is not bob's.
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Watch).where(Watch.user_id == bob.id)) == 4
    assert "too loud" in text_of(carl.get("/settings/watching"))
    assert app.test_client().get("/settings/watching").status_code == 302  # to the login page


def test_a_post_held_for_a_moderator_tells_everyone_once_when_let_through(app, factories, login, episode):
    from community.services import moderation

    ada, carl, dee = factories.user("ada"), factories.user("carl"), factories.user("dee")
    top = factories.comment(ada, episode, body="Mine")
    app.config["PREMODERATION_FIRST_POSTS"] = 1  # a new member's first post waits (ada's is her first too)
    press(login(carl, the_client=app.test_client()), f"/watch/episodes/{episode.slug}", "watch")
    newcomer = login(factories.user("newcomer", display_name="Newcomer"), the_client=app.test_client())
    newcomer.post(f"/posts/{top.id}/reply", data={"body": "My first words, @dee"})
    held = db.session.scalar(select(Post).where(Post.parent_id == top.id))
    assert held.status.value == "pending"
    assert kinds(ada) == kinds(carl) == kinds(dee) == []  # nobody hears of what nobody may see

    marta = factories.user("marta", role=Role.moderator)
    moderation.act(marta, db.session.get(Post, held.id), "restore", "Welcome")
    db.session.commit()
    assert kinds(ada) == ["reply"] and kinds(dee) == ["mention"] and kinds(carl) == ["watching"]
    assert told(carl)[0][1] == "Newcomer replied to “Mine” on #12 Kelvin Guu: My first words, @dee"
    # Hidden later and restored again: it was public before, so nobody is told twice.
    moderation.act(marta, db.session.get(Post, held.id), "hide", "A second look")
    moderation.act(marta, db.session.get(Post, held.id), "restore", "Fine after all")
    db.session.commit()
    assert kinds(ada) == ["reply"] and kinds(dee) == ["mention"] and kinds(carl) == ["watching"]
