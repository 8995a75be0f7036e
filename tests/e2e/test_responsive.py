"""Layout from a 360 px phone to a 1280 px laptop, and the weight of the static assets.

For the main pages, at 360x740 and 1280x800: a full-page screenshot is saved under
tests/artifacts/screenshots/ (git-ignored) for a person to look at; nothing may scroll
sideways; and every visible control is big enough to hit (WCAG 2.2 "target size",
24x24 CSS px), with axe's target-size semantics:

- buttons, form fields and <summary> toggles: strictly 24x24 (a checkbox or radio counts
  together with its <label>, which toggles it too);
- links in navigation and toolbars (nav, header, .toolbar, .comment-actions, .pagination,
  .sort, .filters, .episode-sections): strictly 24x24;
- any other link: axe's own target-size rule (24x24, or enough space around it), which
  exempts links inline within a sentence of text.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.scenario import ARTIFACTS, axe_source, describe_violations, run_axe, site, site_page  # noqa: F401

SCREENSHOTS = ARTIFACTS / "screenshots"
STATIC = Path(__file__).resolve().parents[2] / "static"
VIEWPORTS = {"phone": {"width": 360, "height": 740}, "laptop": {"width": 1280, "height": 800}}
PAGES = {  # name -> (path, who looks at it)
    "home": ("/", "member"),
    "episode": ("/episodes/{w.episode_slug}", "member"),
    "papers": ("/papers/", "member"),
    "questions": ("/questions/", "member"),
    "suggestions": ("/guests/suggestions", "member"),
    "queue": ("/moderation/queue", "moderator"),
}
MIN_TARGET = 24
STRICT_LINK_CONTAINERS = "nav, header, .toolbar, .comment-actions, .pagination, .sort, .filters, .episode-sections"

# Visible controls that fail the strict part of the rule, as [{kind, name, selector, w, h}].
MEASURE_TARGETS = """({minSize, strictLinks}) => {
  const describe = (el) => {
    let path = [], node = el;
    while (node && node.nodeType === 1 && path.length < 4) {
      let part = node.tagName.toLowerCase();
      if (node.id) { path.unshift(part + '#' + node.id); break; }
      if (node.classList.length) part += '.' + Array.from(node.classList).join('.');
      path.unshift(part);
      node = node.parentElement;
    }
    return path.join(' > ');
  };
  const visible = (el) => {
    const r = el.getBoundingClientRect(), cs = getComputedStyle(el);
    if (r.width === 0 || r.height === 0 || cs.visibility === 'hidden' || cs.display === 'none') return false;
    if (el.closest('details:not([open])') && !el.matches('summary') ) {
      const summary = el.closest('details:not([open])').querySelector(':scope > summary');
      if (!summary || !summary.contains(el)) return false;
    }
    return r.right > 0 && r.bottom > 0 && r.left < document.documentElement.scrollWidth;  // not parked off screen
  };
  const union = (a, b) => {
    const left = Math.min(a.left, b.left), top = Math.min(a.top, b.top);
    return {width: Math.max(a.right, b.right) - left, height: Math.max(a.bottom, b.bottom) - top};
  };
  const failures = [];
  const controls = 'button, input:not([type=hidden]), select, textarea, summary, a[href]';
  for (const el of document.querySelectorAll(controls)) {
    if (!visible(el)) continue;
    const isLink = el.matches('a[href]');
    if (isLink && !el.closest(strictLinks)) continue;  // left to axe's target-size rule
    let box = el.getBoundingClientRect();
    if (el.matches('input[type=checkbox], input[type=radio]')) {
      const label = el.closest('label') || (el.id && document.querySelector(`label[for="${el.id}"]`));
      if (label && visible(label)) box = union(box, label.getBoundingClientRect());
    }
    if (box.width + 0.5 < minSize || box.height + 0.5 < minSize) {
      failures.push({kind: isLink ? 'link in navigation/toolbar' : el.tagName.toLowerCase() + (el.type ? `[type=${el.type}]` : ''),
                     name: (el.innerText || el.value || el.getAttribute('aria-label') || el.name || '').trim().slice(0, 40),
                     selector: describe(el), w: Math.round(box.width * 10) / 10, h: Math.round(box.height * 10) / 10});
    }
  }
  return failures;
}"""


CASES = [pytest.param(name, viewport, id=f"{name}-{viewport}") for name in PAGES for viewport in VIEWPORTS]


@pytest.mark.parametrize(("name", "viewport"), CASES)
def test_layout_fits_and_targets_are_big_enough(site_page, site, name, viewport):
    path, role = PAGES[name]
    size = VIEWPORTS[viewport]
    page = site_page(role, viewport=size)
    response = page.goto(path.format(w=site.world))
    assert response is not None and response.status == 200
    expect(page.locator("h1")).to_have_count(1)
    if name == "episode":  # show the paper form too: it is part of the page people use
        page.locator("details.add-paper > summary").click()
        expect(page.get_by_label("Link or identifier")).to_be_visible()

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"{name}-{size['width']}x{size['height']}.png", full_page=True)

    problems = []
    widths = page.evaluate("() => ({scroll: document.documentElement.scrollWidth, inner: window.innerWidth})")
    if widths["scroll"] > widths["inner"]:
        wide = page.evaluate("""() => Array.from(document.querySelectorAll('body *'))
            .filter(el => el.getBoundingClientRect().right > window.innerWidth + 0.5)
            .filter(el => !el.parentElement || el.parentElement.getBoundingClientRect().right <= window.innerWidth + 0.5)
            .slice(0, 8).map(el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '')
                + Array.from(el.classList).map(c => '.' + c).join('') + (el.name ? `[name=${el.name}]` : '')
                + ` in ${el.parentElement.tagName.toLowerCase()}${el.parentElement.id ? '#' + el.parentElement.id : ''}`
                + `${Array.from(el.parentElement.classList).map(c => '.' + c).join('')}`
                + ` (right edge ${Math.round(el.getBoundingClientRect().right)} px)`)""")
        problems.append(f"horizontal overflow: scrollWidth {widths['scroll']} > innerWidth {widths['inner']}; "
                        f"widest offenders: {', '.join(wide)}")

    small = page.evaluate(MEASURE_TARGETS, {"minSize": MIN_TARGET, "strictLinks": STRICT_LINK_CONTAINERS})
    if small:
        problems.append("controls smaller than 24x24 px:\n" + "\n".join(
            f"    {s['kind']} {s['name']!r} at {s['selector']}: {s['w']}x{s['h']}" for s in small))

    script = axe_source()
    if script is None:  # the other checks still count; only the links' rule needs axe
        print("axe-core is not installed: links checked for size in navigation only")
    else:
        axe = run_axe(page, script, {"runOnly": {"type": "rule", "values": ["target-size"]},
                                     "rules": {"target-size": {"enabled": True}}, "resultTypes": ["violations"]})
        if axe["violations"]:
            problems.append("axe target-size:\n" + describe_violations(axe["violations"], limit=8))

    assert not problems, f"{path.format(w=site.world)} at {size['width']}x{size['height']} ({role}):\n" + "\n".join(problems)


def total_size(pattern: str) -> int:
    return sum(f.stat().st_size for f in STATIC.glob(pattern))


@pytest.mark.parametrize("pattern", ["js/*.js", "css/*.css"])
def test_static_assets_stay_small(pattern):
    files = sorted(STATIC.glob(pattern))
    assert files, f"no static/{pattern} found"
    total = total_size(pattern)
    assert total < 30_000, f"static/{pattern} weighs {total:,} bytes (limit 30 KB): " + \
        ", ".join(f"{f.name} {f.stat().st_size:,}" for f in files)
