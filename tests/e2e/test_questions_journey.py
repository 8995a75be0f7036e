"""Questions for the guest, in a real browser: asked, upvoted, answered by the guest."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from community.extensions import db
from community.models import Notification, NotificationKind, Person, Role
from tests.e2e.conftest import log_in


@pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])
def test_member_asks_members_upvote_guest_answers(new_page, data, js):
    episode = data.episode(1, "Kelvin Guu on retrieval", guests=[("Kelvin Guu", "Google AI")])
    kelvin = data.user("kelvin", role=Role.guest)
    db.session.scalar(select(Person).where(Person.name == "Kelvin Guu")).user_id = kelvin.id
    db.session.commit()
    for name in ("asker", "voter1", "voter2", "outsider"):
        data.user(name)

    asker = new_page(js=js)
    log_in(asker, "asker")
    asker.goto(f"/episodes/{episode.slug}#questions")
    asker.get_by_label("Your question for the guests").fill("How is the retriever trained without labels?")
    asker.get_by_role("button", name="Ask the guests").click()
    question = asker.locator(".question-entry", has_text="retriever trained")
    expect(question.locator(".badge-open")).to_have_count(1)

    for name in ("voter1", "voter2"):
        voter = new_page(js=js)
        log_in(voter, name)
        voter.goto(f"/episodes/{episode.slug}")
        voter.locator(".question-entry", has_text="retriever trained").get_by_role("button", name="▲ Upvote").click()
        expect(voter.locator(".question-entry", has_text="retriever trained").locator(".score")).to_have_text(
            "2 votes" if name == "voter1" else "3 votes")

    # A member who is not the guest sees no way to answer.
    outsider = new_page(js=js)
    log_in(outsider, "outsider")
    outsider.goto(f"/episodes/{episode.slug}")
    expect(outsider.get_by_text("Answer this question")).to_have_count(0)

    guest = new_page(js=js)
    log_in(guest, "kelvin")
    expect(guest).to_have_url(f"{guest.url.split('/questions')[0]}/questions/")
    mine = guest.locator(".for-you")
    expect(mine.locator(".question-row").first).to_contain_text("retriever trained")
    mine.get_by_role("link", name="#1 Kelvin Guu on retrieval").first.click()
    entry = guest.locator(".question-entry", has_text="retriever trained")
    entry.locator(".answer-form > summary").click()
    entry.get_by_label("Your answer").fill("End to end, with retrieval as a latent variable.")
    entry.get_by_role("button", name="Post answer").click()

    answered = guest.locator(".question-entry", has_text="retriever trained")
    expect(answered.locator(".badge-answered")).to_have_count(1)
    expect(answered.locator(".answer")).to_contain_text("latent variable")
    expect(answered.locator(".answer .badge-guest")).to_have_text("Guest")

    notified = set(db.session.scalars(select(Notification.user_id).where(Notification.kind == NotificationKind.answer)))
    names = {u for u, in db.session.execute(select(type(kelvin).username).where(type(kelvin).id.in_(notified)))}
    assert names == {"asker", "voter1", "voter2"}
