"""A guest invited by email, in a real browser: the admin invites, the mail arrives (a local
SMTP server), the guest signs up through the link, accepts, answers the question waiting in
their inbox; the asker hears of it and sees the Guest badge on the answer."""

from __future__ import annotations

import re

import pytest
from aiosmtpd.controller import Controller
from playwright.sync_api import expect
from sqlalchemy import select

from community.extensions import db
from community.models import Person, Role
from community.services import questions
from tests.e2e.conftest import log_in
from tests.e2e.scenario import as_request, axe_source, describe_violations, measured_contrast_failures, run_axe
from tests.views.test_smtp import Inbox, free_port


@pytest.fixture
def smtp(live_app):
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    live_app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=controller.port)
    yield inbox
    controller.stop()


def assert_accessible(page, js: bool) -> None:
    """No serious or critical axe-core violation on this page (checked once, in the js run)."""
    script = axe_source() if js else None
    if script is None:
        return
    results = run_axe(page, script, {"resultTypes": ["violations", "incomplete"]})
    blocking = [v for v in results["violations"] + measured_contrast_failures(results)
                if v["impact"] in ("serious", "critical")]
    assert not blocking, f"{page.url}:\n{describe_violations(blocking)}"


def plain_text(message) -> str:
    return next(p.get_payload(decode=True).decode() for p in message.walk() if p.get_content_type() == "text/plain")


@pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])
def test_admin_invites_guest_by_email_who_answers_from_the_inbox(new_page, data, live_app, smtp, js):
    episode = data.episode(1, "Kelvin Guu on retrieval", guests=[("Kelvin Guu", "Google AI")])
    kelvin = db.session.scalar(select(Person).where(Person.name == "Kelvin Guu"))
    data.user("boss", role=Role.admin)
    asker = data.user("asker", email="asker@example.org")
    with as_request(live_app.base_url):
        questions.ask(asker, episode, "How is the retriever trained without labels?")
        db.session.commit()

    # The admin invites Kelvin Guu from his page, by email.
    admin = new_page(js=js)
    log_in(admin, "boss")
    admin.goto(f"/people/{kelvin.id}")
    admin.get_by_role("link", name="Invite Kelvin Guu").click()
    assert_accessible(admin, js)
    expect(admin.get_by_label("Invite")).to_have_value(str(kelvin.id))
    admin.get_by_label("Email (optional)").fill("kelvin@example.org")
    admin.get_by_role("button", name="Create invitation").click()
    expect(admin.get_by_text("mailed to kelvin@example.org").first).to_be_visible()
    shown = admin.get_by_label("Invitation link").input_value()
    assert_accessible(admin, js)

    assert [m["To"] for m in smtp.messages] == ["kelvin@example.org"]
    link = re.search(r"http://\S+/invite/[\w-]+", plain_text(smtp.messages[0])).group(0)
    assert link == shown

    # The guest opens the link, signs up, comes back and accepts.
    guest = new_page(js=js)
    guest.goto(link)
    expect(guest.get_by_role("heading", name="An invitation for Kelvin Guu")).to_be_visible()
    expect(guest.get_by_role("link", name="#1 Kelvin Guu on retrieval")).to_be_visible()
    assert_accessible(guest, js)
    guest.get_by_role("link", name="Create an account").click()
    guest.get_by_label("Username").fill("kelvin")
    guest.get_by_label("Email").fill("kelvin@example.org")
    guest.get_by_label("Password", exact=True).fill("retrieval as a latent variable")
    guest.get_by_label("Confirm password").fill("retrieval as a latent variable")
    guest.get_by_role("button", name="Create account").click()
    guest.get_by_role("button", name="Accept as kelvin").click()

    # The inbox: the question waiting, answered in one step.
    expect(guest.get_by_role("link", name="1 question waiting for you")).to_be_visible()
    waiting = guest.locator(".inbox-question", has_text="retriever trained")
    expect(waiting).to_have_count(1)
    assert_accessible(guest, js)
    waiting.get_by_label("Your answer").fill("End to end, with retrieval as a latent variable.")
    waiting.get_by_role("button", name="Post answer").click()
    expect(guest.get_by_text("Answer posted.")).to_be_visible()
    expect(guest.get_by_text("No question is waiting for you.")).to_be_visible()
    expect(guest.get_by_role("link", name="1 question waiting for you")).to_have_count(0)

    # The asker hears of it (mail and notification) and sees the Guest badge on the answer.
    assert any(m["To"] == "asker@example.org" and "answered" in m["Subject"] for m in smtp.messages)
    reader = new_page(js=js)
    log_in(reader, "asker")
    reader.get_by_role("link", name=re.compile("Notifications")).click()
    reader.get_by_role("link", name=re.compile("kelvin answered “")).click()
    reader.goto(f"/episodes/{episode.slug}#questions")
    answered = reader.locator(".question-entry", has_text="retriever trained")
    expect(answered.locator(".badge-answered")).to_have_count(1)
    expect(answered.locator(".answer")).to_contain_text("latent variable")
    expect(answered.locator(".answer .badge-guest")).to_have_text("Guest")
