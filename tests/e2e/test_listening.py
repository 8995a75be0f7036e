"""Listening in a real browser: ?t= seeks the player, the mini-player docks at the bottom of
the window when the reader scrolls away and keeps the same audio going, "copy link at this
moment" gives the ?t= address; without JavaScript the player stays where it is.

The audio is a silent WAV from a local HTTP server (tests/feed_server.py). Screenshots of
the episode with the mini-player at 360 and 1280 px go to tests/artifacts/screenshots/."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests import feed_server
from tests.e2e.scenario import ARTIFACTS, axe_script, describe_violations, run_axe  # noqa: F401 (a fixture)

SCREENSHOTS = ARTIFACTS / "screenshots"
VIEWPORTS = {"phone": {"width": 360, "height": 740}, "laptop": {"width": 1280, "height": 800}}


@pytest.fixture
def audio_server():
    state, stop = feed_server.start()
    yield state
    stop()


@pytest.fixture
def episode(data, audio_server, live_app):
    """An episode with audio, chapters and a long discussion below the player (to scroll)."""
    from community.extensions import db

    with live_app.app_context():
        author = data.user("long_talker")
        made = data.episode(21, "Loss landscapes with a fictional guest", guests=[("Iris Okafor-Lind", "Nowhere Lab")],
                            audio_url=f"{audio_server.base}/audio/ep21.wav", duration_seconds=30,
                            summary="A fictional episode for the player tests.",
                            chapters=[{"start": 0.0, "title": "Introductions"}, {"start": 12.0, "title": "Sharp minima"}])
        for n in range(12):
            data.comment(author, made, body=f"Comment {n}: " + "A thought about the loss landscape. " * 12)
        db.session.commit()
        return made.slug


def test_t_seeks_and_the_mini_player_docks_on_scroll_and_keeps_the_audio(new_page, episode):
    for name, size in VIEWPORTS.items():
        page = new_page(viewport=size)
        page.goto(f"/episodes/{episode}?t=0:07")
        audio = page.locator("#player audio")
        # ?t= seeks (JS), and the media fragment says the same without it.
        page.wait_for_function("() => Math.round(document.querySelector('#player audio').currentTime) === 7")
        assert audio.get_attribute("src").endswith("#t=7")
        player = page.locator("#player")
        expect(player).not_to_have_class("player is-mini")

        page.mouse.wheel(0, 2500)  # down into the discussion
        expect(player).to_have_class("player is-mini")
        box = player.bounding_box()
        assert box["y"] + box["height"] <= size["height"] + 1 and box["y"] > size["height"] / 2  # docked at the bottom
        assert page.evaluate("() => Math.round(document.querySelector('#player audio').currentTime)") == 7  # same element
        expect(page.locator("#player .mini-title")).to_be_visible()
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=SCREENSHOTS / f"episode-mini-player-{size['width']}x{size['height']}.png")

        # A chapter link seeks the docked player without scrolling back up.
        page.evaluate("() => window.scrollTo(0, 0)")
        expect(player).not_to_have_class("player is-mini")  # back in its place
        page.get_by_role("link", name="0:12").click()
        page.wait_for_function("() => Math.round(document.querySelector('#player audio').currentTime) >= 12")


def test_copy_link_at_this_moment_gives_the_t_address(new_page, episode, live_app):
    page = new_page(permissions=["clipboard-read", "clipboard-write"])
    page.goto(f"/episodes/{episode}?t=9")
    page.wait_for_function("() => Math.round(document.querySelector('#player audio').currentTime) === 9")
    page.get_by_role("button", name="Copy link at this moment").click()
    expect(page.locator(".copy-moment output")).to_contain_text(f"/episodes/{episode}?t=9")
    copied = page.locator("[data-copy-moment]").get_attribute("data-copied")
    assert copied.endswith(f"/episodes/{episode}?t=9")
    page.goto(copied.replace(live_app.base_url, ""))
    page.wait_for_function("() => Math.round(document.querySelector('#player audio').currentTime) === 9")


def test_without_javascript_the_player_stays_and_a_form_opens_a_moment(new_page, episode):
    page = new_page(js=False)
    page.goto(f"/episodes/{episode}")
    expect(page.get_by_role("button", name="Copy link at this moment")).to_have_count(0)  # hidden: it needs JS
    page.get_by_label("Link to a moment").fill("1:05")
    page.get_by_role("button", name="Open at this time").click()
    assert page.url.endswith(f"/episodes/{episode}?t=1%3A05#player")
    assert page.locator("#player audio").get_attribute("src").endswith("#t=65")
    page.mouse.wheel(0, 2500)
    expect(page.locator("#player")).to_have_class("player")  # never docked


def test_the_player_and_its_mini_form_have_no_serious_axe_violations(new_page, episode, axe_script):
    page = new_page(viewport=VIEWPORTS["phone"])
    page.goto(f"/episodes/{episode}?t=7")
    page.wait_for_function("() => Math.round(document.querySelector('#player audio').currentTime) === 7")
    for docked in (False, True):
        if docked:
            page.mouse.wheel(0, 2500)
            expect(page.locator("#player")).to_have_class("player is-mini")
        results = run_axe(page, axe_script)
        blocking = [v for v in results["violations"] if v["impact"] in ("serious", "critical")]
        assert not blocking, describe_violations(blocking)
