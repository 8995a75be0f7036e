"""Phones (issue 22): the main pages at 360x740 and 1280x800, light and dark, with an
episode holding a thread eight levels deep of long math and code.

- nothing scrolls sideways (document.scrollingElement.scrollWidth <= innerWidth);
- every control is at least 24x24 (test_responsive's measure, and axe's target-size rule);
- a full-page screenshot per case in tests/artifacts/screenshots/phone-*.png;
- the header is one row on a phone, its menu opens without JavaScript;
- a phone shows four levels of a thread, then "Continue this thread"; a laptop shows eight;
- on a touch screen the vote and collapse controls are 44 px;
- `$$...$$` in a sentence stays in the line, and display math is not smaller than the text.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.scenario import axe_source, describe_violations, run_axe, site, site_page  # noqa: F401
from tests.e2e.test_responsive import MEASURE_TARGETS, MIN_TARGET, SCREENSHOTS, STRICT_LINK_CONTAINERS

VIEWPORTS = {"360x740": {"width": 360, "height": 740}, "1280x800": {"width": 1280, "height": 800}}
PAGES = {  # name -> (path, who looks at it)
    "home": ("/", "member"),
    "episode": ("/episodes/{w.episode_slug}", "member"),
    "episode-anonymous": ("/episodes/{w.episode_slug}", "anonymous"),
    "deep-permalink": ("/posts/{w.deep_id}", "member"),
    "papers": ("/papers/", "member"),
    "questions": ("/questions/", "member"),
    "queue": ("/moderation/queue", "moderator"),
}
CASES = [pytest.param(name, size, scheme, id=f"{name}-{size}-{scheme}")
         for name in PAGES for size in VIEWPORTS for scheme in ("light", "dark")]


@pytest.mark.parametrize(("name", "size", "scheme"), CASES)
def test_no_sideways_scroll_and_targets_big_enough(site_page, site, name, size, scheme):
    path, role = PAGES[name]
    page = site_page(role, viewport=VIEWPORTS[size], color_scheme=scheme)
    response = page.goto(path.format(w=site.world))
    assert response is not None and response.status == 200
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"phone-{name}-{size}-{scheme}.png", full_page=True)

    problems = []
    widths = page.evaluate("() => ({scroll: document.scrollingElement.scrollWidth, inner: window.innerWidth})")
    if widths["scroll"] > widths["inner"]:
        wide = page.evaluate("""() => Array.from(document.querySelectorAll('body *'))
            .filter(el => el.getBoundingClientRect().right > window.innerWidth + 0.5)
            .slice(0, 6).map(el => el.tagName.toLowerCase() + Array.from(el.classList).map(c => '.' + c).join('')
                + ` (right edge ${Math.round(el.getBoundingClientRect().right)})`)""")
        problems.append(f"sideways scroll: {widths['scroll']} > {widths['inner']}: {', '.join(wide)}")
    small = page.evaluate(MEASURE_TARGETS, {"minSize": MIN_TARGET, "strictLinks": STRICT_LINK_CONTAINERS})
    if small:
        problems.append("controls under 24x24 px:\n" + "\n".join(
            f"    {s['kind']} {s['name']!r} at {s['selector']}: {s['w']}x{s['h']}" for s in small))
    script = axe_source()
    if script is not None:
        axe = run_axe(page, script, {"runOnly": {"type": "rule", "values": ["target-size"]},
                                     "rules": {"target-size": {"enabled": True}}, "resultTypes": ["violations"]})
        if axe["violations"]:
            problems.append("axe target-size:\n" + describe_violations(axe["violations"], limit=8))
    assert not problems, f"{name} at {size} ({scheme}):\n" + "\n".join(problems)


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
def test_the_phone_header_is_one_row_and_its_menu_opens(site_page, site, javascript):
    page = site_page("member", viewport=VIEWPORTS["360x740"], java_script_enabled=javascript)
    page.goto("/")
    header = page.locator(".site-header").bounding_box()
    assert header["height"] <= 64, f"the header takes {header['height']} px on a phone"
    notifications = page.get_by_role("link", name="Notifications")
    expect(notifications).to_be_hidden()
    page.get_by_text("Menu", exact=True).click()
    expect(notifications).to_be_visible()
    expect(page.get_by_role("link", name="Papers")).to_be_visible()
    notifications.click()
    expect(page).to_have_url(f"{site.base_url}/notifications/")


def test_the_laptop_header_shows_everything_without_a_menu(site_page):
    page = site_page("member", viewport=VIEWPORTS["1280x800"])
    page.goto("/")
    expect(page.get_by_text("Menu", exact=True)).to_be_hidden()
    expect(page.get_by_role("link", name="Notifications")).to_be_visible()
    assert page.locator(".site-header").bounding_box()["height"] <= 64


def test_a_phone_shows_four_levels_then_continue(site_page, site):
    level = "Level {}:"
    phone = site_page("member", viewport=VIEWPORTS["360x740"])
    phone.goto(f"/episodes/{site.world.episode_slug}")
    expect(phone.get_by_text(level.format(4), exact=False).first).to_be_visible()
    expect(phone.get_by_text(level.format(5), exact=False).first).to_be_hidden()
    onward = phone.locator(".continue-narrow a").first
    expect(onward).to_be_visible()
    expect(onward).to_contain_text("Continue this thread (4 more replies)")
    # The deepest comment is 4 steps in, not 8: it keeps most of the screen.
    level4 = phone.locator(".comment-body", has_text=level.format(4)).first.bounding_box()
    assert level4["width"] >= 260, f"a fourth-level comment is {level4['width']} px wide at 360 px"
    laptop = site_page("member", viewport=VIEWPORTS["1280x800"])
    laptop.goto(f"/episodes/{site.world.episode_slug}")
    expect(laptop.get_by_text(level.format(8), exact=False).first).to_be_visible()
    expect(laptop.locator(".continue-narrow").first).to_be_hidden()


def test_a_link_to_a_deep_comment_still_shows_it_on_a_phone(site_page, site):
    phone = site_page("member", viewport=VIEWPORTS["360x740"])
    phone.goto(f"/episodes/{site.world.episode_slug}#c{site.world.deep_id}")
    expect(phone.locator(f"#c{site.world.deep_id} .comment-body")).to_be_visible()


def test_touch_screens_get_44_px_vote_and_collapse(site_page, site):
    page = site_page("member", viewport=VIEWPORTS["360x740"], has_touch=True, is_mobile=True)
    page.goto(f"/episodes/{site.world.episode_slug}")
    assert page.evaluate("matchMedia('(pointer: coarse)').matches")
    for selector in (".comment .vote", ".comment > details > summary", ".site-menu > summary"):
        box = page.locator(selector).first.bounding_box()
        assert box["height"] >= 44 and box["width"] >= 44, f"{selector}: {box['width']}x{box['height']}"


def test_touch_screens_get_a_44_px_moderator_menu(site_page, site):
    page = site_page("moderator", viewport=VIEWPORTS["360x740"], has_touch=True, is_mobile=True)
    page.goto(f"/episodes/{site.world.episode_slug}")
    box = page.locator(".mod-menu > summary").first.bounding_box()
    assert box["height"] >= 44, f".mod-menu > summary: {box['width']}x{box['height']}"


def test_math_in_a_sentence_stays_in_the_line_and_display_math_is_full_size(site_page, site):
    page = site_page("member", viewport=VIEWPORTS["1280x800"])
    page.goto(f"/episodes/{site.world.episode_slug}")
    first = page.locator(".comment-body p", has_text="Level 1:").first
    math = first.locator("math").first
    text_box, math_box = first.bounding_box(), math.bounding_box()
    assert math_box["y"] < text_box["y"] + text_box["height"]  # inside its paragraph, not a row below
    assert page.evaluate("(m) => getComputedStyle(m).display", math.element_handle()) != "block math"
    sizes = page.evaluate("""() => {
        const block = document.querySelector('.comment-body math[display=block]');
        const para = block.closest('.comment-body').querySelector('p');
        return {math: parseFloat(getComputedStyle(block).fontSize), text: parseFloat(getComputedStyle(para).fontSize)};
    }""")
    assert sizes["math"] > sizes["text"], sizes
