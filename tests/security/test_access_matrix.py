"""Access matrix: role x route, built from app.url_map, against ONE table of expectations.

Every GET rule must be classified in ROUTE_FAMILY (a new route that is not fails the
guard test, by name); FAMILIES says what each role gets from each family. Key POST
routes are in the same table, and a refused POST must leave every table untouched.
Then the IDOR checks: other people's posts, notifications, settings, questions and
suggestions.
"""

from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from community.extensions import db
from community.models import ModerationAction, Notification, Post, PostStatus, User
from tests.factories import Factories
from tests.oidc_provider import oidc_app_config, oidc_provider  # noqa: F401 (a fixture)
from tests.security.world import (
    ROLES, Unbuildable, build_url, build_world, diff, rules_with, send, snapshot, written,
)

LOGIN = "login"  # a 302 to /auth/login
OK_WRITE = 302  # a form that worked redirects (post/redirect/get)


def _family(anonymous, suspended, moderator, others, **special) -> dict:
    """A host is one of the `others` everywhere but on the show's own pages (special=)."""
    table = {"anonymous": anonymous, "suspended": suspended, "moderator": moderator, "admin": moderator,
             "member": others, "researcher": others, "guest": others, "host": others}
    table.update(special)
    return table


# THE table: what each role gets from each family of routes.
FAMILIES = {
    # GET
    "public":              _family(anonymous=200, suspended=200, moderator=200, others=200),
    "login required":      _family(anonymous=LOGIN, suspended=200, moderator=200, others=200),
    # Asked by site.js in the background (drafts): logged out, a 401 and no login page (views/drafts.py).
    "login required (script)": _family(anonymous=401, suspended=200, moderator=200, others=200),
    "moderators only":     _family(anonymous=LOGIN, suspended=403, moderator=200, others=403),
    "admins only":         _family(anonymous=LOGIN, suspended=403, moderator=403, others=403, admin=200),
    "logged-out only":     _family(anonymous=200, suspended=302, moderator=302, others=302),  # login/register forms
    "own notification":    _family(anonymous=LOGIN, suspended=302, moderator=302, others=302),  # marks read, redirects
    "author or moderator": _family(anonymous=LOGIN, suspended=403, moderator=200, others=403),  # someone else's post
    "permanent redirect":  _family(anonymous=301, suspended=301, moderator=301, others=301),
    # Only for METRICS_ALLOW networks or METRICS_TOKEN (none here): no account opens it.
    "operators' network":  _family(anonymous=404, suspended=404, moderator=404, others=404),
    # POST (key routes); a suspended user reads but does not write
    "write":               _family(anonymous=LOGIN, suspended=403, moderator=OK_WRITE, others=OK_WRITE),
    "write (JSON)":        _family(anonymous=LOGIN, suspended=403, moderator=200, others=200),
    "moderator write":     _family(anonymous=LOGIN, suspended=403, moderator=OK_WRITE, others=403),
    "admin write":         _family(anonymous=LOGIN, suspended=403, moderator=403, others=403, admin=OK_WRITE),
    "guest of the episode write": _family(anonymous=LOGIN, suspended=403, moderator=403, others=403, guest=OK_WRITE),
    "account upkeep":      _family(anonymous=LOGIN, suspended=OK_WRITE, moderator=OK_WRITE, others=OK_WRITE),
    # One's own data, downloaded (200, a ZIP): a suspended user may take it away too.
    "own download":        _family(anonymous=LOGIN, suspended=200, moderator=200, others=200),
    # The show's team (hosts) and admins: the console's episodes, people, feeds and invitations;
    # moderators are not the show. The console's users, settings and log are "admins only".
    "show team":           _family(anonymous=LOGIN, suspended=403, moderator=403, others=403, admin=200, host=200),
    "show team write":     _family(anonymous=LOGIN, suspended=403, moderator=403, others=403, admin=OK_WRITE,
                                   host=OK_WRITE),
    # Where the OpenID provider sends the browser back: refused (400) unless this browser
    # started that very flow (its state); nobody gets in by opening it.
    "ORCID callback":      _family(anonymous=400, suspended=400, moderator=400, others=400),
    # The account step after an ORCID sign-in: nothing pending sends to the login page;
    # a logged-in account goes to its ORCID settings.
    "ORCID sign-up step":  _family(anonymous=LOGIN, suspended=302, moderator=302, others=302),
}

# Every GET endpoint of url_map, classified.
ROUTE_FAMILY = {
    "main.home": "public", "main.healthz": "public", "prometheus_metrics": "operators' network",
    "crawlers.robots": "public", "crawlers.sitemap_index": "public", "crawlers.sitemap_page": "public",
    "api.openapi": "public",
    "transcripts.show": "public", "transcripts.webvtt": "public", "transcripts.podcast_json": "public",
    "transcripts.chapters": "public", "transcripts.annotations": "public", "main.favicon": "permanent redirect", "static": "public",
    "accounts.login": "logged-out only", "accounts.register": "logged-out only",
    "accounts.reset_request": "public", "accounts.reset": "public", "accounts.profile": "public",
    "accounts.edit_profile": "login required", "accounts.change_password": "login required",
    "accounts.list_sessions": "login required",
    "accounts.export_data": "login required", "accounts.delete_account": "login required",
    "episodes.index": "public", "episodes.show": "public", "episodes.person": "public",
    "feeds.episodes_feed": "public", "feeds.discussion_feed": "public", "feeds.user_feed": "public",
    "feeds.answered_feed": "public",
    "papers.index": "public", "papers.show": "public", "papers.bibtex": "public", "papers.markdown": "public",
    "questions.index": "public", "search.search": "public",
    "guests.suggestions": "public", "guests.suggest": "login required",
    "discussion.permalink": "public", "discussion.history": "public", "discussion.edit": "author or moderator",
    "moderation.log": "public", "moderation.dashboard": "moderators only", "moderation.queue": "moderators only",
    "moderation.moderate": "moderators only",
    "moderation.flag": "login required", "drafts.mine": "login required (script)",
    "notifications.index": "login required", "notifications.settings": "login required",
    "watching.index": "login required",
    "notifications.open_one": "own notification", "notifications.unsubscribe": "public",
    "api.list_episodes": "public", "api.get_episode": "public", "api.episode_thread": "public",
    "api.episode_papers": "public", "api.episode_questions": "public", "api.all_papers": "public",
    "api.all_questions": "public", "api.suggestions": "public", "api.search": "public",
    "admin.dashboard": "show team", "admin.episodes": "show team", "admin.new_episode": "show team",
    "admin.edit_episode": "show team", "admin.people": "show team", "admin.new_person": "show team",
    "admin.edit_person": "show team", "admin.users": "admins only", "admin.user": "admins only",
    "admin.settings": "admins only", "admin.log": "admins only",
    "verification.settings": "login required", "verification.confirm": "public", "verification.domains": "admins only",
    "admin_feeds.index": "show team", "admin_transcripts.index": "show team",
    "orcid.callback": "ORCID callback", "orcid.new_account": "ORCID sign-up step", "orcid.settings": "login required",
    "invitations.index": "show team", "invitations.new": "show team", "invitations.show": "show team",
    "invitations.invitation": "public",
    "admin_jobs.index": "admins only",
}

# Key POST routes: (endpoint, family, form, extra request options). The target of a write is
# someone else's comment (vote, flag, reply) or the role's own post (edit).
POST_ROUTES = [
    ("discussion.comment", "write", lambda w: {"body": "A new comment."}, {}),
    ("discussion.reply", "write", lambda w: {"body": "A reply."}, {}),
    ("discussion.edit", "write", lambda w: {"body": "My comment, edited."}, {}),
    ("discussion.vote", "write (JSON)", lambda w: {"up": "1"}, {"headers": {"Accept": "application/json"}}),
    ("papers.submit", "write", lambda w: {"link": "1706.03762", "title": "Attention Is All You Need"}, {}),
    ("questions.ask", "write", lambda w: {"body": "What would you do differently now?"}, {}),
    ("guests.suggest", "write", lambda w: {"name": "Yann LeCun", "affiliation": "NYU", "why": "World models.",
                                           "disclosure": "neither"}, {}),
    ("moderation.flag", "write", lambda w: {"reason": "spam"}, {}),
    # The bio and display name are published on every post of the account: writing them is posting.
    ("accounts.edit_profile", "write", lambda w: {"display_name": "Buy cheap pills", "bio": "[spam](https://spam.example)"}, {}),
    ("questions.answer", "guest of the episode write", lambda w: {"body": "End to end."}, {}),
    ("guests.set_status", "moderator write", lambda w: {"stage": "contacted", "note": "", "episode": "0"}, {}),
    ("moderation.act", "moderator write", lambda w: {"action": "dismiss", "reason": "Looks fine"}, {}),
    # The menu on a post (after the flag and the dismissal above, the post is public again).
    ("moderation.moderate", "moderator write", lambda w: {"action": "hide", "reason": "Off-topic"}, {}),
    ("questions.decline", "moderator write", lambda w: {"reason": "Out of scope"}, {}),
    ("admin_feeds.add", "show team write", lambda w: {"url": "http://127.0.0.1:9/another-feed.rss"}, {}),
    ("admin_feeds.refresh", "show team write", lambda w: {}, {}),
    ("admin_feeds.deactivate", "show team write", lambda w: {}, {}),
    ("admin_transcripts.upload", "show team write",
     lambda w: {"file": (io.BytesIO(b"WEBVTT\n\n00:00:00.000 --> 00:00:02.000\n<v Test Speaker>Sample.\n"), "t.vtt")},
     {}),
    ("admin_transcripts.speakers", "show team write",
     lambda w: {"revision": "1", "label-0": "Test Speaker", "speaker-0": str(w.person.id)}, {}),
    ("admin_jobs.retry", "admin write", lambda w: {}, {}),
    ("episodes.follow", "account upkeep", lambda w: {"on": "1"}, {}),
    # Choosing what notifies you: upkeep of one's own account, like following a guest.
    ("watching.episode", "account upkeep", lambda w: {"state": "watch"}, {}),
    ("watching.thread", "account upkeep", lambda w: {"state": "mute"}, {}),
    ("watching.paper", "account upkeep", lambda w: {"state": "watch"}, {}),
    ("notifications.settings", "account upkeep", lambda w: {"reply": "none"}, {}),
    ("orcid.link", "account upkeep", lambda w: {}, {}),  # off to the provider
    ("orcid.unlink", "account upkeep", lambda w: {}, {}),
    ("accounts.export_data", "own download", lambda w: {}, {}),
    # Last: it ends the session (and the account) of the role's user.
    ("accounts.delete_account", "account upkeep", lambda w: {"password": Factories.PASSWORD, "posts": "keep"}, {}),
]
POST_OVERRIDES = {  # which post a POST route acts on, when not the world's default for it
    "discussion.vote": lambda w, role: {"post_id": w.comment.id},
    "moderation.flag": lambda w, role: {"post_id": w.comment.id},
    "discussion.reply": lambda w, role: {"post_id": w.comment.id},
    "discussion.edit": lambda w, role: {"post_id": w.own_posts[role].id} if role in w.own_posts else {},
}


@pytest.fixture
def app_config(oidc_provider):
    # ORCID sign-in set up against a real local provider, so its routes answer as deployed.
    return {"PROPAGATE_EXCEPTIONS": False, **oidc_app_config(oidc_provider)}


@pytest.fixture
def world(factories):
    return build_world(factories)


def as_role(app, world, login, role: str):
    client = app.test_client()
    return client if role == "anonymous" else login(world.users[role], the_client=client)


def outcome(status: int, response) -> object:
    if status == 302 and response is not None and "/auth/login" in response.headers.get("Location", ""):
        return LOGIN
    return status


def get_rules(app):
    return [r for r in rules_with(app, {"GET"})]


def test_every_get_route_is_classified(app):
    """A route added to url_map without a line in ROUTE_FAMILY fails here, by name."""
    missing = sorted(f"{r.rule} ({r.endpoint})" for r in get_rules(app) if r.endpoint not in ROUTE_FAMILY)
    stale = sorted(set(ROUTE_FAMILY) - {r.endpoint for r in get_rules(app)})
    assert not missing, "GET routes missing from ROUTE_FAMILY (classify them):\n" + "\n".join(missing)
    assert not stale, f"ROUTE_FAMILY names endpoints that no longer exist: {stale}"
    assert set(ROUTE_FAMILY.values()) <= set(FAMILIES)
    for family, table in FAMILIES.items():
        assert set(table) == set(ROLES), family


@pytest.mark.parametrize("role", ROLES)
def test_get_matrix(app, world, login, role, record_property):
    browser = as_role(app, world, login, role)
    problems, covered = [], 0
    for rule in get_rules(app):
        family = ROUTE_FAMILY.get(rule.endpoint)
        if family is None:
            problems.append(f"unclassified: {rule.rule} ({rule.endpoint})")
            continue
        overrides = {"post_id": world.comment.id} if rule.endpoint == "discussion.edit" else {}
        try:
            url = build_url(app, world, rule, role, **overrides)
        except Unbuildable as error:
            problems.append(f"unbuildable: {error}")
            continue
        status, response, error = send(browser, "GET", url)
        expected = FAMILIES[family][role]
        got = outcome(status, response)
        covered += 1
        if got != expected:
            problems.append(f"GET {url} [{rule.endpoint}, {family}] as {role}: got {got}, expected {expected} {error}".rstrip())
    print(f"access matrix GET as {role}: {covered} routes checked")
    record_property("get_routes_checked", covered)
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("role", ROLES)
def test_post_matrix(app, world, login, role):
    browser = as_role(app, world, login, role)
    problems = []
    rules = {r.endpoint: r for r in rules_with(app, {"POST"})}
    for endpoint, family, form, options in POST_ROUTES:
        rule = rules[endpoint]
        overrides = POST_OVERRIDES.get(endpoint, lambda w, r: {})(world, role)
        url = build_url(app, world, rule, role, **overrides)
        before = snapshot()
        status, response, error = send(browser, "POST", url, data=form(world), **options)
        after = snapshot()
        expected = FAMILIES[family][role]
        got = outcome(status, response)
        if got != expected:
            problems.append(f"POST {url} [{endpoint}, {family}] as {role}: got {got}, expected {expected} {error}".rstrip())
        changes = written(before, after)
        if expected in (LOGIN, 403) and changes:
            problems.append(f"POST {url} [{endpoint}] as {role} must be refused, but it wrote: {changes}")
    assert not problems, "\n".join(problems)


# --------------------------------------------------------------------------- IDOR


@pytest.mark.parametrize("role", ["member", "researcher", "guest", "suspended"])
def test_cannot_edit_or_delete_another_users_post(app, world, login, role):
    browser = as_role(app, world, login, role)
    target = world.comment  # by author_user
    before = snapshot()
    assert browser.get(f"/posts/{target.id}/edit").status_code == 403
    assert browser.post(f"/posts/{target.id}/edit", data={"body": "Hijacked."}).status_code == 403
    assert browser.post(f"/posts/{target.id}/delete").status_code == 403
    assert not diff(before, snapshot())
    db.session.expire_all()
    post = db.session.get(Post, target.id)
    assert post.body_source == "A spicy take about retrieval benchmarks." and post.status == PostStatus.visible


def test_cannot_open_another_users_notification(app, world, login):
    theirs = world.notifications["member"]
    for role in ("researcher", "guest", "moderator", "admin"):
        browser = as_role(app, world, login, role)
        assert browser.get(f"/notifications/{theirs.id}").status_code == 404, role
        # By its link: reply messages are not quoted on the page (notifications/_message.html).
        assert f'href="/notifications/{theirs.id}"' not in browser.get("/notifications/").get_data(as_text=True), role
    db.session.expire_all()
    assert db.session.get(Notification, theirs.id).read_at is None  # not even marked read
    # The owner can (control).
    owner = as_role(app, world, login, "member")
    assert f'href="/notifications/{theirs.id}"' in owner.get("/notifications/").get_data(as_text=True)
    assert owner.get(f"/notifications/{theirs.id}").status_code == 302


def test_settings_pages_show_only_your_own_data(app, world, login):
    alice, bob = world.users["member"], world.users["researcher"]
    for user, name in ((alice, "Alice Secretname"), (bob, "Bob Othername")):
        user.display_name, user.affiliation, user.bio_source = name, f"{name} Lab", f"Bio of {name}"
        user.email_prefs = {"reply": "none" if user is alice else "daily"}
    db.session.commit()
    browser = as_role(app, world, login, "researcher")
    profile = browser.get("/settings/profile").get_data(as_text=True)
    assert "Bob Othername" in profile and "Alice Secretname" not in profile and alice.email not in profile
    for path in ("/settings/password", "/notifications/", "/notifications/settings"):
        page = browser.get(path).get_data(as_text=True)
        assert "Alice Secretname" not in page and alice.email not in page and alice.username not in page, path
    assert f'href="/notifications/{world.notifications["member"].id}"' not in browser.get("/notifications/").get_data(as_text=True)
    settings = browser.get("/notifications/settings").get_data(as_text=True)
    # Bob's own choice ("daily" for replies) is what the page shows selected, not Alice's "none".
    assert 'name="reply" value="daily" checked' in settings
    assert 'name="reply" value="none" checked' not in settings


def test_profile_form_ignores_fields_it_does_not_have(app, world, login):
    """Mass assignment: extra fields naming another user, a role or an email change nothing."""
    bob, alice = world.users["member"], world.users["researcher"]
    browser = as_role(app, world, login, "member")
    response = browser.post("/settings/profile", data={
        "display_name": "Bob", "bio": "", "links": "", "affiliation": "",
        "username": alice.username, "role": "admin", "email": "bob-new@example.org", "id": str(alice.id),
        "user_id": str(alice.id), "suspended_until": "", "password_hash": "x",
    })
    assert response.status_code == 302
    db.session.expire_all()
    bob_now, alice_now = db.session.get(User, bob.id), db.session.get(User, alice.id)
    assert (bob_now.username, bob_now.role.value, bob_now.email) == (bob.username, "member", bob.email)
    assert bob_now.password_hash == bob.password_hash
    assert (alice_now.display_name, alice_now.role.value) == (alice.display_name, "researcher")


def test_guest_cannot_answer_another_episodes_question(app, world, login):
    sarah = login(world.users["other_guest"], the_client=app.test_client())  # guest of episode 2 only
    before = snapshot()
    response = sarah.post(f"/questions/{world.question.id}/answer", data={"body": "Not my episode, but..."})
    assert response.status_code == 403
    assert not diff(before, snapshot())
    # Control: the guest of episode 1 may.
    kelvin = as_role(app, world, login, "guest")
    assert kelvin.post(f"/questions/{world.question.id}/answer", data={"body": "End to end."}).status_code == 302


@pytest.mark.parametrize("role", ["member", "researcher", "guest", "suspended"])
def test_non_moderators_cannot_change_a_suggestions_status(app, world, login, role):
    browser = as_role(app, world, login, role)
    before = snapshot()
    for stage in ("contacted", "scheduled", "declined", "recorded"):
        response = browser.post(f"/guests/suggestions/{world.suggestion.id}/status",
                                data={"stage": stage, "note": "because", "episode": str(world.episode.id)})
        assert response.status_code == 403, stage
    assert not diff(before, snapshot())
    db.session.expire_all()
    assert db.session.get(Post, world.suggestion.id).stage == "suggested"
    assert db.session.scalar(select(ModerationAction.id).where(ModerationAction.post_id == world.suggestion.id)) is None


@pytest.mark.parametrize("role", ["anonymous", "member", "researcher", "guest"])
def test_hidden_posts_stay_hidden_from_other_users(app, world, login, role):
    """A hidden post is the author's and the moderators' business: others get a 404 on every
    route that names it, and the API and search do not leak its text."""
    world.comment.status = PostStatus.hidden
    db.session.commit()
    browser = as_role(app, world, login, role)
    pid = world.comment.id
    for path in (f"/posts/{pid}", f"/posts/{pid}/history"):
        assert browser.get(path).status_code == 404, path
    before = snapshot()
    reply = browser.post(f"/posts/{pid}/reply", data={"body": "hello?"})
    assert outcome(reply.status_code, reply) == (LOGIN if role == "anonymous" else 404)
    assert not written(before, snapshot())  # its attempt counted against the limit: nothing else
    for path in (f"/api/v1/episodes/{world.episode.slug}/thread", "/search?q=spicy", "/api/v1/search?q=spicy",
                 f"/episodes/{world.episode.slug}", f"/episodes/{world.episode.slug}/discussion.atom"):
        assert "spicy take" not in browser.get(path).get_data(as_text=True), path
