"""Nothing typed is lost (issue 21): a submission sent after the session ended comes back
after login, `next` survives login, sign-up and password reset, drafts follow the writer."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select

from community.extensions import db
from community.models import Draft, PendingSubmission, Post, PostKind
from community.models.base import utcnow
from community.services import drafts
from tests.conftest import text_of


@pytest.fixture
def episode(factories):
    return factories.episode(1, "Kelvin Guu on retrieval")


def comments() -> int:
    return db.session.scalar(select(func.count()).select_from(Post).where(Post.kind == PostKind.comment))


def log_out(client):
    assert client.post("/auth/logout").status_code == 302


def test_a_comment_sent_after_logout_comes_back_after_login_and_posts(client, factories, login, episode):
    ada = factories.user("ada")
    login(ada)
    log_out(client)  # in another tab
    sent = client.post(f"/episodes/{episode.slug}/comments", data={"body": "Words I do not want to lose"})
    assert sent.status_code == 302 and comments() == 0
    login_url = urlsplit(sent.headers["Location"])
    assert login_url.path == "/auth/login"
    back = parse_qs(login_url.query)["next"][0]
    assert back == f"/episodes/{episode.slug}#comment-form"  # a page, never the POST-only address
    assert "your text is back in the box" in text_of(client.get(sent.headers["Location"]))

    logged_in = client.post(f"/auth/login?next={back.replace('#', '%23')}", data={"login": "ada", "password": factories.PASSWORD})
    assert logged_in.headers["Location"].endswith(f"/episodes/{episode.slug}#comment-form")
    page = client.get(f"/episodes/{episode.slug}")
    assert "Words I do not want to lose</textarea>" in page.get_data(as_text=True)
    assert "Your text from before you logged in is back in the box" in text_of(page)
    assert db.session.scalar(select(func.count()).select_from(PendingSubmission)) == 0

    assert client.post(f"/episodes/{episode.slug}/comments", data={"body": "Words I do not want to lose"}).status_code == 302
    assert comments() == 1 and db.session.scalar(select(func.count()).select_from(Draft)) == 0


def test_a_pending_submission_is_found_only_by_the_browser_that_sent_it(app, client, factories, login, episode):
    factories.user("ada")
    mallory = factories.user("mallory")
    client.post(f"/episodes/{episode.slug}/comments", data={"body": "Ada's unsent words"})
    other = app.test_client()
    login(mallory, the_client=other)
    assert "Ada's unsent words" not in other.get(f"/episodes/{episode.slug}").get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Draft)) == 0


def test_pending_submissions_expire_after_a_day(factories):
    token = drafts.keep_pending("/episodes/x/comments", "/episodes/x", {"body": "old words"})
    db.session.commit()
    pending = db.session.scalar(select(PendingSubmission).where(PendingSubmission.token == token))
    assert drafts.claim_pending(factories.user("ada"), token, now=pending.created_at + timedelta(days=1, seconds=1)) is None
    assert drafts.prune(now=utcnow() + timedelta(days=2)) == 0  # claimed (and dropped) already


def test_a_vote_after_logout_returns_to_the_page_not_a_post_only_route(client, factories, login, episode):
    post = factories.comment(factories.user("tom"), episode)
    sent = client.post(f"/posts/{post.id}/vote", data={"up": "1"},
                       headers={"Referer": f"http://localhost/episodes/{episode.slug}"})
    assert parse_qs(urlsplit(sent.headers["Location"]).query)["next"][0] == f"/episodes/{episode.slug}"
    assert db.session.scalar(select(func.count()).select_from(PendingSubmission)) == 0


def test_sign_up_from_log_in_to_reply_lands_at_the_reply_box(client, factories, episode):
    post = factories.comment(factories.user("tom"), episode)
    page = client.get(f"/episodes/{episode.slug}").get_data(as_text=True)
    login_link = re.search(r'href="(/auth/login\?next=[^"]+)">log in to reply', page)[1].replace("&amp;", "&")
    signup = re.search(r'href="(/auth/register\?next=[^"]+)"', client.get(login_link).get_data(as_text=True))[1]
    signup = signup.replace("&amp;", "&")
    response = client.post(signup, data={"username": "newcomer", "email": "new@example.org",
                                         "password": "a long enough passphrase", "confirm": "a long enough passphrase"})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/posts/{post.id}#reply-form")
    assert 'id="reply-form"' in client.get(f"/posts/{post.id}").get_data(as_text=True)


def test_the_episode_page_sign_up_link_keeps_the_way_back(client, episode):
    page = client.get(f"/episodes/{episode.slug}").get_data(as_text=True)
    assert f'/auth/register?next=/episodes/{episode.slug}%23comment-form' in page


def test_a_refused_comment_is_kept_as_a_draft_and_found_on_another_device(app, client, factories, login, episode):
    ada = factories.user("ada")
    login(ada)
    long_body = "x" * 20001
    assert client.post(f"/episodes/{episode.slug}/comments", data={"body": long_body}).status_code == 422
    laptop = app.test_client()
    login(ada, the_client=laptop)
    assert long_body in laptop.get(f"/episodes/{episode.slug}").get_data(as_text=True)
    assert laptop.get(f"/drafts?form=/episodes/{episode.slug}/comments").get_json()["drafts"] == {
        f"/episodes/{episode.slug}/comments": {"body": long_body}}


def test_drafts_saved_while_typing_come_back_and_go_on_success(client, factories, login, episode):
    login(factories.user("ada"))
    key = f"/episodes/{episode.slug}/papers"
    saved = client.post("/drafts", data={"draft_form": key, "draft_page": f"/episodes/{episode.slug}#paper-form",
                                         "link": "https://arxiv.org/abs/2005.11401", "title": "", "note": "half"})
    assert saved.status_code == 204
    page = client.get(f"/episodes/{episode.slug}").get_data(as_text=True)
    assert 'value="https://arxiv.org/abs/2005.11401"' in page and '<details class="add-paper" open>' in page
    assert client.post(key, data={"link": "https://arxiv.org/abs/2005.11401", "title": "RAG"}).status_code == 302
    assert client.get(f"/drafts?form={key}").get_json()["drafts"] == {}


def test_a_draft_needs_a_csrf_token_and_a_login(client, factories, login, episode):
    assert client.post("/drafts", data={"draft_form": "/x", "body": "b"}, csrf=False).status_code == 400
    assert client.get("/drafts?form=/x").status_code == 401  # a script asks it: a 401, not a login page
    login(factories.user("ada"))
    assert client.post("/drafts", data={"draft_form": "https://evil.example/", "body": "b"}).status_code == 422


def test_password_reset_keeps_the_way_back(client, factories, episode):
    factories.user("ada", email="ada@example.org")
    response = client.post(f"/auth/reset?next=/episodes/{episode.slug}", data={"email": "ada@example.org"})
    assert parse_qs(urlsplit(response.headers["Location"]).query)["next"][0] == f"/episodes/{episode.slug}"


def test_delete_asks_first_then_can_be_undone_for_ten_seconds(client, factories, login, episode):
    ada = factories.user("ada")
    post = factories.comment(ada, episode, body="Second thoughts")
    login(ada)
    page = client.get(f"/episodes/{episode.slug}").get_data(as_text=True)
    assert '<details class="inline confirm-delete"><summary>delete</summary>' in page and "Yes, delete" in page
    deleted = client.post(f"/posts/{post.id}/delete")
    assert deleted.headers["Location"].endswith(f"/episodes/{episode.slug}#discussion")
    shown = client.get(deleted.headers["Location"])
    assert f'action="/posts/{post.id}/undelete"' in shown.get_data(as_text=True) and "Undo" in text_of(shown)
    undone = client.post(f"/posts/{post.id}/undelete")
    assert undone.headers["Location"].endswith(f"#c{post.id}")
    assert "Second thoughts" in client.get(f"/episodes/{episode.slug}").get_data(as_text=True)


def test_undo_is_the_authors_and_only_for_ten_seconds(client, factories, login, episode):
    from community.services import DomainError, PermissionDenied, discussion

    ada, tom = factories.user("ada"), factories.user("tom")
    post = factories.comment(ada, episode)
    discussion.delete_post(ada, post)
    with pytest.raises(PermissionDenied):
        discussion.undelete_post(tom, post)
    with pytest.raises(DomainError, match="10 seconds"):
        discussion.undelete_post(ada, post, now=post.deleted_at + timedelta(seconds=11))
    discussion.undelete_post(ada, post, now=post.deleted_at + timedelta(seconds=9))
    assert post.status.value == "visible"
    discussion.delete_post(ada, post)
    db.session.commit()
    login(tom)
    assert client.post(f"/posts/{post.id}/undelete").status_code == 403


def old(factories, name):
    return factories.user(name, created_at=utcnow() - timedelta(days=30))


def test_the_flag_that_hides_a_post_thanks_the_flagger_where_they_were(client, factories, login, episode):
    from community.models import FlagReason
    from community.services import moderation

    post = factories.comment(old(factories, "troll"), episode, body="Buy my course")
    for name in ("m1", "m2"):
        moderation.flag(old(factories, name), post, FlagReason.spam)
    db.session.commit()
    login(old(factories, "m3"))
    response = client.post(f"/posts/{post.id}/flag", data={"reason": "spam"}, follow_redirects=True)
    db.session.expire_all()
    assert db.session.get(Post, post.id).status.value == "hidden"
    assert response.status_code == 200 and "Thanks: it is hidden pending review" in text_of(response)
    assert response.request.path == f"/episodes/{episode.slug}"


def test_rights_are_said_before_the_form_with_until_when(client, factories, login, episode):
    post = factories.comment(old(factories, "tom"), episode)
    login(factories.user("newbie", created_at=utcnow() - timedelta(hours=2)))
    page = client.get(f"/posts/{post.id}/flag")
    assert page.status_code == 200 and "you can from" in text_of(page) and 'name="note"' not in page.get_data(as_text=True)
    assert 'value="spam" checked' not in page.get_data(as_text=True)


def test_the_flag_form_has_no_reason_chosen_for_one_who_may_flag(client, factories, login, episode):
    post = factories.comment(old(factories, "tom"), episode)
    login(old(factories, "ada"))
    page = client.get(f"/posts/{post.id}/flag").get_data(as_text=True)
    radios = re.findall(r'<input[^>]*name="reason"[^>]*>', page)
    assert len(radios) >= 3 and not [radio for radio in radios if "checked" in radio]
    refused = client.post(f"/posts/{post.id}/flag", data={"note": "click-through"})  # no reason chosen
    assert refused.status_code == 422 and "Choose why you are flagging it." in text_of(refused)


def test_a_suspended_reader_sees_why_instead_of_the_forms(client, factories, login, episode):
    post = factories.comment(old(factories, "tom"), episode)
    login(factories.user("troll", suspended_until=utcnow() + timedelta(days=3)))
    page = client.get(f"/episodes/{episode.slug}")
    assert 'id="comment-body"' not in page.get_data(as_text=True)
    assert "you can read, and write again then" in text_of(page)
    # Nor buttons that would only answer 403: no vote, reply or flag on others' comments.
    assert not re.search(r'class="(vote |reply-link|flag-link)|id="vote-form"', page.get_data(as_text=True))
    permalink = client.get(f"/posts/{post.id}")  # no reply form either
    assert 'id="reply-form"' not in permalink.get_data(as_text=True)
    assert "you can read, and write again then" in text_of(permalink)


def test_a_blank_note_on_a_paper_is_no_note(client, factories, login, episode):
    login(old(factories, "ada"))
    response = client.post(f"/episodes/{episode.slug}/papers",
                           data={"link": "https://arxiv.org/abs/2005.11401", "title": "RAG", "note": "   \n "})
    assert response.status_code == 302


def test_posted_and_the_edit_window_while_it_lasts(client, factories, login, episode):
    login(old(factories, "ada"))
    response = client.post(f"/episodes/{episode.slug}/comments", data={"body": "Fresh words"}, follow_redirects=True)
    assert "Posted. You can edit it for the next 2 hours." in text_of(response)
    assert re.search(r"you can edit for 1 h 5\d min", text_of(response))


def test_the_author_sees_a_hidden_post_and_revises_it_for_review(client, factories, login, episode):
    from community.services import moderation

    ada, mod = old(factories, "ada"), factories.user("mod", role="moderator")
    post = factories.comment(ada, episode, body="Transformers were invented in 2019.")
    moderation.act(mod, post, "remove", "Needs a source")
    db.session.commit()
    login(ada)
    page = client.get(f"/posts/{post.id}")
    assert "Transformers were invented in 2019." in text_of(page) and 'id="revise-form"' in page.get_data(as_text=True)
    response = client.post(f"/posts/{post.id}/revise", data={"body": "Transformers: Vaswani et al., 2017."})
    assert response.status_code == 302
    db.session.expire_all()
    revised = db.session.get(Post, post.id)
    assert revised.body_source == "Transformers: Vaswani et al., 2017." and revised.status.value == "removed"
    assert post.id in [row.post.id for row in moderation.queue()]
    assert client.post(f"/posts/{post.id}/revise", data={"body": "x"}).status_code == 302  # still the author's
    login(factories.user("rex"), the_client=(other := client.application.test_client()))
    assert other.post(f"/posts/{post.id}/revise", data={"body": "hijack"}).status_code == 403


def test_a_comment_refused_before_confirming_waits_in_the_box_and_posts_after(client, factories, episode):
    """Signed up, link not opened yet: the refused comment is not lost. The writer is back at
    the form, the text in the box, told why and what to do; after opening the link it posts."""
    from community.models import EmailAddress
    from community.services import emails

    passphrase = "a long enough passphrase"
    signed_up = client.post(f"/auth/register?next=/episodes/{episode.slug}%23comment-form",
                            data={"username": "newcomer", "email": "new@example.org", "password": passphrase,
                                  "confirm": passphrase})
    assert signed_up.status_code == 302
    words = "Words written before the link was opened $e^{i\\pi}$"
    sent = client.post(f"/episodes/{episode.slug}/comments", data={"body": words})
    assert sent.status_code == 303 and sent.headers["Location"] == f"/episodes/{episode.slug}#comment-form"
    assert comments() == 0
    page = client.get(sent.headers["Location"])
    html = page.get_data(as_text=True)
    assert f"\n{words}</textarea>" in html
    said = text_of(page)
    assert "Confirm your email address first: we sent a link to n***@example.org" in said
    assert "Your text is kept in the box: send it once you have opened the link." in said

    address = db.session.scalar(select(EmailAddress).where(EmailAddress.email == "new@example.org"))
    with client.application.test_request_context():
        token = emails.make_token(address)
    confirmed = client.post(f"/auth/confirm/{token}")
    assert confirmed.status_code == 302 and confirmed.headers["Location"] == f"/episodes/{episode.slug}#comment-form"
    assert f"\n{words}</textarea>" in client.get(f"/episodes/{episode.slug}").get_data(as_text=True)  # still there
    assert client.post(f"/episodes/{episode.slug}/comments", data={"body": words}).status_code == 302
    assert comments() == 1 and db.session.scalar(select(func.count()).select_from(Draft)) == 0


def test_a_vote_refused_before_confirming_still_says_why_with_a_403(client, factories, login, episode):
    """A button has no words to keep: the refusal stays the reason, on a 403 page."""
    post = factories.comment(factories.user("tom"), episode)
    ada = factories.user("ada")
    ada.email_confirmed_at = None
    db.session.commit()
    login(ada)
    refused = client.post(f"/posts/{post.id}/vote", data={"up": "1"})
    assert refused.status_code == 403 and "Confirm your email address first" in text_of(refused)


def test_the_scripts_background_requests_after_logout_get_a_401_and_leave_the_session_alone(client, factories, login,
                                                                                            episode):
    """The live preview and the draft saves run while the writer types: after a logout in
    another tab they must not write a flash or a redirect into the session cookie, which could
    overwrite the one that keeps the comment sent at the same moment."""
    login(factories.user("ada"))
    log_out(client)
    for path, data in (("/markup/preview", {"body": "*typed*"}), ("/drafts", {"draft_form": "/x", "body": "typed"})):
        response = client.post(path, data=data)
        assert response.status_code == 401 and "log in again" in response.get_json()["error"]
        assert "Set-Cookie" not in response.headers, path
    response = client.get("/drafts?form=/x")
    assert response.status_code == 401 and "Set-Cookie" not in response.headers


@pytest.mark.parametrize("form, field", [("appeal", "text"), ("revise", "body")])
def test_an_appeal_or_revision_refused_before_confirming_waits_in_its_box(client, factories, login, episode, form,
                                                                          field):
    from community.services import moderation

    ada, mod = old(factories, "ada"), factories.user("mod", role="moderator")
    post = factories.comment(ada, episode, body="Transformers were invented in 2019.")
    moderation.act(mod, post, "remove", "Needs a source")
    ada.email_confirmed_at = None
    db.session.commit()
    login(ada)
    words = f"Words of the {form}, sent before confirming."
    refused = client.post(f"/posts/{post.id}/{form}", data={field: words})
    assert refused.status_code == 303 and refused.headers["Location"].startswith(f"/posts/{post.id}#")
    page = client.get(refused.headers["Location"])
    assert f"{words}</textarea>" in page.get_data(as_text=True)
    assert "Confirm your email address first" in text_of(page)


def test_a_guests_answer_refused_before_confirming_waits_in_its_box(client, factories, login):
    from community.models import Person
    from community.services import questions

    episode = factories.episode(1, "Kelvin Guu on retrieval", guests=[("Kelvin Guu", "Google AI")])
    kelvin = factories.user("kelvin", role="guest")
    db.session.scalar(select(Person).where(Person.name == "Kelvin Guu")).user_id = kelvin.id
    question = questions.ask(old(factories, "tom"), episode, "How is the retriever trained?")
    kelvin.email_confirmed_at = None
    db.session.commit()
    login(kelvin)
    words = "With the masked language model signal, roughly."
    refused = client.post(f"/questions/{question.id}/answer", data={"body": words})
    assert refused.status_code == 303
    page = client.get(refused.headers["Location"])
    assert f"{words}</textarea>" in page.get_data(as_text=True)
