"""Anonymous pages come from a cache, and every write that changes a page invalidates it
in the same transaction: no reader ever sees a stale vote, edit or moderation."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from community.extensions import db
from community.models import Person, Post, Role
from tests.conftest import text_of


@pytest.fixture
def episode(factories):
    return factories.episode(13, "Jonathan Frankle on lottery tickets", guests=[("Jonathan Frankle", "MIT")])


def anonymous_page(app, url):
    return app.test_client().get(url)


def test_second_anonymous_view_is_a_cache_hit_with_one_query(app, factories, episode, count_queries):
    factories.comment(factories.user("ada"), episode, body="cached words")
    url = f"/episodes/{episode.slug}"
    assert anonymous_page(app, url).headers["X-Cache"] == "miss"
    with count_queries() as q:
        hit = anonymous_page(app, url)
    assert hit.headers["X-Cache"] == "hit" and "cached words" in text_of(hit)
    assert q.count == 1  # the version lookup


def test_logged_in_pages_are_never_served_from_the_cache(app, factories, login, episode):
    url = f"/episodes/{episode.slug}"
    anonymous_page(app, url)
    browser = login(factories.user("ada"), the_client=app.test_client())
    response = browser.get(url)
    assert "X-Cache" not in response.headers and "ada" in text_of(response)


def _write_comment(app, factories, login, episode):
    login(factories.user("writer"), the_client=app.test_client()).post(
        f"/episodes/{episode.slug}/comments", data={"body": "a brand new comment"})
    return "a brand new comment"


def _vote(app, factories, login, episode):
    post = factories.comment(factories.user("author"), episode, body="vote target")
    anonymous_page(app, f"/episodes/{episode.slug}")  # cache the page with 0 points
    login(factories.user("voter"), the_client=app.test_client()).post(f"/posts/{post.id}/vote", data={"up": "1"})
    return "1 point"


def _edit(app, factories, login, episode):
    author = factories.user("author")
    post = factories.comment(author, episode, body="before the edit")
    anonymous_page(app, f"/episodes/{episode.slug}")
    login(author, the_client=app.test_client()).post(f"/posts/{post.id}/edit", data={"body": "after the edit", "submit": "Save"})
    return "after the edit"


def _moderate(app, factories, login, episode):
    post = factories.comment(factories.user("author"), episode, body="soon removed")
    anonymous_page(app, f"/episodes/{episode.slug}")
    login(factories.user("mod", role=Role.moderator), the_client=app.test_client()).post(
        f"/moderation/posts/{post.id}/act", data={"action": "remove", "reason": "Spam"})
    return "!soon removed"  # a removed post with no replies leaves no placeholder


def _flag_hide(app, factories, login, episode):
    post = factories.comment(factories.user("author"), episode, body="flagged away")
    factories.comment(factories.user("other"), parent=post, body="reply keeps the thread")
    anonymous_page(app, f"/episodes/{episode.slug}")
    for i in range(3):
        login(factories.user(f"flagger{i}"), the_client=app.test_client()).post(f"/posts/{post.id}/flag", data={"reason": "spam"})
    return "!flagged away"


def _paper(app, factories, login, episode):
    login(factories.user("researcher"), the_client=app.test_client()).post(
        f"/episodes/{episode.slug}/papers", data={"link": "1803.03635", "title": "The Lottery Ticket Hypothesis"})
    return "The Lottery Ticket Hypothesis"


def _answer(app, factories, login, episode):
    guest = factories.user("jfrankle", role=Role.guest)
    db.session.scalar(select(Person)).user_id = guest.id
    db.session.commit()
    login(factories.user("asker"), the_client=app.test_client()).post(
        f"/episodes/{episode.slug}/questions", data={"body": "Does rewinding matter?"})
    question = db.session.scalar(select(Post))
    anonymous_page(app, f"/episodes/{episode.slug}")
    login(guest, the_client=app.test_client()).post(f"/questions/{question.id}/answer", data={"body": "It does, a lot."})
    return "It does, a lot."


def _rename(app, factories, login, episode):
    author = factories.user("author")
    factories.comment(author, episode, body="by someone")
    anonymous_page(app, f"/episodes/{episode.slug}")
    login(author, the_client=app.test_client()).post("/settings/profile", data={"display_name": "Renamed Researcher"})
    return "Renamed Researcher"


@pytest.mark.parametrize("write", [_write_comment, _vote, _edit, _moderate, _flag_hide, _paper, _answer, _rename],
                         ids=lambda f: f.__name__.strip("_"))
def test_every_write_invalidates_the_cached_page(app, factories, login, episode, write):
    url = f"/episodes/{episode.slug}"
    anonymous_page(app, url)
    expected = write(app, factories, login, episode)
    text = text_of(anonymous_page(app, url))
    if expected.startswith("!"):
        assert expected[1:] not in text
    else:
        assert expected in text


def test_list_pages_follow_writes_too(app, factories, login, episode):
    anonymous_page(app, "/papers/")
    _paper(app, factories, login, episode)
    assert "The Lottery Ticket Hypothesis" in text_of(anonymous_page(app, "/papers/"))


def test_flashed_messages_are_not_cached(app, factories, episode):
    reader = app.test_client()
    with reader.session_transaction() as session:
        session["_flashes"] = [("info", "Only for you")]
    page = reader.get(f"/episodes/{episode.slug}")
    assert "X-Cache" not in page.headers and "Only for you" in text_of(page)
    assert "Only for you" not in text_of(anonymous_page(app, f"/episodes/{episode.slug}"))


def test_etag_and_last_modified_give_304(app, factories, episode):
    factories.comment(factories.user("ada"), episode, body="etag me")
    reader = app.test_client()
    for url in (f"/episodes/{episode.slug}", f"/episodes/{episode.slug}/discussion.atom", "/feeds/episodes.atom"):
        first = reader.get(url)
        assert first.headers.get("ETag"), url
        again = reader.get(url, headers={"If-None-Match": first.headers["ETag"]})
        assert again.status_code == 304 and again.data == b""
    feed = reader.get(f"/episodes/{episode.slug}/discussion.atom")
    since = reader.get(f"/episodes/{episode.slug}/discussion.atom", headers={"If-Modified-Since": feed.headers["Last-Modified"]})
    assert since.status_code == 304


def test_logged_in_readers_share_the_lists_but_see_their_own_state(app, factories, login, episode):
    ada, bob = factories.user("ada"), factories.user("bob")
    post = factories.comment(bob, episode, body="bob's point")
    reader = login(ada, the_client=app.test_client())
    url = f"/episodes/{episode.slug}"
    first = reader.get(url).get_data(as_text=True)
    assert "▲ Upvote</button>" in first  # ada may vote on bob's comment
    author = login(bob, the_client=app.test_client())
    own = author.get(url).get_data(as_text=True)  # same cached lists, bob's own buttons
    assert f'action="/posts/{post.id}/delete"' in own and f'/posts/{post.id}/vote"' not in own
    reader.post(f"/posts/{post.id}/vote", data={"up": "1"})
    assert "▲ Upvoted</button>" in reader.get(url).get_data(as_text=True)
    assert "1 point" in text_of(author.get(url))
    login(factories.user("cyd"), the_client=app.test_client()).post(f"{url}/comments", data={"body": "third voice"})
    assert "third voice" in text_of(reader.get(url))


def test_an_author_sees_their_hidden_post_others_do_not(app, factories, login, episode):
    bob = factories.user("bob")
    post = factories.comment(bob, episode, body="under review")
    moderator = login(factories.user("mod", role=Role.moderator), the_client=app.test_client())
    moderator.post(f"/moderation/posts/{post.id}/act", data={"action": "hide", "reason": "Spam"})
    url = f"/episodes/{episode.slug}"
    reader = login(factories.user("ada"), the_client=app.test_client())
    assert "under review" not in text_of(reader.get(url))
    assert "under review" in text_of(login(bob, the_client=app.test_client()).get(url))
    assert "under review" in text_of(moderator.get(url))
    assert "under review" not in text_of(reader.get(url))


# ------------------------------------------------ cookie-less readers: answered before Flask

def test_a_cookie_less_hit_is_answered_before_flask_with_the_same_headers(app, factories, episode, count_queries):
    factories.comment(factories.user("ada"), episode, body="served early")
    url = f"/episodes/{episode.slug}"
    miss = anonymous_page(app, url)
    assert "Set-Cookie" not in miss.headers  # an anonymous reader stays cookie-less
    with count_queries() as q:
        hit = anonymous_page(app, url)
    assert q.count == 1 and hit.headers["X-Cache"] == "hit" and hit.data == miss.data
    for name in ("Content-Security-Policy", "X-Content-Type-Options", "X-Frame-Options", "Referrer-Policy"):
        assert hit.headers[name] == miss.headers[name]
    assert hit.headers["Vary"] == "Accept-Encoding, Cookie" and hit.headers["Content-Type"].startswith("text/html")


def test_gzip_is_served_to_clients_that_take_it(app, factories, episode):
    import gzip

    factories.comment(factories.user("ada"), episode, body="squeezed words")
    url = f"/episodes/{episode.slug}"
    plain = anonymous_page(app, url)
    zipped = app.test_client().get(url, headers={"Accept-Encoding": "gzip, deflate, br"})
    assert zipped.headers["Content-Encoding"] == "gzip" and int(zipped.headers["Content-Length"]) < len(plain.data)
    assert gzip.decompress(zipped.data) == plain.data
    assert zipped.headers["ETag"] != plain.headers["ETag"]  # another representation, another validator
    refused = app.test_client().get(url, headers={"Accept-Encoding": "gzip;q=0"})
    assert "Content-Encoding" not in refused.headers and refused.data == plain.data


def test_conditional_and_head_requests_on_cached_pages(app, factories, episode):
    url = f"/episodes/{episode.slug}"
    first = anonymous_page(app, url)
    again = app.test_client().get(url, headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.data == b"" and again.headers["ETag"] == first.headers["ETag"]
    head = app.test_client().head(url)
    assert head.status_code == 200 and head.data == b"" and head.headers["Content-Length"] == str(len(first.data))


def test_readers_with_a_cookie_get_the_same_cached_page_through_flask(app, factories, episode):
    url = f"/episodes/{episode.slug}"
    anonymous_page(app, url)
    reader = app.test_client()
    reader.get("/auth/login")  # a form: now the reader carries a session cookie with a CSRF token
    assert reader.get_cookie("session") is not None
    page = reader.get(url, headers={"Accept-Encoding": "gzip"})
    assert page.headers["X-Cache"] == "hit" and page.headers["Content-Encoding"] == "gzip"


def test_pages_that_are_not_cached_pass_through(app, factories, episode):
    assert anonymous_page(app, "/episodes/no-such-episode").status_code == 404
    assert "X-Cache" not in anonymous_page(app, "/auth/login").headers
    assert "X-Cache" not in anonymous_page(app, f"/episodes/{episode.slug}?t=%00").headers  # refused: 400


def test_an_author_with_a_hidden_post_never_fills_the_shared_lists(app, factories, login, episode):
    bob = factories.user("bob")
    post = factories.comment(bob, episode, body="held back")
    moderator = login(factories.user("mod", role=Role.moderator), the_client=app.test_client())
    moderator.post(f"/moderation/posts/{post.id}/act", data={"action": "hide", "reason": "Spam"})
    url = f"/episodes/{episode.slug}"
    assert "held back" in text_of(login(bob, the_client=app.test_client()).get(url))  # bob comes first
    assert "held back" not in text_of(login(factories.user("ada"), the_client=app.test_client()).get(url))
    assert "held back" not in text_of(anonymous_page(app, url))


def test_logged_in_page_from_the_frame_costs_the_same_queries_at_any_size(app, factories, login, episode,
                                                                          count_queries):
    reader = login(factories.user("reader"), the_client=app.test_client())
    reader.get("/")  # takes the "Logged in" message
    authors = [factories.user(f"author{i}") for i in range(3)]
    url = f"/episodes/{episode.slug}"

    def cost(comments: int) -> int:
        for i in range(comments):
            factories.comment(authors[i % 3], episode, body=f"comment {i}")
        reader.get(url)  # renders the frame for this version
        with count_queries() as q:
            assert reader.get(url).status_code == 200
        return q.count

    # Session and user, episode, versions, own votes, visit (read, or written when there is
    # something new), drafts, header counts,
    # whether the reader watches the episode.
    assert cost(5) == cost(120) <= 8
