"""The small things readers expect: live preview with math, new-comment jumps, shortcuts, counters."""

from __future__ import annotations

from datetime import timedelta

from playwright.sync_api import expect

from community.models.base import utcnow
from tests.e2e.conftest import log_in


def test_live_preview_counter_jump_and_shortcuts(new_page, data):
    episode = data.episode(5, "Katja Schwarz on GRAF")
    bob = data.user("bob")
    data.comment(bob, episode, body="seen already", created_at=utcnow() - timedelta(hours=2))
    data.user("ada")
    page = new_page()
    log_in(page, "ada")
    page.goto(f"/episodes/{episode.slug}")  # first visit: nothing is new
    expect(page.locator(".jump-new")).to_have_count(0)

    box = page.get_by_label("Your comment")
    box.fill("Radiance fields: $\\sigma(\\mathbf{x})$")
    expect(page.locator(".live-preview math")).to_have_count(1)

    box.fill("")  # nothing half-written: leaving the page asks nothing
    data.comment(bob, episode, body="a fresh thought")
    page.reload()
    expect(page.locator(".jump-new")).to_have_text("Jump to 1 new comment")
    page.keyboard.press("?")
    expect(page.locator("#shortcut-help")).to_be_visible()
    page.keyboard.press("Escape")

    long_text = "x" * 19_000
    page.get_by_label("Your comment").fill(long_text)
    page.get_by_label("Your comment").press("End")
    page.get_by_label("Your comment").type("y")
    expect(page.locator(".counter")).to_contain_text("19,001 / 20,000 characters")
