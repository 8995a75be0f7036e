"""403 and 404 pages say why when the reason is known (and the reader may know it), in the
rule's own words; a refusal under /api/ answers JSON; a refusal keeps nothing half-written."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from community.extensions import db
from community.models import PostStatus, Role, User
from community.models.base import utcnow
from community.services import DomainError, PermissionDenied
from tests.conftest import text_of


@pytest.fixture
def episode(factories):
    return factories.episode(7, "Kelvin Guu on retrieval")


def test_a_closed_edit_window_says_when_the_post_was_written(client, factories, login, episode):
    ada = factories.user("ada")
    written = datetime(2026, 3, 2, 14, 5, tzinfo=timezone.utc)
    post = factories.comment(ada, episode, body="An old thought.", created_at=written)
    login(ada)
    reason = "The edit window closed at 16:05 UTC on 2026-03-02 (posts can be edited for 2 hours)."
    for response in (client.get(f"/posts/{post.id}/edit"),
                     client.post(f"/posts/{post.id}/edit", data={"body": "A new thought."})):
        assert response.status_code == 403 and reason in text_of(response)
        assert "You do not have permission" not in text_of(response)
    assert db.session.get(type(post), post.id).body_source == "An old thought."


def test_someone_elses_post_and_a_removed_one(client, factories, login, episode):
    ada, bob = factories.user("ada"), factories.user("bob")
    theirs = factories.comment(ada, episode, body="Ada's words.")
    removed = factories.comment(bob, episode, body="Bob's words.", status=PostStatus.removed)
    login(bob)
    response = client.get(f"/posts/{theirs.id}/edit")
    assert response.status_code == 403
    assert "only its author (for 2 hours) and the moderators can" in text_of(response)
    response = client.get(f"/posts/{removed.id}/edit")
    assert response.status_code == 403 and "You cannot edit this post: a moderator removed it." in text_of(response)
    response = client.post(f"/posts/{theirs.id}/delete")
    assert response.status_code == 403 and "Only the author can delete a post." in text_of(response)


def test_voting_on_a_removed_post_says_a_moderator_removed_it(client, factories, login, episode):
    removed = factories.comment(factories.user("ada"), episode, body="Gone.", status=PostStatus.removed)
    login(factories.user("bob"))
    vote = client.post(f"/posts/{removed.id}/vote", data={"up": "1"}, headers={"Accept": "application/json"})
    assert vote.status_code == 422 and vote.get_json() == {"error": "You cannot vote on this post: a moderator removed it."}


def test_a_suspended_author_is_told_until_when_and_keeps_the_typed_edit(client, factories, login, episode):
    ada = factories.user("ada")
    post = factories.comment(ada, episode, body="Fresh.")
    ada.suspended_until, ada.suspension_reason = datetime(2030, 5, 6, 7, 8, tzinfo=timezone.utc), "Spam"
    db.session.commit()
    login(ada)
    response = client.post(f"/posts/{post.id}/edit", data={"body": "Edited while suspended."})
    assert response.status_code == 403
    assert "Your account is suspended until 2030-05-06 07:08 UTC" in text_of(response)
    assert "the moderators' reason: Spam" in text_of(response)
    assert "Edited while suspended." in response.get_data(as_text=True)
    profile = client.post("/settings/profile", data={"display_name": "Ada", "links": ""})
    assert profile.status_code == 403 and "Your account is suspended" in text_of(profile)


def test_a_ban_says_for_good(client, factories, login, episode):
    post = factories.comment(factories.user("ada"), episode)
    troll = factories.user("troll")
    troll.suspended_until = datetime(9999, 1, 1, tzinfo=timezone.utc)
    db.session.commit()
    login(troll)
    response = client.post(f"/episodes/{episode.slug}/comments", data={"body": "let me in"})
    assert response.status_code == 403 and "Your account is suspended for good" in text_of(response)
    assert "9999" not in text_of(response)
    assert client.post(f"/posts/{post.id}/vote", data={"up": "1"}).status_code == 302  # told on the page it came from


def test_a_hidden_post_says_so_without_its_text_and_a_pending_one_says_nothing(client, factories, login, episode):
    hidden = factories.comment(factories.user("ada"), episode, body="A spicy take.", status=PostStatus.hidden)
    pending = factories.comment(factories.user("newbie"), episode, body="Waiting quietly.", status=PostStatus.pending)
    login(factories.user("bob"))
    response = client.get(f"/posts/{hidden.id}")
    assert response.status_code == 404
    assert "This post is hidden while the moderators review it" in text_of(response)
    assert "spicy" not in response.get_data(as_text=True)
    # A pending post is known to its author and the moderators only: it answers like no post at all.
    missing = client.get("/posts/999999")
    response = client.get(f"/posts/{pending.id}")
    assert response.status_code == missing.status_code == 404
    assert f"There is no post with the number {pending.id}." in text_of(response)
    assert text_of(response).replace(str(pending.id), "N") == text_of(missing).replace("999999", "N")
    assert "Waiting quietly" not in response.get_data(as_text=True)


def test_a_question_address_that_is_not_a_question(client, factories, login, episode):
    comment = factories.comment(factories.user("ada"), episode)
    login(factories.user("mod", role=Role.moderator))
    response = client.post(f"/questions/{comment.id}/decline", data={"reason": "x"})
    assert response.status_code == 404 and f"There is no question with the number {comment.id}." in text_of(response)


@pytest.fixture
def refusing_routes(app):
    """Two routes that write, then meet a rule that says no: one page, one under /api/."""

    def refuse():
        user = db.session.scalar(select(User))
        user.display_name = "Half-written"
        db.session.flush()
        raise PermissionDenied("Only the owner may do that, and only on Tuesdays.")

    def reject():
        raise DomainError("That number is too large.")

    app.add_url_rule("/test/refuse", "test_refuse", refuse, methods=["GET"])
    app.add_url_rule("/api/v1/test/refuse", "test_api_refuse", refuse, methods=["GET"])
    app.add_url_rule("/api/v1/test/reject", "test_api_reject", reject, methods=["GET"])


def test_the_handler_answers_in_the_rules_words_and_rolls_back(client, factories, refusing_routes):
    factories.user("ada")
    page = client.get("/test/refuse")
    assert page.status_code == 403 and page.mimetype == "text/html"
    assert "Only the owner may do that, and only on Tuesdays." in text_of(page)
    assert page.headers["Cache-Control"] == "no-store"
    api = client.get("/api/v1/test/refuse")
    assert api.status_code == 403 and api.mimetype == "application/problem+json"
    assert api.get_json() == {"type": "about:blank", "title": "Forbidden", "status": 403,
                              "detail": "Only the owner may do that, and only on Tuesdays."}
    rejected = client.get("/api/v1/test/reject")
    assert rejected.status_code == 422 and rejected.get_json()["detail"] == "That number is too large."
    db.session.expire_all()
    assert db.session.scalar(select(User.display_name)) == ""  # nothing half-written was kept


def test_generic_pages_stay_generic(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404 and "There is nothing at this address." in text_of(response)


def test_an_edit_inside_the_window_still_works(client, factories, login, episode):
    ada = factories.user("ada")
    post = factories.comment(ada, episode, body="Draft.", created_at=utcnow() - timedelta(minutes=90))
    login(ada)
    assert client.get(f"/posts/{post.id}/edit").status_code == 200
    assert client.post(f"/posts/{post.id}/edit", data={"body": "Final."}).status_code == 302
