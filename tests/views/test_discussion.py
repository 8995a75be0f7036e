"""Threaded discussion through the real pages."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from community.extensions import db
from community.models import Post, PostKind, PostStatus, Revision, Role, Vote
from community.models.base import utcnow
from community.services import discussion
from tests.conftest import text_of


@pytest.fixture
def episode(factories):
    return factories.episode(13, "Jonathan Frankle on lottery tickets", guests=[("Jonathan Frankle", "MIT")])


def posts_count() -> int:
    return db.session.scalar(select(func.count(Post.id)))


def test_anonymous_reader_sees_thread_and_login_links(client, factories, episode):
    author = factories.user("ada")
    factories.comment(author, episode, body="Rewinding to iteration $k$ matters.")
    html = client.get(f"/episodes/{episode.slug}").get_data(as_text=True)
    assert "Rewinding to iteration" in html and "<math" in html
    assert "Log in to comment" in html and "log in to reply" in html
    assert 'name="body"' not in html


def test_member_comments_and_lands_on_it(client, factories, login, episode):
    login(factories.user("ada"))
    response = client.post(f"/episodes/{episode.slug}/comments", data={"body": "Does $\\theta_0$ matter?", "submit": "Post comment"})
    assert response.status_code == 302
    post = db.session.scalar(select(Post))
    assert response.headers["Location"].endswith(f"/episodes/{episode.slug}#c{post.id}")
    assert post.root_id == post.id and post.depth == 0 and "<math" in post.body_html
    assert f'id="c{post.id}"' in client.get(f"/episodes/{episode.slug}").get_data(as_text=True)


def test_empty_comment_rerenders_with_message_and_stores_nothing(client, factories, login, episode):
    login(factories.user("ada"))
    response = client.post(f"/episodes/{episode.slug}/comments", data={"body": "   ", "submit": "Post comment"})
    assert response.status_code == 422
    assert "Write something first." in text_of(response)
    assert posts_count() == 0


def test_too_long_comment_is_refused(client, factories, login, episode):
    login(factories.user("ada"))
    response = client.post(f"/episodes/{episode.slug}/comments", data={"body": "x" * 20_001})
    assert response.status_code == 422 and posts_count() == 0


def test_preview_renders_without_posting(client, factories, login, episode):
    login(factories.user("ada"))
    response = client.post(f"/episodes/{episode.slug}/comments", data={"body": "Math: $x^2$", "preview": "Preview"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "Preview" in html and "<msup>" in html
    assert "Math: $x^2$</textarea>" in html
    assert posts_count() == 0


def test_reply_nests_under_parent_with_root_and_depth(client, factories, login, episode):
    top = factories.comment(factories.user("ada"), episode, body="Top")
    login(factories.user("bob"))
    response = client.post(f"/posts/{top.id}/reply", data={"body": "A reply", "submit": "Post reply"})
    assert response.status_code == 302
    reply = db.session.scalar(select(Post).where(Post.parent_id == top.id))
    assert (reply.root_id, reply.depth, reply.episode_id) == (top.id, 1, episode.id)
    assert response.headers["Location"].endswith(f"#c{reply.id}")
    db.session.refresh(top)
    assert top.reply_count == 1
    html = client.get(f"/episodes/{episode.slug}").get_data(as_text=True)
    # The reply sits inside the parent's <li>.
    parent_block = html[html.index(f'id="c{top.id}"'):]
    assert f'id="c{reply.id}"' in parent_block[: parent_block.index("</details>\n</li>") + 20] or f'id="c{reply.id}"' in parent_block


def test_permalink_shows_context_and_reply_form(client, factories, login, episode):
    ada = factories.user("ada")
    top = factories.comment(ada, episode, body="The top comment")
    middle = factories.comment(factories.user("bob"), parent=top, body="The middle one")
    leaf = factories.comment(ada, parent=middle, body="The leaf")
    page = client.get(f"/posts/{middle.id}")
    text = text_of(page)
    assert page.status_code == 200
    assert "The top comment" in text and "The middle one" in text and "The leaf" in text
    assert "Log in to reply" in text
    login(factories.user("cy"))
    assert 'action="/posts/%d/reply#reply-form"' % middle.id in client.get(f"/posts/{middle.id}").get_data(as_text=True)
    assert leaf


def test_depth_cap_continues_on_the_permalink(client, factories, episode):
    author = factories.user("ada")
    parent = factories.comment(author, episode, body="depth 0")
    chain = [parent]
    for depth in range(1, discussion.MAX_DEPTH + 3):
        chain.append(factories.comment(author, parent=chain[-1], body=f"depth {depth}"))
    html = client.get(f"/episodes/{episode.slug}").get_data(as_text=True)
    capped = chain[discussion.MAX_DEPTH - 1]
    assert f"depth {discussion.MAX_DEPTH - 1}" in html and f">depth {discussion.MAX_DEPTH}<" not in html
    assert f'href="/posts/{capped.id}">Continue this thread (3 more replies)' in html  # every reply below, not only the next
    deeper = client.get(f"/posts/{capped.id}").get_data(as_text=True)
    assert f"depth {discussion.MAX_DEPTH + 2}" in deeper


def test_reply_to_deleted_post_is_refused(client, factories, login, episode):
    top = factories.comment(factories.user("ada"), episode, status=PostStatus.deleted)
    login(factories.user("bob"))
    response = client.post(f"/posts/{top.id}/reply", data={"body": "hello?"})
    assert response.status_code == 422 and "cannot reply" in text_of(response)
    assert posts_count() == 1


def test_edit_within_window_keeps_history_and_marks_edited(client, factories, login, episode):
    ada = factories.user("ada")
    post = factories.comment(ada, episode, body="First version")
    login(ada)
    assert client.get(f"/posts/{post.id}/edit").status_code == 200
    response = client.post(f"/posts/{post.id}/edit", data={"body": "Second version", "submit": "Save changes"})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Post, post.id).body_source == "Second version"
    assert [r.body_source for r in db.session.scalars(select(Revision))] == ["First version"]
    assert "edited" in text_of(client.get(f"/episodes/{episode.slug}"))
    history = text_of(client.get(f"/posts/{post.id}/history"))
    assert "First version" in history and "Second version" in history


def test_edit_after_two_hours_is_refused_but_moderators_may(client, app, factories, login, episode):
    ada = factories.user("ada")
    post = factories.comment(ada, episode, body="Old", created_at=utcnow() - timedelta(hours=2, minutes=1))
    login(ada)
    assert client.post(f"/posts/{post.id}/edit", data={"body": "New"}).status_code == 403
    moderator_client = login(factories.user("mod", role=Role.moderator), the_client=app.test_client())
    assert moderator_client.post(f"/posts/{post.id}/edit", data={"body": "Fixed by mod", "submit": "Save"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(Post, post.id).body_source == "Fixed by mod"


def test_others_cannot_edit_or_delete(client, factories, login, episode):
    post = factories.comment(factories.user("ada"), episode, body="Mine")
    login(factories.user("bob"))
    assert client.post(f"/posts/{post.id}/edit", data={"body": "Yours now"}).status_code == 403
    assert client.post(f"/posts/{post.id}/delete").status_code == 403
    db.session.expire_all()
    assert db.session.get(Post, post.id).body_source == "Mine"


def test_delete_leaves_tombstone_that_keeps_replies(client, factories, login, episode):
    ada = factories.user("ada")
    top = factories.comment(ada, episode, body="Regrettable take")
    factories.comment(factories.user("bob"), parent=top, body="A thoughtful reply")
    lonely = factories.comment(ada, episode, body="Nobody answered this")
    login(ada)
    assert client.post(f"/posts/{top.id}/delete").status_code == 302
    assert client.post(f"/posts/{lonely.id}/delete").status_code == 302
    text = text_of(client.get(f"/episodes/{episode.slug}"))
    assert "[deleted]" in text and "A thoughtful reply" in text
    assert "Regrettable take" not in text and "Nobody answered this" not in text
    data = client.get(f"/api/v1/episodes/{episode.slug}/thread").get_json()
    tomb = data["posts"][0]
    assert tomb["status"] == "deleted" and tomb["body_html"] is None and tomb["author"] is None
    assert tomb["replies"][0]["body_html"] == "<p>A thoughtful reply</p>"


def test_vote_once_toggle_off_and_no_self_votes(client, factories, login, episode):
    ada = factories.user("ada")
    post = factories.comment(ada, episode)
    login(factories.user("bob"))
    for _ in range(2):
        client.post(f"/posts/{post.id}/vote", data={"up": "1"})
    db.session.expire_all()
    assert db.session.get(Post, post.id).score == 1
    assert db.session.scalar(select(func.count(Vote.id))) == 1
    json = client.post(f"/posts/{post.id}/vote", data={"up": "0"}, headers={"Accept": "application/json"}).get_json()
    assert json == {"post": post.id, "score": 0, "voted": False}
    client.post("/auth/logout")
    login(ada)
    response = client.post(f"/posts/{post.id}/vote", data={"up": "1"}, headers={"Accept": "application/json"})
    assert response.status_code == 422 and "own post" in response.get_json()["error"]
    db.session.expire_all()
    assert db.session.get(Post, post.id).score == 0


def test_vote_state_shows_on_the_page(client, factories, login, episode):
    post = factories.comment(factories.user("ada"), episode)
    login(factories.user("bob"))
    client.post(f"/posts/{post.id}/vote", data={"up": "1"})
    html = client.get(f"/episodes/{episode.slug}").get_data(as_text=True)
    assert 'aria-pressed="true"' in html and '▲ Upvoted</button>' in html and "1 point" in html


@pytest.mark.parametrize("sort, expected", [
    ("best", ["Popular", "Middling", "Eldest", "Youngest"]),  # ties: the earlier first
    ("newest", ["Youngest", "Middling", "Popular", "Eldest"]),
    ("oldest", ["Eldest", "Popular", "Middling", "Youngest"]),
])
def test_sorting_is_in_the_url(client, factories, episode, sort, expected):
    author = factories.user("ada")
    now = utcnow()
    factories.comment(author, episode, body="Eldest", created_at=now - timedelta(hours=4))
    factories.comment(author, episode, body="Popular", created_at=now - timedelta(hours=3), score=9)
    factories.comment(author, episode, body="Middling", created_at=now - timedelta(hours=2), score=2)
    factories.comment(author, episode, body="Youngest", created_at=now - timedelta(hours=1))
    text = text_of(client.get(f"/episodes/{episode.slug}?sort={sort}"))
    positions = [text.index(f" {word} ") for word in expected]
    assert positions == sorted(positions)


def test_new_since_last_visit_is_marked(client, factories, login, episode):
    ada, bob = factories.user("ada"), factories.user("bob")
    factories.comment(bob, episode, body="seen before", created_at=utcnow() - timedelta(hours=1))
    login(ada)
    first = client.get(f"/episodes/{episode.slug}").get_data(as_text=True)
    assert "badge-new" not in first  # a first visit marks nothing
    factories.comment(bob, episode, body="fresh one")
    factories.comment(ada, episode, body="my own")
    second = client.get(f"/episodes/{episode.slug}").get_data(as_text=True)
    assert second.count('class="badge badge-new"') == 1
    fresh = second.index("fresh one")
    assert "is-new" in second[second.rfind("<li", 0, fresh):fresh]


def test_a_reload_with_nothing_new_writes_no_visit_and_marks_the_same(client, factories, login, episode):
    """Most page views show nothing newer than the reader's last visit: they are read, not
    written (no commit per view), and what counts as new is unchanged by it."""
    from community.models import ThreadVisit

    ada, bob = factories.user("ada"), factories.user("bob")
    factories.comment(bob, episode, body="seen before", created_at=utcnow() - timedelta(hours=1))
    login(ada)
    client.get(f"/episodes/{episode.slug}")
    recorded = db.session.scalar(select(ThreadVisit.visited_at).where(ThreadVisit.user_id == ada.id))
    for _ in range(2):
        page = client.get(f"/episodes/{episode.slug}").get_data(as_text=True)
        assert "badge-new" not in page
    db.session.expire_all()
    assert db.session.scalar(select(ThreadVisit.visited_at).where(ThreadVisit.user_id == ada.id)) == recorded
    factories.comment(bob, episode, body="fresh one")
    assert client.get(f"/episodes/{episode.slug}").get_data(as_text=True).count('class="badge badge-new"') == 1
    db.session.expire_all()
    assert db.session.scalar(select(ThreadVisit.visited_at).where(ThreadVisit.user_id == ada.id)) > recorded
    assert "badge-new" not in client.get(f"/episodes/{episode.slug}").get_data(as_text=True)  # seen now


def test_guest_badge_only_on_their_episode(client, factories, episode):
    from community.models import Person

    frankle = factories.user("jfrankle", role=Role.guest)
    person = db.session.scalar(select(Person).where(Person.name == "Jonathan Frankle"))
    person.user_id = frankle.id
    db.session.commit()
    other = factories.episode(14, "Another episode")
    factories.comment(frankle, episode, body="Happy to answer")
    factories.comment(frankle, other, body="Elsewhere")
    assert 'title="Guest on this episode">Guest</span>' in client.get(f"/episodes/{episode.slug}").get_data(as_text=True)
    assert 'badge-guest' not in client.get(f"/episodes/{other.slug}").get_data(as_text=True)


def test_rate_limit_says_so_clearly(client, app, factories, login, episode):
    login(factories.user("ada", created_at=utcnow() - timedelta(days=30)))
    statuses = [client.post(f"/episodes/{episode.slug}/comments", data={"body": f"comment {i}"}).status_code
                for i in range(6)]
    assert statuses == [302] * 5 + [429]
    last = client.post(f"/episodes/{episode.slug}/comments", data={"body": "again"})
    assert "Too many requests" in text_of(last) and "5 per 1 minute" in text_of(last)
    assert posts_count() == 5


def test_young_accounts_have_a_stricter_limit(client, factories, login, episode):
    login(factories.user("newbie", created_at=utcnow() - timedelta(hours=3)))
    statuses = [client.post(f"/episodes/{episode.slug}/comments", data={"body": f"c{i}"}).status_code for i in range(3)]
    assert statuses == [302, 302, 429]


def test_suspended_user_cannot_comment_or_vote(client, factories, login, episode):
    post = factories.comment(factories.user("ada"), episode)
    login(factories.user("troll", suspended_until=utcnow() + timedelta(days=3)))
    response = client.post(f"/episodes/{episode.slug}/comments", data={"body": "let me in"})
    assert response.status_code == 403 and "suspended until" in text_of(response)
    vote = client.post(f"/posts/{post.id}/vote", data={"up": "1"}, headers={"Accept": "application/json"})
    assert vote.status_code == 403
    assert posts_count() == 1


def test_comment_requires_login(client, episode):
    response = client.post(f"/episodes/{episode.slug}/comments", data={"body": "anon"})
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


def test_live_preview_endpoint_uses_the_same_renderer(client, factories, login):
    login(factories.user("ada"))
    data = client.post("/markup/preview", data={"body": "$x$ <script>alert(1)</script>"}).get_json()
    assert "<math" in data["html"] and "<script" not in data["html"]


def test_previews_show_mentions_as_the_post_will(client, factories, login, episode):
    """The live preview and the Preview button render through the service posting uses: an
    @mention of a real account is a link in all three, and previewing tells nobody."""
    from community.models import Notification

    factories.user("grace")
    login(factories.user("ada"))
    body = "Thanks @grace, and @nobody_here, for $x^2$"
    live = client.post("/markup/preview", data={"body": body}).get_json()["html"]
    button = client.post(f"/episodes/{episode.slug}/comments", data={"body": body, "preview": "Preview"})
    assert posts_count() == 0 and db.session.scalar(select(func.count(Notification.id))) == 0
    assert client.post(f"/episodes/{episode.slug}/comments", data={"body": body}).status_code == 302
    posted = db.session.scalar(select(Post.body_html))
    assert 'href="/u/grace"' in posted and "/u/nobody_here" not in posted
    assert live == posted and posted in button.get_data(as_text=True)


def test_new_accounts_post_under_the_stricter_limit(app, factories):
    """The rule is a service function of the user; the view's limiter callback only passes current_user."""
    old = factories.user("old", created_at=utcnow() - timedelta(days=30))
    new = factories.user("new", created_at=utcnow() - timedelta(hours=3))
    assert discussion.posting_rate_limit(old) == app.config["COMMENT_RATE_LIMIT"]
    assert discussion.posting_rate_limit(new) == app.config["COMMENT_RATE_LIMIT_NEW_ACCOUNT"]
    assert discussion.posting_rate_limit(new, now=utcnow() + timedelta(days=1)) == app.config["COMMENT_RATE_LIMIT"]
    assert discussion.posting_rate_limit(None) == app.config["COMMENT_RATE_LIMIT"]


def test_discussion_atom_feed_parses_with_math(client, factories, episode):
    import feedparser

    factories.comment(factories.user("ada"), episode, body="Feed math $\\alpha$")
    hidden = factories.comment(factories.user("bob"), episode, body="hidden one", status=PostStatus.hidden)
    response = client.get(f"/episodes/{episode.slug}/discussion.atom")
    assert response.mimetype == "application/atom+xml"
    feed = feedparser.parse(response.data)
    assert not feed.bozo and len(feed.entries) == 1
    assert "<math" in feed.entries[0].content[0].value
    assert hidden.body_source not in response.get_data(as_text=True)


def test_episodes_atom_feed(client, factories):
    import feedparser

    factories.episode(3, "Cinjon Resnick on emergent communication", summary="Agents and language.")
    feed = feedparser.parse(client.get("/feeds/episodes.atom").data)
    assert not feed.bozo and feed.entries[0].title == "#3 Cinjon Resnick on emergent communication"
    assert re.search(r"/episodes/3-cinjon", feed.entries[0].link)


def test_user_and_answered_question_feeds_parse(client, app, factories, login):
    import feedparser

    from community.models import Person

    episode = factories.episode(1, "Kelvin Guu on retrieval", guests=[("Kelvin Guu", "Google AI")])
    kelvin = factories.user("kelvin", role=Role.guest)
    db.session.scalar(select(Person)).user_id = kelvin.id
    db.session.commit()
    ada = login(factories.user("ada"), the_client=app.test_client())
    ada.post(f"/episodes/{episode.slug}/comments", data={"body": "Ada's comment with $x$"})
    ada.post(f"/episodes/{episode.slug}/questions", data={"body": "How is the retriever trained?"})
    question = db.session.scalar(select(Post).where(Post.kind == PostKind.question))
    login(kelvin, the_client=app.test_client()).post(f"/questions/{question.id}/answer", data={"body": "End to end."})

    user_feed = feedparser.parse(client.get("/u/ada/posts.atom").data)
    assert not user_feed.bozo and len(user_feed.entries) == 2
    assert any("<math" in e.content[0].value for e in user_feed.entries)
    answered = feedparser.parse(client.get("/questions/answered.atom").data)
    assert not answered.bozo and answered.entries[0].title.startswith("Answered: How is the retriever trained?")
    assert client.get("/u/nobody/posts.atom").status_code == 404
    for page, feed in (("/u/ada", "/u/ada/posts.atom"), ("/questions/", "/questions/answered.atom"),
                       ("/", "/feeds/episodes.atom"), (f"/episodes/{episode.slug}", f"/episodes/{episode.slug}/discussion.atom")):
        assert f'type="application/atom+xml"' in client.get(page).get_data(as_text=True) and feed in client.get(page).get_data(as_text=True)
