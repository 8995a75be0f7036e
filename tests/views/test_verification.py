"""Confirmed and institutional addresses over a real local SMTP server (aiosmtpd): the links
in the mail are the ones opened. Tokens expired, reused, tampered and for another address;
the researcher badge an institutional address gives, lapses, and moderators give or take."""

from __future__ import annotations

import email
import re
import time
from datetime import timedelta
from unittest import mock

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select, update

from community.extensions import db
from community.models import AdminLogEntry, EmailAddress, Post, ResearchDomain, Role, User, Verification
from community.models.base import utcnow
from community.services import emails, verification
from tests.conftest import text_of
from tests.factories import move_verifications_back
from tests.views.test_smtp import free_port

PASSPHRASE = "a long and unusual passphrase"


class Inbox:
    def __init__(self):
        self.messages: list[email.message.Message] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's API)
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"

    def to(self, address: str) -> list[email.message.Message]:
        return [m for m in self.messages if m["To"] == address]

    def link(self, address: str) -> str:
        """The path of the confirmation link in the last mail to `address`."""
        body = self.to(address)[-1].get_payload(decode=True).decode()
        return re.search(r"http://localhost(/auth/confirm/\S+)", body).group(1)


@pytest.fixture
def inbox():
    box = Inbox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port())
    controller.start()
    box.port = controller.port
    try:
        yield box
    finally:
        controller.stop()


@pytest.fixture
def app_config(inbox):
    return {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": inbox.port, "PROPAGATE_EXCEPTIONS": False}


def register(client, username="nadia", address="nadia@example.org"):
    response = client.post("/auth/register", data={"username": username, "email": address,
                                                    "password": PASSPHRASE, "confirm": PASSPHRASE})
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    return db.session.scalar(select(User).where(User.username == username))


def open_link(client, path: str, status: int = 302):
    """The mailed link: a page with one button, then the button."""
    page = client.get(path)
    if page.status_code != 200:
        return page
    assert "Confirm" in text_of(page)
    response = client.post(path)
    assert response.status_code == status, text_of(response)[:1000]
    return response


def posts() -> int:
    db.session.commit()
    return db.session.scalar(select(func.count(Post.id)))


# ---------------------------------------------------------------- a new account

def test_a_new_account_confirms_by_the_mailed_link_before_it_writes(client, factories, inbox):
    episode = factories.episode(1, "Retrieval")
    register(client)
    assert [m["Subject"] for m in inbox.to("nadia@example.org")] == ["Confirm your GI Community address"]

    page = text_of(client.get("/"))
    assert "Confirm your address: we sent a link to n***@example.org" in page
    refused = client.post(f"/episodes/{episode.slug}/comments", data={"body": "Hello!"})
    # Refused, the words kept (issue 21): back at the form, the text in the box, the reason above.
    assert refused.status_code == 303 and refused.headers["Location"] == f"/episodes/{episode.slug}#comment-form"
    form_page = client.get(refused.headers["Location"])
    assert "Confirm your email address first: we sent a link to n***@example.org" in text_of(form_page)
    assert "Send it again" in text_of(form_page) and posts() == 0
    assert "Hello!</textarea>" in form_page.get_data(as_text=True)
    # Setting up the profile works meanwhile.
    assert client.post("/settings/profile", data={"display_name": "Nadia", "affiliation": "", "bio": "",
                                                  "links": ""}).status_code == 302

    done = open_link(client, inbox.link("nadia@example.org"))
    assert done.headers["Location"] == f"/episodes/{episode.slug}#comment-form"  # where the words wait
    back = client.get(done.headers["Location"])
    assert "nadia@example.org is confirmed" in text_of(back) and "Hello!</textarea>" in back.get_data(as_text=True)
    assert "Confirm your address" not in text_of(client.get("/"))
    assert client.post(f"/episodes/{episode.slug}/comments", data={"body": "Hello!"}).status_code == 302
    assert posts() == 1
    db.session.expire_all()
    assert db.session.scalar(select(User.email_confirmed_at).where(User.username == "nadia")) is not None
    assert db.session.scalar(select(func.count(EmailAddress.id))) == 0  # the waiting row has done its work


def test_the_mailed_link_leads_back_to_the_page_the_user_signed_up_from(client, factories, inbox):
    post = factories.comment(factories.user("tom"), factories.episode(1, "Retrieval"))
    back = f"/posts/{post.id}#reply-form"
    assert client.post(f"/auth/register?next=/posts/{post.id}%23reply-form",
                       data={"username": "nadia", "email": "nadia@example.org", "password": PASSPHRASE,
                             "confirm": PASSPHRASE}).headers["Location"] == back
    link = inbox.link("nadia@example.org")
    assert f"next=/posts/{post.id}%23reply-form" in link
    assert open_link(client, link).headers["Location"] == back
    assert open_link(client.application.test_client(), link, status=410).status_code == 410  # once only


def test_resend_is_rate_limited_and_says_where_it_went(client, inbox):
    user = register(client)
    refused = client.post("/settings/emails/resend", data={"next": "/episodes/"}, follow_redirects=True)
    assert "We sent a link to n***@example.org moments ago: check your inbox" in text_of(refused)
    assert len(inbox.to("nadia@example.org")) == 1
    # Two minutes later (the stored send time moved back, not slept):
    db.session.execute(update(EmailAddress).where(EmailAddress.user_id == user.id)
                       .values(sent_at=utcnow() - timedelta(minutes=3)))
    db.session.commit()
    again = client.post("/settings/emails/resend", follow_redirects=True)
    assert "Sent again: check your inbox at n***@example.org" in text_of(again)
    assert len(inbox.to("nadia@example.org")) == 2
    # Either link works, once.
    open_link(client, inbox.link("nadia@example.org"))


# ---------------------------------------------------------------- the tokens

def test_a_used_link_does_not_work_again(client, inbox):
    register(client)
    link = inbox.link("nadia@example.org")
    open_link(client, link)
    again = client.get(link)
    assert again.status_code == 410 and "no longer waits for it" in text_of(again)
    assert client.post(link).status_code == 410


def test_a_reused_institutional_link_is_refused_though_the_address_is_still_there(client, factories, login, inbox):
    login(factories.user("ada"))
    client.post("/settings/emails/institutional", data={"institutional_email": "ada@cs.stanford.edu"})
    link = inbox.link("ada@cs.stanford.edu")
    open_link(client, link)
    again = client.post(link)
    assert again.status_code == 410 and "already been used" in text_of(again)


def test_an_expired_link_is_refused(client, inbox):
    register(client)
    address = db.session.scalar(select(EmailAddress))
    # Signed 49 hours ago: itsdangerous reads the clock when it signs.
    with mock.patch("itsdangerous.timed.time.time", return_value=time.time() - 49 * 3600):
        with client.application.test_request_context():
            token = emails.make_token(address)
    response = client.get(f"/auth/confirm/{token}")
    assert response.status_code == 410 and "expired (links work for 48 hours)" in text_of(response)
    assert client.post(f"/auth/confirm/{token}").status_code == 410
    db.session.expire_all()
    assert db.session.scalar(select(User.email_confirmed_at)) is None


def test_a_tampered_link_is_refused(client, inbox):
    register(client)
    link = inbox.link("nadia@example.org")
    payload, signature = link.rsplit(".", 1)
    for forged in (payload + "." + signature[::-1], link[:-2] + ("AA" if not link.endswith("AA") else "BB"),
                   link.replace("/auth/confirm/", "/auth/confirm/x")):
        response = client.post(forged)
        assert response.status_code == 404 and "not valid" in text_of(response), forged
    db.session.expire_all()
    assert db.session.scalar(select(User.email_confirmed_at)) is None


def test_a_link_for_another_address_or_account_is_refused(app, client, factories, login, inbox):
    login(factories.user("ada"))
    client.post("/settings/emails/account", data={"new_email": "ada.first@example.org"})
    first = inbox.link("ada.first@example.org")
    client.post("/settings/emails/account", data={"new_email": "ada.second@example.org"})
    # The first change was replaced: its link is for an address that no longer waits.
    assert client.post(first).status_code == 410
    # The second one's link, opened while another account is logged in.
    second = inbox.link("ada.second@example.org")
    other = login(factories.user("bob"), the_client=app.test_client())
    refused = other.post(second)
    assert refused.status_code == 403 and "another account" in text_of(refused)
    db.session.expire_all()
    assert db.session.scalar(select(User.email).where(User.username == "ada")) == "ada@example.org"
    open_link(client, second)
    db.session.expire_all()
    assert db.session.scalar(select(User.email).where(User.username == "ada")) == "ada.second@example.org"


# ---------------------------------------------------------------- changing the address

def test_a_new_address_replaces_the_old_only_once_confirmed_and_the_old_is_told(client, factories, login, inbox):
    ada = factories.user("ada", email="ada@example.org")
    login(ada)
    response = client.post("/settings/emails/account", data={"new_email": "Ada@New.example.org"}, follow_redirects=True)
    assert "We sent a link to Ada@New.example.org" in text_of(response)
    assert "Waiting to replace it: Ada@New.example.org" in text_of(client.get("/settings/emails"))
    db.session.expire_all()
    assert db.session.get(User, ada.id).email == "ada@example.org"  # still the old one
    open_link(client, inbox.link("Ada@New.example.org"))
    db.session.expire_all()
    user = db.session.get(User, ada.id)
    assert (user.email, user.email_key) == ("Ada@New.example.org", "ada@new.example.org")
    notice = inbox.to("ada@example.org")[-1]
    assert notice["Subject"] == "Your GI Community address was changed"
    assert "A***@New.example.org" in notice.get_payload(decode=True).decode()
    # The new address logs in; the old one no longer does.
    client.post("/auth/logout")
    assert client.post("/auth/login", data={"login": "ada@new.example.org", "password": factories.PASSWORD}).status_code == 302


def test_an_address_in_use_is_refused_and_a_race_is_lost_with_the_reason(app, client, factories, login, inbox):
    factories.user("bob", email="bob@example.org")
    login(factories.user("ada"))
    taken = client.post("/settings/emails/account", data={"new_email": "BOB@example.org"})
    assert taken.status_code == 422 and "Another account uses this address." in text_of(taken)
    assert "BOB@example.org" in taken.get_data(as_text=True)  # what was typed, shown again
    # Two accounts wait for one institutional address; the first to confirm keeps it.
    client.post("/settings/emails/institutional", data={"institutional_email": "shared@mit.edu"})
    ada_link = inbox.link("shared@mit.edu")
    carl = login(factories.user("carl"), the_client=app.test_client())
    carl.post("/settings/emails/institutional", data={"institutional_email": "shared@mit.edu"})
    open_link(carl, inbox.link("shared@mit.edu"))
    lost = client.post(ada_link)
    assert lost.status_code == 409 and "Another account confirmed shared@mit.edu first" in text_of(lost)
    db.session.expire_all()
    assert db.session.scalar(select(User.verified_via).where(User.username == "ada")) is None
    assert db.session.scalar(select(User.verified_detail).where(User.username == "carl")) == "mit.edu"


# ---------------------------------------------------------------- institutional addresses

def test_an_institutional_address_verifies_a_researcher_for_a_year(client, factories, login, inbox, count_queries):
    episode = factories.episode(1, "Retrieval")
    ada = factories.user("ada", affiliation="Stanford")
    factories.comment(ada, episode, body="Dense retrieval scales.")
    login(ada)
    refused = client.post("/settings/emails/institutional", data={"institutional_email": "ada@gmail.com"})
    assert refused.status_code == 422 and "gmail.com is a public mail provider" in text_of(refused)
    unlisted = client.post("/settings/emails/institutional", data={"institutional_email": "ada@example.org"})
    assert unlisted.status_code == 422 and "not on the list of research institutions" in text_of(unlisted)
    assert inbox.to("ada@gmail.com") == [] and inbox.to("ada@example.org") == []

    client.post("/settings/emails/institutional", data={"institutional_email": "ada@cs.stanford.edu"})
    assert "waiting for its link" in text_of(client.get("/settings/emails"))
    open_link(client, inbox.link("ada@cs.stanford.edu"))
    assert "you are a verified researcher (verified · cs.stanford.edu)" in text_of(client.get("/settings/emails"))

    profile = text_of(client.get("/u/ada"))
    assert "Researcher" in profile and "verified · cs.stanford.edu" in profile
    assert "Researcher, verified by institution email (cs.stanford.edu) since" in profile
    thread = client.get(f"/episodes/{episode.slug}").get_data(as_text=True)
    assert '<span class="badge badge-researcher">Researcher</span> <span class="verified-hat">verified · cs.stanford.edu' in thread
    author = client.get(f"/api/v1/episodes/{episode.slug}/thread").get_json()["posts"][0]["author"]
    assert author["badges"] == ["Researcher"]
    assert author["verified"]["how"] == "institution_email" and author["verified"]["detail"] == "cs.stanford.edu"
    assert author["verified"]["since"] and author["verified"]["until"]

    # Thirteen months later (the stored dates moved back, not slept): lapsed, badge gone.
    move_verifications_back(ada.id, timedelta(days=400))
    profile = text_of(client.get("/u/ada"))
    assert "verified · cs.stanford.edu" not in profile and "lapsed on" in profile
    assert "Researcher" not in text_of(client.get("/u/ada")).split("What was verified")[0]
    assert client.get(f"/api/v1/episodes/{episode.slug}/thread").get_json()["posts"][0]["author"]["verified"] is None
    assert "re-confirm it to be verified again" in text_of(client.get("/settings/emails"))

    # Re-confirming renews it for another year.
    address = db.session.scalar(select(EmailAddress))
    client.post(f"/settings/emails/{address.id}/resend")
    assert inbox.to("ada@cs.stanford.edu")[-1]["Subject"] == "Re-confirm your institutional address on GI Community"
    open_link(client, inbox.link("ada@cs.stanford.edu"))
    assert "verified · cs.stanford.edu" in text_of(client.get("/u/ada"))


def test_an_account_address_on_a_university_domain_verifies_when_confirmed(client, inbox):
    register(client, "grace", "grace@mit.edu")
    open_link(client, inbox.link("grace@mit.edu"))
    assert "verified · mit.edu" in text_of(client.get("/u/grace"))


def test_the_university_list_is_read_once_and_knows_parents_but_not_public_mail(app):
    assert len(verification.university_domains()) > 10_000
    assert verification.research_institution("cs.stanford.edu") == "stanford.edu"
    assert verification.research_institution("stanford.edu") == "stanford.edu"
    assert verification.research_institution("gmail.com") is None
    assert verification.research_institution("evilstanford.edu") is None
    assert verification.research_institution("edu") is None


def test_bylines_of_verified_researchers_cost_no_query(app, client, factories, count_queries):
    episode = factories.episode(1, "Retrieval")
    authors = [factories.user(f"writer{i}") for i in range(4)]
    for author in authors:
        factories.comment(author, episode, body=f"A comment by {author.username}.")

    def page_queries():  # each one a cache miss: verifying bumps the version of every page
        with count_queries() as counter:
            assert client.get(f"/episodes/{episode.slug}?sort=newest").status_code == 200
        return counter.count

    plain = page_queries()
    for author in authors:
        verification.record(author, verification.VerificationKind.institution_email, "cs.stanford.edu",
                            expires_at=utcnow() + timedelta(days=365))
    db.session.commit()
    assert page_queries() == plain
    assert client.get(f"/episodes/{episode.slug}?sort=oldest").get_data(as_text=True).count("verified · cs.stanford.edu") == 4


# ---------------------------------------------------------------- by hand

def test_admins_add_lab_domains_logged_and_public_mail_is_refused(client, factories, login, inbox):
    admin = factories.user("root_ada", role=Role.admin)
    login(admin)
    public = client.post("/admin/domains", data={"domain": "gmail.com", "name": "Google mail"})
    assert public.status_code == 422 and "public mail provider" in text_of(public)
    assert client.post("/admin/domains", data={"domain": "DeepMind.com", "name": "Google DeepMind"}).status_code == 302
    assert "deepmind.com" in text_of(client.get("/admin/domains"))
    entry = db.session.scalar(select(AdminLogEntry))
    assert (entry.action, entry.actor_id, entry.after) == ("research_domain.add", admin.id,
                                                          {"domain": "deepmind.com", "name": "Google DeepMind"})
    client.post("/settings/emails/institutional", data={"institutional_email": "root@london.deepmind.com"})
    open_link(client, inbox.link("root@london.deepmind.com"))
    assert "verified · london.deepmind.com" in text_of(client.get("/u/root_ada"))

    row = db.session.scalar(select(ResearchDomain))
    assert client.post(f"/admin/domains/{row.id}/remove").status_code == 302
    assert [e.action for e in db.session.scalars(select(AdminLogEntry).order_by(AdminLogEntry.id))] == [
        "research_domain.add", "research_domain.remove"]
    # What it verified stays until it lapses; new addresses there no longer verify.
    assert "verified · london.deepmind.com" in text_of(client.get("/u/root_ada"))
    refused = client.post("/settings/emails/institutional", data={"institutional_email": "other@deepmind.com"})
    assert refused.status_code == 422


def test_only_admins_see_the_domain_page(client, factories, login):
    login(factories.user("mod", role=Role.moderator))
    assert client.get("/admin/domains").status_code == 403
    assert client.post("/admin/domains", data={"domain": "lab.example.com"}).status_code == 403
    assert db.session.scalar(select(func.count(ResearchDomain.id))) == 0


def test_moderators_grant_and_revoke_by_hand_logged_and_a_revoked_address_stays_revoked(
        app, client, factories, login, inbox):
    ada = factories.user("ada")
    login(ada)
    client.post("/settings/emails/institutional", data={"institutional_email": "ada@cs.stanford.edu"})
    open_link(client, inbox.link("ada@cs.stanford.edu"))
    moderator = factories.user("mod_mia", role=Role.moderator)
    mod = login(moderator, the_client=app.test_client())
    assert "Revoke the researcher badge" in text_of(mod.get("/u/ada"))
    assert mod.post("/u/ada/researcher", data={"grant": "0", "note": "A student, not a researcher"}).status_code == 302
    assert "Researcher" not in text_of(client.get("/u/ada")).split("What was verified")[0]
    assert "revoked by a moderator" in text_of(client.get("/u/ada"))
    # Re-confirming the same address does not overrule the moderator.
    address = db.session.scalar(select(EmailAddress))
    db.session.execute(update(EmailAddress).values(sent_at=utcnow() - timedelta(hours=1)))
    db.session.commit()
    client.post(f"/settings/emails/{address.id}/resend")
    open_link(client, inbox.link("ada@cs.stanford.edu"))
    assert "verified · cs.stanford.edu" not in text_of(client.get("/u/ada"))

    assert mod.post("/u/ada/researcher", data={"grant": "1", "note": "Postdoc, checked"}).status_code == 302
    profile = text_of(client.get("/u/ada"))
    assert "Researcher, verified by a moderator since" in profile and "verified by a moderator" in profile
    log = [(e.action, e.actor_id, e.target_id) for e in db.session.scalars(select(AdminLogEntry).order_by(AdminLogEntry.id))]
    assert log == [("researcher.revoke", moderator.id, str(ada.id)), ("researcher.grant", moderator.id, str(ada.id))]
    # Members cannot, and nobody grants themselves.
    assert client.post("/u/mod_mia/researcher", data={"grant": "1"}).status_code == 403
    assert mod.post("/u/mod_mia/researcher", data={"grant": "1"}).status_code == 403


def test_the_export_holds_the_addresses_and_deleting_the_account_removes_them(client, factories, login, inbox):
    import io
    import json
    import zipfile

    ada = factories.user("ada")
    login(ada)
    client.post("/settings/emails/institutional", data={"institutional_email": "ada@cs.stanford.edu"})
    open_link(client, inbox.link("ada@cs.stanford.edu"))
    account = json.loads(zipfile.ZipFile(io.BytesIO(client.post("/settings/export").data)).read("account.json"))
    assert [(a["email"], a["purpose"]) for a in account["email_addresses"]] == [("ada@cs.stanford.edu", "institutional")]
    assert [(v["kind"], v["detail"]) for v in account["verifications"]] == [("institution_email", "cs.stanford.edu")]

    assert client.post("/settings/delete", data={"password": factories.PASSWORD, "posts": "keep"}).status_code == 302
    db.session.expire_all()
    assert db.session.scalar(select(func.count(EmailAddress.id))) == 0
    assert db.session.scalar(select(func.count(Verification.id))) == 0
    assert db.session.get(User, ada.id).verified_via is None


def test_an_institutional_address_another_account_confirmed_cannot_sign_up(client, factories, login, inbox, app):
    login(factories.user("ada"))
    client.post("/settings/emails/institutional", data={"institutional_email": "ada@cs.stanford.edu"})
    open_link(client, inbox.link("ada@cs.stanford.edu"))
    stranger = app.test_client()
    refused = stranger.post("/auth/register", data={"username": "mallory", "email": "ADA@cs.stanford.edu",
                                                    "password": PASSPHRASE, "confirm": PASSPHRASE})
    assert refused.status_code == 422 and "An account with this email already exists." in text_of(refused)
    assert db.session.scalar(select(User.id).where(User.username == "mallory")) is None


def test_a_mistyped_address_is_fixed_before_confirming_and_the_stranger_hears_nothing(client, inbox):
    register(client, "nadia", "nadia@exmaple.org")
    fixed = client.post("/settings/emails/account", data={"new_email": "nadia@example.org"}, follow_redirects=True)
    assert "We sent a link to nadia@example.org" in text_of(fixed)
    assert client.post(inbox.link("nadia@exmaple.org")).status_code == 410  # replaced
    open_link(client, inbox.link("nadia@example.org"))
    db.session.expire_all()
    user = db.session.scalar(select(User).where(User.username == "nadia"))
    assert user.email == "nadia@example.org" and user.email_confirmed_at is not None
    assert [m["Subject"] for m in inbox.to("nadia@exmaple.org")] == ["Confirm your GI Community address"]


def test_a_researcher_by_role_says_so_on_the_profile(client, factories):
    factories.user("old_hand", role=Role.researcher)
    profile = text_of(client.get("/u/old_hand"))
    assert "Researcher" in profile and "Researcher, given the role by an admin" in profile
