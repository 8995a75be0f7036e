"""Shared pieces of the page-wide browser checks (accessibility, responsive layout).

- `build_world(data)`: a small but complete community, so every main page shows its real
  furniture (threads with replies and math, paper entries with moments, open and answered
  questions, suggestions, flagged posts in the queue, moderation log rows, notifications).
  Everything is built through the services, as people would have built it.
- `site` / `site_page`: one live server holding that world per test module, with members'
  and moderators' cookies, for read-only page checks.
- `axe_script`, `run_axe`: axe-core from the axe-playwright-python package (a dev
  dependency), or from AXE_CORE_JS; the tests that need it skip without it.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import current_app
from sqlalchemy import select
from werkzeug.serving import make_server

from community.extensions import db
from community.models import FlagReason, Person, Role
from tests.conftest import make_test_app
from tests.e2e.conftest import log_in
from tests.factories import Factories

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


@dataclass
class World:
    episode_slug: str
    permalink_id: int       # a comment with a parent and a reply of its own
    member: str             # an ordinary member with notifications
    moderator: str
    search_query: str
    flagged_ids: list[int]
    deep_id: int = 0        # the eighth level of a thread of long math and code


def fresh():
    """Forget this thread's snapshot so reads see what the live server committed."""
    db.session.rollback()


def as_request(base_url: str = "http://127.0.0.1"):
    """Services that notify also email at commit time, and the email needs absolute URLs:
    outside a request (and without SERVER_NAME, as on the live server) those cannot be
    built, so service calls made by a test run inside a stand-in request context."""
    return current_app.test_request_context("/", base_url=base_url)


def build_world(data) -> World:
    with as_request():
        return _build_world(data)


def _build_world(data) -> World:
    from community.services import discussion, guests, moderation, papers, questions, watching

    episode = data.episode(
        7, "Kelvin Guu on retrieval-augmented models", guests=[("Kelvin Guu", "Google Research")],
        hosts=["Kanjun Qiu"], summary="How retrieval changes what a language model needs to memorise.",
        duration_seconds=3725,
        show_notes_html="<p>We talk about REALM, <a href=\"https://arxiv.org/abs/2002.08909\">retrieval</a> "
                        "pre-training and what a benchmark should measure.</p>",
    )
    quiet = data.episode(8, "Jacob Steinhardt on forecasting and robustness", guests=[("Jacob Steinhardt", "UC Berkeley")])

    ada = data.user("ada_l", display_name="Ada L.", affiliation="Example Lab")
    tom = data.user("tensor_tom")
    bea = data.user("bea")
    kelvin = data.user("kelvin", role=Role.guest)
    mod = data.user("mod_mia", role=Role.moderator)
    flaggers = [data.user(f"flagger{i}") for i in range(3)]
    person = db.session.scalar(select(Person).where(Person.name == "Kelvin Guu"))
    person.user_id = kelvin.id
    db.session.commit()

    # Discussion: a root, a reply, a reply to the reply; math and code in the bodies.
    root = discussion.create_post(tom, episode=episode, body=(
        "The retriever is trained with $\\nabla_\\theta \\log p(y \\mid x)$ through the top-$k$ documents.\n\n"
        "```python\nscores = q @ d.T\n```"))
    reply = discussion.create_post(ada, episode=episode, parent=root, body=(
        "Does the index get stale? Re-embedding every $10^3$ steps sounds expensive. See "
        "[the REALM paper](https://arxiv.org/abs/2002.08909) for how they refresh it."))
    discussion.create_post(bea, episode=episode, parent=reply, body="They re-index asynchronously, @ada_l.")
    sparse = discussion.create_post(bea, episode=episode, body="Sparse retrieval baselines deserve more credit.")
    # A thread eight levels deep whose bodies hold long math and code: nothing may push the
    # page sideways on a phone (the math and code scroll in their own boxes).
    long_sum = " + ".join(f"\\alpha_{{{i}}} x_{{{i}}}^{{2}}" for i in range(1, 31))
    deep = [tom, ada, bea]
    parent = None
    for level in range(8):
        parent = discussion.create_post(deep[level % 3], episode=episode, parent=parent, body=(
            f"Level {level + 1}: the objective $${long_sum}$$ and in a sentence ${long_sum}$ too.\n\n"
            f"$${long_sum}$$\n\n"
            "```python\nloss = " + " + ".join(f"weight_{i} * term_{i}" for i in range(25)) + "\n```\n\n"
            "Inline code runs long too: `" + "very_long_identifier_" * 8 + "`."))
    deep_id = parent.id
    db.session.flush()
    discussion.set_vote(ada, root, up=True)

    # Papers with moments, one cited on two episodes.
    realm = papers.submit(ada, episode, link="https://arxiv.org/abs/2002.08909", title="REALM: Retrieval-Augmented Language Model Pre-Training",
                  moment="12:34", note="Where the *asynchronous index refresh* comes from.")
    papers.submit(tom, episode, link="arXiv:2005.11401", title="Retrieval-Augmented Generation for Knowledge-Intensive NLP Tasks")

    # Questions: one open, one answered by the guest.
    questions.ask(ada, episode, "Would you still use a learned retriever if the corpus changed every day?")
    answered = questions.ask(tom, episode, "How large does the index have to be before retrieval beats a bigger model?")
    questions.answer(kelvin, answered, "Surprisingly small: a few million passages already helped at $10^8$ parameters.")

    # Guest suggestions.
    guests.suggest(tom, name="Percy Liang", affiliation="Stanford", links=["https://cs.stanford.edu/~pliang/"],
                   why="HELM, and how to evaluate foundation models honestly.", papers=["2211.09110"], disclosure="neither")
    guests.suggest(bea, name="Chelsea Finn", affiliation="Stanford", links=[],
                   why="Meta-learning to robot learning: **what transfers**?", papers=[], disclosure="worked")

    # The moderation queue: one post flagged once, one hidden by three flags.
    spam = discussion.create_post(bea, episode=episode, body="Cheap GPUs at example.com, best prices!!!")
    rude = discussion.create_post(tom, episode=episode, body="Only an idiot would use dense retrieval.")
    db.session.flush()
    moderation.flag(flaggers[0], spam, FlagReason.spam)
    for flagger, reason in zip(flaggers, (FlagReason.unkind, FlagReason.off_topic, FlagReason.unkind)):
        moderation.flag(flagger, rude, reason)
    db.session.commit()
    # One decision already in the public log.
    other = discussion.create_post(tom, episode=episode, body="Off-topic: who is watching the match tonight?")
    db.session.flush()
    moderation.act(mod, other, "hide", "Off-topic: not about the episode")
    db.session.commit()
    # What ada watches and muted (her /settings/watching), chosen last so no post notifies her.
    watching.set_state(ada, watching.WATCH, episode=quiet)
    watching.set_state(ada, watching.WATCH, paper=realm.post.paper)
    watching.set_state(ada, watching.MUTE, post=sparse)
    db.session.commit()

    return World(episode_slug=episode.slug, permalink_id=reply.id, member="ada_l", moderator="mod_mia",
                 search_query="retrieval", flagged_ids=[spam.id, rude.id], deep_id=deep_id)


# ------------------------------------------------------------------ a served copy of the world

@dataclass
class Site:
    app: object
    base_url: str
    world: World
    storage: dict  # role -> Playwright storage_state (cookies of a logged-in session)


@pytest.fixture(scope="module")
def site(browser, tmp_path_factory):
    """One live server with the world above for a whole module of read-only page checks;
    members and moderators log in once (the login rate limit is per IP) and every test's
    context reuses their cookies."""
    app = make_test_app("sqlite", tmp_path_factory.mktemp("site"), SERVER_NAME=None)
    with app.app_context():
        db.create_all()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base_url = f"http://127.0.0.1:{server.server_port}"
    try:
        with app.app_context():
            world = build_world(Factories())
        storage = {"anonymous": None}
        for role, username in (("member", world.member), ("moderator", world.moderator)):
            context = browser.new_context(base_url=base_url)
            try:
                log_in(context.new_page(), username)
                storage[role] = context.storage_state()
            finally:
                context.close()
        yield Site(app, base_url, world, storage)
    finally:
        server.shutdown()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.fixture
def site_page(browser, site):
    """site_page(role, **context_options) -> a page of the module's site, as that role."""
    contexts = []

    def make(role: str = "anonymous", **options):
        context = browser.new_context(base_url=site.base_url, storage_state=site.storage[role], **options)
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


# ------------------------------------------------------------------ axe-core

def axe_source() -> str | None:
    """axe-core as shipped by the axe-playwright-python package (a dev dependency); failing
    that, an axe.min.js named by AXE_CORE_JS (e.g. from `npm pack axe-core`)."""
    try:
        from importlib.resources import files

        return (files("axe_playwright_python") / "axe.min.js").read_text(encoding="utf-8")
    except (ModuleNotFoundError, FileNotFoundError):
        pass
    path = os.environ.get("AXE_CORE_JS")
    if path and Path(path).is_file():
        return Path(path).read_text(encoding="utf-8")
    return None


@pytest.fixture(scope="session")
def axe_script() -> str:
    source = axe_source()
    if source is None:
        pytest.skip("axe-core is not installed (pip install axe-playwright-python, or set AXE_CORE_JS)")
    return source


def run_axe(page, script: str, options: dict | None = None) -> dict:
    """Inject axe-core into the page (through the DevTools protocol, so the site's strict
    CSP does not get in the way) and return its results."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(script)
    return page.evaluate("options => axe.run(document, options)", options or {"resultTypes": ["violations"]})


def measured_contrast_failures(results: dict) -> list[dict]:
    """axe leaves colour contrast "incomplete" for very short text (a one-digit badge),
    although it has measured both colours: those measured below the required ratio are
    failures a reader sees all the same, so they are returned as violations too."""
    found = []
    for item in results.get("incomplete", []):
        if item["id"] != "color-contrast":
            continue
        nodes = []
        for node in item["nodes"]:
            data = next((check.get("data") for check in node.get("any", []) if isinstance(check.get("data"), dict)), None)
            if not data or data.get("messageKey") != "shortTextContent":
                continue
            if not (data.get("fgColor") and data.get("bgColor") and data.get("contrastRatio")):
                continue  # not measured (SVG text, say): nothing to judge
            expected = float(str(data.get("expectedContrastRatio", "4.5:1")).split(":")[0])
            if data["contrastRatio"] < expected:
                nodes.append({**node, "failureSummary": f"contrast {data['contrastRatio']}:1 ({data['fgColor']} on "
                              f"{data['bgColor']}, {data['fontSize']} {data['fontWeight']}), needs {expected}:1"})
        if nodes:
            found.append({**item, "id": "color-contrast", "impact": item.get("impact") or "serious",
                          "help": item["help"] + " (short text that axe measured but left as incomplete)",
                          "nodes": nodes})
    return found


def describe_violations(violations: list[dict], limit: int = 4) -> str:
    lines = []
    for v in violations:
        lines.append(f"  [{v['impact']}] {v['id']}: {v['help']} ({len(v['nodes'])} element(s)) {v['helpUrl']}")
        for node in v["nodes"][:limit]:
            summary = (node.get("failureSummary") or "").replace("\n", " ")
            lines.append(f"      {' '.join(map(str, node['target']))}: {node['html'][:160]}")
            if summary:
                lines.append(f"        {summary[:300]}")
    return "\n".join(lines)
