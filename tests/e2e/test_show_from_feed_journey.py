"""Issue 18's whole path, from an empty database and without SQL: `flask import-feed` of a
feed with podcast:person tags creates the people and their appearances; an admin links a
member's account to the imported guest in the console; that member answers a listener's
question on the episode with the Guest badge. JavaScript on and off."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from community.extensions import db
from community.models import Episode, Role
from community.services import questions
from tests.e2e.conftest import log_in

FEED = Path(__file__).resolve().parents[1] / "fixtures" / "feeds" / "podcast-namespace.xml"


@pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])
def test_from_a_feed_to_a_guests_answer(live_app, new_page, data, js):
    result = live_app.test_cli_runner().invoke(args=["import-feed", str(FEED)])
    assert result.exit_code == 0, result.output
    # Loaded with its people: the command's own copy may be gone (the session holds rows weakly).
    episode = db.session.scalar(select(Episode).where(Episode.feed_guid == "gdd-0001")
                                .options(selectinload(Episode.appearances)))
    assert {p.name for p in episode.guests} == {"Iris Okafor-Lind", "Sam Varga"}  # from podcast:person

    data.user("boss", role=Role.admin)
    data.user("iris")  # the guest's own account: a plain member until the console links it
    asker = data.user("asker")
    questions.ask(asker, episode, "Are flat minima a property of the optimiser or of the data?")
    db.session.commit()

    admin = new_page(js=js)
    log_in(admin, "boss")
    admin.goto("/admin/people/")
    admin.get_by_role("link", name="Iris Okafor-Lind").click()
    admin.get_by_label("Username").fill("iris")
    admin.get_by_role("button", name="Link account").click()
    expect(admin.locator(".flash")).to_contain_text("Iris Okafor-Lind is now @iris")

    guest = new_page(js=js)
    log_in(guest, "iris")
    guest.goto(f"/episodes/{episode.slug}")
    entry = guest.locator(".question-entry", has_text="flat minima")
    entry.locator(".answer-form > summary").click()
    entry.get_by_label("Your answer").fill("Mostly of the data, in the runs we could repeat.")
    entry.get_by_role("button", name="Post answer").click()
    answered = guest.locator(".question-entry", has_text="flat minima")
    expect(answered.locator(".answer")).to_contain_text("runs we could repeat")
    expect(answered.locator(".answer .badge-guest")).to_have_text("Guest")
