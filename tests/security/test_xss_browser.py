"""The XSS corpus in a real browser (chromium, JavaScript on).

Every payload of tests/security/data/xss-payloads.txt (400, payloadbox) and xss-markdown.txt
(88, written for this project) goes through every input that renders: comment body, paper
title and note, question body, suggestion name, affiliation and why, profile bio and
display name, and an episode's title and show notes imported from an RSS feed with the
CLI. Then every page that shows them is opened twice:

- with the CSP bypassed, every page: the sanitiser and the template escaping alone must hold;
- as a visitor gets it (CSP enforced), every batch episode page and one page of every other
  kind: nothing may execute, and the CSP must not even have to block anything (a CSP
  violation means markup that wanted to run got through).

On every page: no dialog (every payload calls alert when it runs), no console message, no
request to another origin, the CSP header present, and a DOM audit (no on* attribute, no
javascript:/data: URL, no script/iframe/object/embed/base, no form control, svg, img or
style inside user content) for what would only run on a click or a hover.

The corpus runs in SHARDS parts (every fourth payload), each on a site of its own.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
from sqlalchemy import select

from community.extensions import db
from community.models import Episode, Post
from community.services import DomainError, accounts, discussion, guests, papers, questions
from tests.factories import Factories

pytestmark = pytest.mark.e2e

DATA = Path(__file__).parent / "data"
PER_PAGE = 50      # payloads per episode page (comments, papers, questions, show notes)
PER_BIO = 10       # payloads per profile bio
# The corpus in this many parts, each on a site of its own: together one 2-minute test, so
# the test run's workers share it instead of one of them ending the run alone with it.
SHARDS = 4
PERMALINK_EVERY = {"comment": 10, "paper": 25, "question": 25, "suggestion": 25}
SEARCHES = ["alert", "alert&page=2", "alert&page=3", "svg", "onerror", "javascript", "script", "iframe", "math",
            "href", "onload", "alert&kind=paper", "alert&kind=suggestion"]
INPUTS = ["comment body", "paper title", "paper note", "question body", "suggestion name", "suggestion affiliation",
          "suggestion why", "profile bio", "profile display name", "episode show notes (feed)", "episode title (feed)"]


def load_payloads() -> list[str]:
    """Both corpora, one payload per line; in the Markdown cases a literal \\n is a newline."""
    plain = (DATA / "xss-payloads.txt").read_text("utf-8").split("\n")
    markdown = (DATA / "xss-markdown.txt").read_text("utf-8").split("\n")
    plain = [line.removesuffix("\r") for line in plain if line.strip()]
    markdown = [line.removesuffix("\r").replace("\\n", "\n") for line in markdown if line.strip()]
    return plain + markdown


PAYLOADS = load_payloads()

# Runs in every frame before the page's own scripts: records which element a dialog came
# from (for the report) and every CSP violation, then lets the dialog happen.
INIT_SCRIPT = """
(() => {
  const where = () => {
    const el = (window.event && window.event.target) || document.currentScript;
    try {
      const box = el && el.closest && el.closest("[id]");
      return box ? "#" + box.id : (el && el.nodeName) || "?";
    } catch (e) { return "?"; }
  };
  for (const name of ["alert", "confirm", "prompt", "print"]) {
    const original = window[name];
    if (typeof original !== "function") continue;
    window[name] = function (...args) {
      try { (window.top.__xss = window.top.__xss || []).push(name + "(" + String(args[0]).slice(0, 40) + ") at " + where()); } catch (e) {}
      return original.apply(this, args);
    };
  }
  document.addEventListener("securitypolicyviolation", (e) => {
    (window.__csp = window.__csp || []).push(e.violatedDirective + " blocked " + (e.blockedURI || "inline") +
      " at " + (e.sourceFile || "") + ":" + e.lineNumber + " " + (e.sample || ""));
  });
})();
"""

# What user content may never contain once rendered.
DOM_AUDIT = """
() => {
  const found = [];
  const origin = location.origin;
  const badScheme = /^(javascript|vbscript|data|livescript):/i;
  const urlAttrs = new Set(["href", "src", "action", "formaction", "xlink:href", "data", "poster", "background",
    "codebase", "dynsrc", "lowsrc", "ping", "cite", "longdesc", "usemap", "manifest", "icon", "srcset"]);
  const userContent = ".prose, .show-notes, .comment-body, .snippet, .paper-note, .question-body";
  const inContentOnly = new Set(["form", "input", "button", "textarea", "select", "svg", "img", "image", "style", "video",
    "audio", "source", "track", "picture", "link", "meta", "details", "dialog", "marquee", "isindex", "template", "noscript"]);
  const describe = (el) => {
    const box = el.closest("[id]");
    return el.localName + (box ? " in #" + box.id : "");
  };
  for (const el of document.querySelectorAll("*")) {
    const tag = el.localName;
    if (tag === "h2" && el.id === "notes-heading") continue;  // the page's own heading of the show notes
    for (const attr of el.attributes) {
      const name = attr.name.toLowerCase();
      const value = attr.value.replace(/[\\u0000-\\u0020\\u007f-\\u00a0\\u1680\\u180e\\u2000-\\u200f\\u2028\\u2029\\u205f\\u3000\\ufeff]/g, "");
      if (name.startsWith("on")) found.push(describe(el) + " has " + name + "=");
      else if (urlAttrs.has(name) && badScheme.test(value)) found.push(describe(el) + " has " + name + "=" + attr.value.slice(0, 50));
      else if (name === "srcdoc") found.push(describe(el) + " has srcdoc");
      // markup.py's own tabindex="0" on code blocks and wide formulas (keyboard scrolling), never the writer's
      else if (name === "tabindex" && attr.value === "0" && (tag === "pre" || tag === "math")) continue;
      else if (el.closest(userContent) && (name === "style" || name === "id" || name === "name" || name === "form"
               || name === "formaction" || name === "autofocus" || name === "contenteditable" || name === "tabindex"))
        found.push(describe(el) + " has " + name + " inside user content");
    }
    if (["iframe", "frame", "frameset", "object", "embed", "applet", "base", "portal", "fencedframe"].includes(tag))
      found.push(describe(el));
    // The episode page's JSON-LD is a data block (never executed): allowed in <head> only,
    // outside user content, when its text is JSON (so nothing closed it early).
    const dataBlock = tag === "script" && !el.src && el.type === "application/ld+json" && el.parentElement
      && el.parentElement.tagName === "HEAD" && (() => { try { JSON.parse(el.textContent); return true; } catch (e) { return false; } })();
    if (tag === "script" && !dataBlock && !(el.src && el.src.startsWith(origin + "/static/"))) found.push("script " + (el.src || "(inline)"));
    if (tag === "meta" && (el.getAttribute("http-equiv") || "").toLowerCase() === "refresh") found.push("meta refresh");
    if (inContentOnly.has(tag) && el.closest(userContent)) found.push(describe(el) + " inside user content");
  }
  return found;
}
"""


PAGE_REPORT = """
() => new Promise(resolve => requestAnimationFrame(() => setTimeout(() => resolve({
  xss: window.__xss || [], csp: window.__csp || [], audit: (""" + DOM_AUDIT.strip() + """)(),
}), 0)))
"""


def feed_xml(base_url: str, batches: list[list[str]], titles: list[str]) -> str:
    """An RSS feed: item k < len(batches) carries batch k in its show notes (one <p> per
    payload); every item's title is one payload. Audio stays on this origin."""
    items = []
    for i, title in enumerate(titles):
        notes = "".join(f"<p>{payload}</p>" for payload in batches[i]) if i < len(batches) else "<p>Plain notes.</p>"
        items.append(f"""
    <item>
      <title>{escape(title)}</title>
      <guid isPermaLink="false">xss-{i}</guid>
      <itunes:episode>{1000 + i}</itunes:episode>
      <pubDate>Mon, 01 Feb 2021 {i // 60 % 24:02d}:{i % 60:02d}:00 +0000</pubDate>
      <link>https://example.org/episodes/{i}?q=%22%3E%3Csvg%20onload=alert(1)%3E</link>
      <enclosure url="{base_url}/static/none-{i}.mp3" type="audio/mpeg" length="1"/>
      <description>{escape(notes)}</description>
    </item>""")
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd">
  <channel>
    <title>XSS cast</title>
    <link>https://example.org/</link>
    <description>Payloads in every field.</description>{"".join(items)}
  </channel>
</rss>
"""


class Ledger:
    """What was tried, what was stored, and what each page did."""

    def __init__(self):
        self.tried = {name: 0 for name in INPUTS}
        self.refused = {name: [] for name in INPUTS}
        self.post_payload: dict[int, tuple[str, int]] = {}  # post id -> (kind, payload index)
        self.findings: list[str] = []
        self.pages = 0
        self.pages_by_mode: dict[str, int] = {}
        self.executions = 0
        self.csp_violations = 0
        self.dom = 0
        self.offsite = 0
        self.console = 0

    def attempt(self, input_name: str, index: int, operation):
        self.tried[input_name] += 1
        try:
            return operation()
        except DomainError as error:
            db.session.rollback()
            self.refused[input_name].append((index, str(error)))
            return None


def seed(app, tmp_path, ledger: Ledger, shard: int) -> dict:
    """Push every payload of `shard` through every input; return the pages to open. A
    payload keeps its index in the corpus (the report names it)."""
    indices = list(range(shard, len(PAYLOADS), SHARDS))
    chosen = [PAYLOADS[i] for i in indices]
    n = len(chosen)
    batches = [chosen[i:i + PER_PAGE] for i in range(0, n, PER_PAGE)]

    # Episode titles and show notes: through the real importer command.
    feed = tmp_path / "xss-feed.xml"
    feed.write_text(feed_xml(app.base_url, batches, chosen), "utf-8")
    result = app.test_cli_runner().invoke(args=["import-feed", str(feed)])
    assert result.exit_code == 0, result.output
    assert f"created {n}," in result.output, result.output
    ledger.tried["episode title (feed)"] += n
    ledger.tried["episode show notes (feed)"] += n
    db.session.expire_all()
    episodes = {e.feed_guid: e for e in db.session.scalars(select(Episode))}
    pages = [episodes[f"xss-{k}"] for k in range(len(batches))]

    users = []
    for i, payload in enumerate(chosen):
        user = Factories().user(f"xss{i}")
        bio = "\n\n".join(chosen[i * PER_BIO:(i + 1) * PER_BIO]) if i * PER_BIO < n else ""
        ledger.attempt("profile display name", indices[i], lambda: accounts.update_profile(
            user, display_name=payload, affiliation="", bio=bio, links=[]))
        if bio:
            ledger.tried["profile bio"] += len(chosen[i * PER_BIO:(i + 1) * PER_BIO])
        users.append(user)
    db.session.commit()

    for i, payload in enumerate(chosen):
        author, episode, index = users[i], pages[i // PER_PAGE], indices[i]
        post = ledger.attempt("comment body", index, lambda: discussion.create_post(author, episode=episode, body=payload))
        if post is not None:
            ledger.post_payload[post.id] = ("comment", index)
        ledger.tried["paper note"] += 1
        submitted = ledger.attempt("paper title", index, lambda: papers.submit(
            author, episode, link=f"2101.{i + 1:05d}", title=payload, note=payload))
        if submitted is not None:
            ledger.post_payload[submitted.post.id] = ("paper", index)
        question = ledger.attempt("question body", index, lambda: questions.ask(author, episode, payload))
        if question is not None:
            ledger.post_payload[question.id] = ("question", index)
        ledger.tried["suggestion affiliation"] += 1
        ledger.tried["suggestion why"] += 1

        def suggest(name=payload):
            nomination = guests.suggest(author, name=name, affiliation=payload, links=[], why=payload, papers=[],
                                        disclosure="neither")
            if nomination.duplicate is not None:  # two payloads fold to the same name: keep both
                nomination = guests.suggest(author, name=f"{payload} #{i}", affiliation=payload, links=[], why=payload,
                                            papers=[], disclosure="neither")
            return nomination.post

        suggestion = ledger.attempt("suggestion name", index, suggest)
        if suggestion is not None:
            ledger.post_payload[suggestion.id] = ("suggestion", index)
        if i % 50 == 49:
            db.session.commit()
    db.session.commit()

    # The pages that show them.
    urls = ["/", "/episodes/"] + [f"/episodes/{e.slug}" for e in pages]
    for kind, listing in (("paper", "/papers/?page={}"), ("question", "/questions/?page={}"),
                          ("suggestion", "/guests/suggestions?page={}")):
        count = sum(1 for k, _ in ledger.post_payload.values() if k == kind)
        urls += [listing.format(p) for p in range(1, math.ceil(count / 30) + 1)]
    urls += [f"/u/xss{u}" for u in range(math.ceil(n / PER_BIO))]
    by_kind: dict[str, list[int]] = {}
    for post_id, (kind, _) in sorted(ledger.post_payload.items()):
        by_kind.setdefault(kind, []).append(post_id)
    for kind, ids in by_kind.items():
        urls += [f"/posts/{post_id}" for post_id in ids[::PERMALINK_EVERY[kind]]]
    paper_ids = [db.session.get(Post, pid).paper.canonical_id for pid in by_kind.get("paper", [])[::50]]
    urls += [f"/papers/{canonical}" for canonical in paper_ids]
    urls += [f"/search?q={q}" for q in SEARCHES]
    title_pages = [f"/episodes/{e.slug}" for guid, e in sorted(episodes.items()) if e not in pages]
    # As visitors get it (CSP on): every batch episode page, one page of every other kind and
    # one permalink of every kind of post. The bypassed sweep opens all of them.
    seen, enforced = set(), []
    first_posts = {f"/posts/{ids[0]}" for ids in by_kind.values()}
    for url in urls:
        parts = url.split("?")[0].strip("/").split("/")
        kind = (parts[0], len(parts))
        if parts[0] == "episodes" or url in first_posts or (kind not in seen and parts[0] != "posts"):
            enforced.append(url)
            seen.add(kind)
    return {"main": urls, "titles": title_pages, "enforced": enforced}


def sweep(page, live_app, urls: list[str], mode: str, ledger: Ledger) -> None:
    origin = live_app.base_url
    console, offsite = [], []
    page.on("console", lambda message: console.append(f"{message.type}: {message.text[:200]}"))
    page.on("request", lambda request: None if request.url.startswith((origin + "/", "data:", "about:", "blob:"))
            else offsite.append(request.url))
    for url in urls:
        dialogs_before = len(page.dialogs)
        console.clear()
        offsite.clear()
        response = page.goto(url, wait_until="load")
        # One frame and one task more (autofocus, animations and zero-delay timers run), then
        # everything the page has to tell, in one round trip.
        report = page.evaluate(PAGE_REPORT)
        ledger.pages += 1
        ledger.pages_by_mode[mode] = ledger.pages_by_mode.get(mode, 0) + 1
        where = f"[{mode}] {url}"
        if response is None or response.status != 200:
            ledger.findings.append(f"{where}: status {response.status if response else 'none'}")
            continue
        if "content-security-policy" not in response.headers:
            ledger.findings.append(f"{where}: no Content-Security-Policy header")
        if not page.url.startswith(origin + "/"):
            ledger.findings.append(f"{where}: navigated away to {page.url}")
            continue
        fired = page.dialogs[dialogs_before:]
        if fired:
            ledger.executions += len(fired)
            ledger.findings.append(f"{where}: {len(fired)} dialog(s) {fired[:3]} from {report['xss'][:3]} "
                                   f"({describe(report['xss'], ledger)})")
        if report["csp"]:
            ledger.csp_violations += len(report["csp"])
            ledger.findings.append(f"{where}: CSP had to block {len(report['csp'])}: {report['csp'][:3]}")
        if console:
            ledger.console += len(console)
            ledger.findings.append(f"{where}: console {console[:3]}")
        if offsite:
            ledger.offsite += len(offsite)
            ledger.findings.append(f"{where}: requests to other origins {offsite[:3]}")
        if report["audit"]:
            ledger.dom += len(report["audit"])
            ledger.findings.append(f"{where}: dangerous DOM {report['audit'][:5]}")


def describe(context: list[str], ledger: Ledger) -> str:
    """Turn '#c123' in a dialog's context into the payload it came from."""
    out = []
    for entry in context:
        _, _, anchor = entry.partition(" at #c")
        if anchor.isdigit() and int(anchor) in ledger.post_payload:
            kind, index = ledger.post_payload[int(anchor)]
            out.append(f"{kind} payload {index}: {PAYLOADS[index][:80]!r}")
    return "; ".join(out) or "source not attributed"


@pytest.mark.parametrize("shard", range(SHARDS))
def test_xss_corpus_executes_nowhere(live_app, data, new_page, tmp_path, request, shard):
    assert len(PAYLOADS) == 488, len(PAYLOADS)
    live_app.config["EPISODES_PER_PAGE"] = 1000  # every imported title on /episodes/
    live_app.config["SEND_FILE_MAX_AGE_DEFAULT"] = 3600  # CSS and JS once, not revalidated on each of ~1,000 loads
    ledger = Ledger()
    started = time.perf_counter()
    pages = seed(live_app, tmp_path, ledger, shard)
    seeded = time.perf_counter()

    enforced = new_page(js=True)
    enforced.add_init_script(INIT_SCRIPT)
    sweep(enforced, live_app, pages["enforced"], "CSP enforced", ledger)
    bypassed = new_page(js=True, bypass_csp=True)
    bypassed.add_init_script(INIT_SCRIPT)
    sweep(bypassed, live_app, pages["main"] + pages["titles"], "CSP bypassed", ledger)

    refused = sum(len(v) for v in ledger.refused.values())
    tried = sum(ledger.tried.values())
    tried_here = len(range(shard, len(PAYLOADS), SHARDS))
    summary = (f"XSS, part {shard + 1} of {SHARDS}: {tried_here} of {len(PAYLOADS)} payloads x {len(INPUTS)} inputs tried ({tried} submissions, {refused} refused "
               f"by validation), {ledger.pages} page loads "
               f"({', '.join(f'{n} {mode}' for mode, n in ledger.pages_by_mode.items())}), {ledger.executions} executed, "
               f"{ledger.csp_violations} blocked by CSP, {ledger.dom} dangerous DOM nodes, "
               f"{ledger.offsite} off-site requests, {ledger.console} console messages "
               f"[seed {seeded - started:.0f} s, browse {time.perf_counter() - seeded:.0f} s]")
    print(summary)
    reporter = request.config.pluginmanager.getplugin("terminalreporter")
    if reporter is not None:
        reporter.ensure_newline()
        reporter.write_line(summary)
    for name, refusals in ledger.refused.items():
        if refusals:
            print(f"  refused by {name}: {len(refusals)} e.g. {refusals[:2]}")
    assert all(count == tried_here for count in ledger.tried.values()), ledger.tried
    assert ledger.executions == 0 and not ledger.findings, summary + "\n" + "\n".join(ledger.findings[:60])


def test_the_harness_sees_an_execution_when_there_is_one(live_app, data, new_page):
    """Control: markup written to the database around the sanitiser is caught by every
    detector above (dialog, CSP violation, DOM audit, off-site request)."""
    episode = data.episode(1, "Control episode")
    episode.show_notes_html = ('<img src="http://127.0.0.2:9/pixel.png" onerror="alert(1)">'
                               '<a href="javascript:alert(2)">x</a>')
    db.session.commit()
    url = f"/episodes/{episode.slug}"
    ledger = Ledger()
    enforced = new_page(js=True)
    enforced.add_init_script(INIT_SCRIPT)
    sweep(enforced, live_app, [url], "CSP enforced", ledger)
    assert ledger.executions == 0 and ledger.csp_violations >= 1 and ledger.dom >= 2, ledger.findings
    bypassed = new_page(js=True, bypass_csp=True)
    bypassed.add_init_script(INIT_SCRIPT)
    sweep(bypassed, live_app, [url], "CSP bypassed", ledger)
    assert ledger.executions == 1 and ledger.offsite >= 1, ledger.findings


def test_csp_is_sent_and_blocks_inline_script(live_app, new_page):
    """The backstop: the header is on every kind of answer, and chromium enforces it."""
    page = new_page(js=True)
    for path in ("/", "/episodes/", "/no/such/page", "/auth/login"):
        response = page.goto(path)
        csp = response.headers.get("content-security-policy", "")
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp, (path, csp)
    # Injected inline script in a page of this origin does not run under that CSP.
    page.goto("/")
    ran = page.evaluate("""() => new Promise(resolve => {
        window.__ran = false;
        document.addEventListener("securitypolicyviolation", () => resolve("blocked"), {once: true});
        const s = document.createElement("script");
        s.textContent = "window.__ran = true";
        document.body.append(s);
        setTimeout(() => resolve(window.__ran ? "ran" : "blocked"), 500);
    })""")
    assert ran == "blocked"
