"""The operator console in a real browser, with JavaScript on and off: an admin adds a
Person, makes them the guest of an episode and links their account, all in the console
(no SQL, no shell); that account then answers a question there with the Guest badge.
Screenshots of the console at 360 and 1280 px go where the other e2e tests put theirs."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from community.models import Role
from community.services import questions
from tests.e2e.conftest import log_in
from tests.e2e.scenario import ARTIFACTS

SCREENSHOTS = ARTIFACTS / "screenshots"
VIEWPORTS = {"phone": {"width": 360, "height": 740}, "laptop": {"width": 1280, "height": 800}}


@pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])
def test_admin_sets_a_guest_and_links_their_account_who_then_answers(new_page, data, js):
    episode = data.episode(3, "Retrieval without labels")
    data.user("boss", role=Role.admin)
    data.user("ada_l")  # the guest's own account, a plain member
    asker = data.user("asker")
    questions.ask(asker, episode, "How is the retriever trained without labels?")
    from community.extensions import db

    db.session.commit()

    admin = new_page(js=js)
    log_in(admin, "boss")
    admin.get_by_role("link", name="Console").first.click()
    admin.get_by_role("navigation", name="Console").get_by_role("link", name="People").click()
    admin.get_by_role("link", name="Add a person").click()
    admin.get_by_label("Name", exact=True).fill("Ada Lovelace")
    admin.get_by_label("Affiliation").fill("Analytical Engines Lab")
    admin.get_by_role("button", name="Save person").click()
    expect(admin.locator(".flash")).to_contain_text("Added Ada Lovelace")

    admin.get_by_label("Username").fill("ada_l")
    admin.get_by_role("button", name="Link account").click()
    expect(admin.locator(".flash")).to_contain_text("Ada Lovelace is now @ada_l")

    admin.get_by_role("navigation", name="Console").get_by_role("link", name="Episodes").click()
    admin.get_by_role("link", name="Retrieval without labels").click()
    admin.get_by_label("Guests").fill("Ada Lovelace")
    admin.get_by_role("button", name="Save who was on it").click()
    expect(admin.locator(".flash")).to_contain_text("Saved who was on the episode")

    admin.get_by_role("navigation", name="Console").get_by_role("link", name="Admin log").click()
    log = admin.locator("table.log tbody tr")
    expect(log).to_have_count(3)
    expect(log.first).to_contain_text("Set who was on #3 Retrieval without labels")

    guest = new_page(js=js)
    log_in(guest, "ada_l")
    guest.goto(f"/episodes/{episode.slug}")
    expect(guest.locator(".guests")).to_contain_text("Ada Lovelace")
    entry = guest.locator(".question-entry", has_text="retriever trained")
    entry.locator(".answer-form > summary").click()
    entry.get_by_label("Your answer").fill("Retrieval is a latent variable, trained end to end.")
    entry.get_by_role("button", name="Post answer").click()
    answered = guest.locator(".question-entry", has_text="retriever trained")
    expect(answered.locator(".answer")).to_contain_text("latent variable")
    expect(answered.locator(".answer .badge-guest")).to_have_text("Guest")


def test_console_screenshots_at_360_and_1280(new_page, data):
    episode = data.episode(4, "Scaling laws, revisited", guests=[("Grace Hopper", "Compilers Inc")],
                           hosts=["Kanjun Qiu"])
    data.user("boss", role=Role.admin)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    for viewport, size in VIEWPORTS.items():
        page = new_page(viewport=size)
        log_in(page, "boss")
        for name, path in (("dashboard", "/admin/"), ("episodes", "/admin/episodes/"),
                           ("episode", f"/admin/episodes/{episode.id}"), ("people", "/admin/people/"),
                           ("settings", "/admin/settings"), ("log", "/admin/log")):
            response = page.goto(path)
            assert response.status == 200, path
            # Nothing scrolls sideways on a phone (tables scroll inside their own box).
            assert page.evaluate("document.documentElement.scrollWidth") <= size["width"], (name, viewport)
            page.screenshot(path=SCREENSHOTS / f"console-{name}-{size['width']}x{size['height']}.png", full_page=True)
