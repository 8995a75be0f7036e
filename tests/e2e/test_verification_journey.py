"""A new member becomes a verified researcher in a real browser: signs up, confirms the
account's address from the mail (captured by a local SMTP server), adds an address on a
listed university's domain, opens its link, and carries the Researcher badge with
"verified · cs.stanford.edu" on the profile and on posts; a gmail address verifies nothing;
thirteen months later (the stored dates moved back, not slept) the badge is gone."""

from __future__ import annotations

import email
import re
from datetime import timedelta

import pytest
from aiosmtpd.controller import Controller
from playwright.sync_api import expect
from sqlalchemy import select

from community.extensions import db
from community.models import User
from tests.e2e.scenario import as_request, fresh
from tests.factories import move_verifications_back
from tests.views.test_smtp import free_port

JS = pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])


class Inbox:
    def __init__(self):
        self.messages: list[email.message.Message] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's API)
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"

    def link_for(self, address: str) -> str:
        body = [m for m in self.messages if m["To"] == address][-1].get_payload(decode=True).decode()
        return re.search(r"https?://\S+(/auth/confirm/\S+)", body).group(1)


@pytest.fixture
def inbox(live_app):
    box = Inbox()
    controller = Controller(box, hostname="127.0.0.1", port=free_port())
    controller.start()
    live_app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=controller.port)
    try:
        yield box
    finally:
        controller.stop()


@JS
def test_a_new_member_becomes_a_verified_researcher_until_it_lapses(new_page, data, inbox, js):
    with as_request():
        episode = data.episode(5, "Percy Liang on foundation models", guests=[("Percy Liang", "Stanford")])
        slug = episode.slug

    page = new_page(js=js)
    page.goto("/auth/register")
    page.get_by_label("Username").fill("new_researcher")
    page.get_by_label("Email").fill("nina@example.org")
    page.get_by_label("Password", exact=True).fill("retrieval beats memorising")
    page.get_by_label("Confirm password").fill("retrieval beats memorising")
    page.get_by_role("button", name="Create account").click()
    banner = page.locator(".confirm-banner")
    expect(banner).to_contain_text("Confirm your address: we sent a link to n***@example.org")

    # Before confirming, a comment is refused with the reason (and the way to resend).
    page.goto(f"/episodes/{slug}")
    page.get_by_label("Your comment").fill("Scaling laws for retrieval?")
    page.get_by_role("button", name="Post comment").click()
    expect(page.locator("main")).to_contain_text("Confirm your email address first")
    expect(page.get_by_label("Your comment")).to_have_value("Scaling laws for retrieval?")  # kept (issue 21)
    page.locator(".confirm-banner").get_by_role("button", name="Send it again").click()
    expect(page.locator(".flash").last).to_contain_text("check your inbox")  # too soon: "moments ago: check your inbox"

    # The account's address, from the mail.
    page.goto(inbox.link_for("nina@example.org"))
    page.get_by_role("button", name="Confirm nina@example.org").click()
    expect(page.locator(".flash", has_text="nina@example.org is confirmed")).to_be_visible()
    expect(page.locator(".confirm-banner")).to_have_count(0)
    # Back where the refused comment waits, ready to send.
    expect(page.get_by_label("Your comment")).to_have_value("Scaling laws for retrieval?")

    # A gmail address does not verify: refused with the reason, no mail sent.
    page.goto("/settings/emails")
    page.get_by_label("Institutional address").fill("nina@gmail.com")
    page.get_by_role("button", name="Add and send the link").click()
    expect(page.locator(".field.has-error")).to_contain_text("gmail.com is a public mail provider")
    expect(page.get_by_label("Institutional address")).to_have_value("nina@gmail.com")
    assert not [m for m in inbox.messages if m["To"] == "nina@gmail.com"]

    # A listed university's subdomain does.
    page.get_by_label("Institutional address").fill("nina@cs.stanford.edu")
    page.get_by_role("button", name="Add and send the link").click()
    expect(page.locator("table.addresses")).to_contain_text("waiting for its link")
    page.goto(inbox.link_for("nina@cs.stanford.edu"))
    page.get_by_role("button", name="Confirm nina@cs.stanford.edu").click()
    expect(page.locator(".flash", has_text="you are a verified researcher (verified · cs.stanford.edu)")).to_be_visible()

    page.goto("/u/new_researcher")
    heading = page.locator(".profile header")
    expect(heading.locator(".badge-researcher")).to_have_text("Researcher")
    expect(heading.locator(".verified-hat")).to_have_text("verified · cs.stanford.edu")
    expect(page.locator(".verifications")).to_contain_text("Researcher, verified by institution email (cs.stanford.edu) since")

    # Posts carry it as their hat.
    page.goto(f"/episodes/{slug}")
    page.get_by_label("Your comment").fill("Scaling laws for retrieval?")
    page.get_by_role("button", name="Post comment").click()
    mine = page.locator(".comment", has_text="Scaling laws for retrieval?")
    expect(mine.locator(".comment-meta .badge-researcher")).to_have_text("Researcher")
    expect(mine.locator(".comment-meta .verified-hat")).to_have_text("verified · cs.stanford.edu")

    # Thirteen months on, not re-confirmed: the verification lapsed and the badge went with it.
    with as_request():
        fresh()
        move_verifications_back(db.session.scalar(select(User.id).where(User.username == "new_researcher")),
                                timedelta(days=396))
    page.goto("/u/new_researcher")
    expect(page.locator(".profile header .badge-researcher")).to_have_count(0)
    expect(page.locator(".profile header .verified-hat")).to_have_count(0)
    expect(page.locator(".verifications")).to_contain_text("lapsed on")
    page.goto("/settings/emails")
    expect(page.locator("table.addresses")).to_contain_text("re-confirm it to be verified again")
