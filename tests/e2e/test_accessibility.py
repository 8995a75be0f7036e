"""Accessibility of every main page, with axe-core in a real browser.

Each page is checked logged out and logged in (a member; a moderator for the moderation
pages), in the light and the dark colour scheme: no axe violation of impact serious or
critical is allowed (moderate and minor ones are counted and reported). Every page also
has exactly one <h1>, one <main> landmark, a <nav>, and a visible keyboard focus.

At the end of the module one line sums the violations per impact; the full results are
written to tests/artifacts/axe/ (git-ignored)."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from playwright.sync_api import expect

from tests.e2e.scenario import (  # noqa: F401  (fixtures are used by name)
    ARTIFACTS, axe_script, describe_violations, measured_contrast_failures, run_axe, site, site_page,
)

PUBLIC = ("anonymous", "member")
# name -> (path, roles that view it); a path may use the world's names.
PAGES = {
    "home": ("/", PUBLIC),
    "episodes": ("/episodes/", PUBLIC),
    "episode": ("/episodes/{w.episode_slug}", (*PUBLIC, "moderator")),  # a moderator: the menu on each post
    "permalink": ("/posts/{w.permalink_id}", PUBLIC),
    "papers": ("/papers/", PUBLIC),
    "questions": ("/questions/", PUBLIC),
    "suggestions": ("/guests/suggestions", PUBLIC),
    "suggest": ("/guests/suggestions/new", ("member",)),
    "search": ("/search?q={w.search_query}", PUBLIC),
    "profile": ("/u/{w.member}", PUBLIC),
    "login": ("/auth/login", ("anonymous",)),
    "register": ("/auth/register", ("anonymous",)),
    "notifications": ("/notifications/", ("member",)),
    "emails": ("/settings/emails", ("member",)),
    "watching": ("/settings/watching", ("member",)),
    "moderation": ("/moderation/", ("moderator",)),
    "queue": ("/moderation/queue", ("moderator",)),
    "moderate": ("/moderation/posts/{w.permalink_id}?action=hide", ("moderator",)),
    "log": ("/moderation/log", ("anonymous", "moderator")),
}
CASES = [pytest.param(name, role, id=f"{name}-{role}") for name, (_, roles) in PAGES.items() for role in roles]
IMPACTS = ("critical", "serious", "moderate", "minor")
BLOCKING = {"critical", "serious"}

_tally: Counter = Counter()        # impact -> violations (rule x page)
_node_tally: Counter = Counter()   # impact -> failing elements
_pages_checked: list[str] = []


@pytest.fixture(scope="module", autouse=True)
def axe_summary(request):
    """One line at the end of the module: violations per impact over every page checked."""
    yield
    if not _pages_checked:
        return
    line = (f"axe summary: {len(_pages_checked)} page checks; violations by impact: "
            + ", ".join(f"{impact}={_tally[impact]}" for impact in IMPACTS)
            + "; failing elements: " + ", ".join(f"{impact}={_node_tally[impact]}" for impact in IMPACTS))
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / "axe-summary.txt").write_text(line + "\n")
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if reporter is not None and capture is not None:
        with capture.global_and_fixture_disabled():  # past pytest's output capture, onto the terminal
            reporter.write_line("")
            reporter.write_line(line)
    else:  # pragma: no cover
        print(line)


def page_path(name: str, site) -> str:
    return PAGES[name][0].format(w=site.world)


def open_page(site_page, site, name: str, role: str, **options):
    page = site_page(role, **options)
    response = page.goto(page_path(name, site))
    assert response is not None and response.status == 200, f"{name} as {role}: HTTP {response and response.status}"
    assert "/auth/login" not in page.url or name == "login", f"{name} as {role} was sent to the login page"
    return page


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize(("name", "role"), CASES)
def test_no_serious_axe_violations(site_page, site, axe_script, name, role, scheme):
    page = open_page(site_page, site, name, role, color_scheme=scheme)
    assert page.evaluate("() => matchMedia('(prefers-color-scheme: dark)').matches") == (scheme == "dark")
    results = run_axe(page, axe_script, {"resultTypes": ["violations", "incomplete"]})
    violations = results["violations"] + measured_contrast_failures(results)

    case = f"{name}-{role}-{scheme}"
    _pages_checked.append(case)
    counts = Counter()
    for v in violations:
        _tally[v["impact"]] += 1
        _node_tally[v["impact"]] += len(v["nodes"])
        counts[v["impact"]] += 1
    out = ARTIFACTS / "axe"
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{case}.json").write_text(json.dumps(violations, indent=1))
    print(f"axe {case}: " + ", ".join(f"{i}={counts[i]}" for i in IMPACTS))

    blocking = [v for v in violations if v["impact"] in BLOCKING]
    assert not blocking, (f"{page_path(name, site)} as {role} in {scheme} mode has serious/critical axe "
                          f"violations:\n{describe_violations(blocking)}")


STRUCTURE_CASES = [pytest.param(name, roles[0], id=f"{name}-{roles[0]}") for name, (_, roles) in PAGES.items()]


@pytest.mark.parametrize(("name", "role"), STRUCTURE_CASES)
def test_one_h1_landmarks_and_visible_focus(site_page, site, name, role):
    page = open_page(site_page, site, name, role)
    expect(page.locator("h1")).to_have_count(1)
    expect(page.locator("main, [role=main]")).to_have_count(1)
    assert page.locator("nav, [role=navigation]").count() >= 1, "no <nav> landmark"
    expect(page.locator("header nav")).to_have_count(1)

    # Keyboard: the first Tab lands on a link, and every one of the first stops shows a
    # focus ring that is on screen (the skip link slides in when focused).
    stops = []
    for _ in range(5):
        page.keyboard.press("Tab")
        stops.append(page.evaluate("""() => {
            const el = document.activeElement, cs = getComputedStyle(el), r = el.getBoundingClientRect();
            return {tag: el.tagName, text: (el.innerText || el.value || el.getAttribute('aria-label') || '').trim().slice(0, 40),
                    outline: cs.outlineStyle, outlineWidth: parseFloat(cs.outlineWidth) || 0,
                    boxShadow: cs.boxShadow, x: r.left, y: r.top, w: r.width, h: r.height,
                    vw: innerWidth, vh: innerHeight};
        }"""))
    first = stops[0]
    assert first["tag"] == "A", f"the first Tab stop is a {first['tag']}, not a link: {first}"
    assert first["text"] == "Skip to content", f"the first Tab stop is {first['text']!r}, not the skip link"
    for stop in stops:
        if stop["tag"] == "BODY":
            continue
        shows_ring = (stop["outline"] != "none" and stop["outlineWidth"] > 0) or stop["boxShadow"] not in ("", "none")
        assert shows_ring, f"no visible focus indicator on {stop['tag']} {stop['text']!r}: {stop}"
        on_screen = stop["x"] >= 0 and stop["y"] >= 0 and stop["x"] + stop["w"] <= stop["vw"] and stop["w"] > 0
        assert on_screen, f"focused {stop['tag']} {stop['text']!r} is off screen: {stop}"
