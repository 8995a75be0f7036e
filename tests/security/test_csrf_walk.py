"""CSRF walk: every state-changing rule of app.url_map refuses a request without a valid token.

The list of rules is computed from url_map, not written down, so a route added tomorrow is
walked too (and the walk fails, naming it, if its URL cannot be built here). Each rule is
sent by a logged-in member and by a logged-in moderator (so that no role check can answer
before the CSRF check does), with plausible form data and real ids, three ways: no token,
a JSON body without the header, and a token minted for another browser session. Every
answer must be 400 with the CSRF message, and not one row of any table may change.
"""

from __future__ import annotations


import pytest
from sqlalchemy import update

from community.extensions import db
from community.models import User
from tests.factories import Factories
from tests.oidc_provider import oidc_app_config, oidc_provider  # noqa: F401 (a fixture)
from tests.security.world import (
    STATE_CHANGING, Unbuildable, build_url, build_world, diff, rules_with, send, snapshot,
)

NEW_PASSWORD = "a completely different passphrase"

# Plausible bodies per endpoint: what the real form would send. An endpoint missing here
# still gets walked, with GENERIC_FORM (the refusal must not depend on the fields anyway).
FORMS = {
    "accounts.login": lambda w, role: {"login": w.users["other"].username, "password": Factories.PASSWORD},
    "accounts.logout": lambda w, role: {},
    "accounts.register": lambda w, role: {"username": "newcomer", "email": "newcomer@example.org",
                                          "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    "accounts.reset_request": lambda w, role: {"email": w.users[role].email},
    "accounts.reset": lambda w, role: {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    "accounts.edit_profile": lambda w, role: {"display_name": "Mallory", "affiliation": "Evil Corp",
                                              "bio": "Changed by a forged request.", "links": "https://evil.example/"},
    "accounts.change_password": lambda w, role: {"current": Factories.PASSWORD, "password": NEW_PASSWORD,
                                                 "confirm": NEW_PASSWORD},
    "discussion.comment": lambda w, role: {"body": "Posted by a forged request."},
    "discussion.reply": lambda w, role: {"body": "Replied by a forged request."},
    "discussion.edit": lambda w, role: {"body": "Edited by a forged request."},
    "discussion.delete": lambda w, role: {},
    "discussion.undelete": lambda w, role: {},
    "moderation.revise": lambda w, role: {"body": "Revised by a forged request."},
    "discussion.vote": lambda w, role: {"up": "1"},
    "discussion.preview": lambda w, role: {"body": "*preview*"},
    "papers.submit": lambda w, role: {"link": "1706.03762", "title": "Attention Is All You Need", "moment": "3:00",
                                      "note": "forged"},
    "questions.ask": lambda w, role: {"body": "A forged question?"},
    "moments.correct": lambda w, role: {"correction": "A forged correction."},
    "questions.answer": lambda w, role: {"body": "A forged answer."},
    "questions.on_air": lambda w, role: {"episode": str(w.episode.id), "moment": "1:00"},
    "questions.decline": lambda w, role: {"reason": "Forged decline"},
    "questions.merge": lambda w, role: {"into": str(w.other_question.id)},
    "guests.suggest": lambda w, role: {"name": "Yann LeCun", "affiliation": "NYU", "links": "", "why": "Forged.",
                                       "papers": "", "disclosure": "neither"},
    "guests.set_status": lambda w, role: {"stage": "contacted", "note": "forged", "episode": "0"},
    "moderation.flag": lambda w, role: {"reason": "spam", "note": ""},
    "moderation.unflag": lambda w, role: {},
    "moderation.appeal": lambda w, role: {"text": "Please look again (forged)."},
    "moderation.act": lambda w, role: {"action": "remove", "reason": "Spam", "detail": "forged", "days": "7"},
    "moderation.moderate": lambda w, role: {"action": "remove", "reason": "Spam", "detail": "forged", "days": "7"},
    "moderation.bulk": lambda w, role: {"action": "hide", "reason": "Spam", "post_ids": [str(w.comment.id)]},
    "notifications.read_all": lambda w, role: {},
    "notifications.settings": lambda w, role: {"reply": "none", "mention": "none"},
    "notifications.unsubscribe": lambda w, role: {},
    "episodes.follow": lambda w, role: {"on": "1"},
    "accounts.export_data": lambda w, role: {},
    "accounts.delete_account": lambda w, role: {"password": Factories.PASSWORD, "posts": "remove"},
    "admin.new_episode": lambda w, role: {"title": "Forged episode", "number": "77"},
    "admin.edit_episode": lambda w, role: {"title": "Forged title", "number": "1"},
    "admin.set_episode_people": lambda w, role: {"guests": "Sarah Hong"},
    # No file: the same form goes out three times (and once as JSON); the CSRF check comes first.
    "admin_transcripts.upload": lambda w, role: {"kind": "vtt", "note": "Forged revision"},
    "admin_transcripts.speakers": lambda w, role: {"revision": "1", "label-0": "Test Speaker", "speaker-0": str(w.person.id)},
    "admin.new_person": lambda w, role: {"name": "Forged Person"},
    "admin.edit_person": lambda w, role: {"name": "Forged Name"},
    "admin.link_person": lambda w, role: {"username": w.users["member"].username},
    "admin.merge_person": lambda w, role: {"other": "0"},
    "admin.set_role": lambda w, role: {"role": "admin"},
    "admin.suspension": lambda w, role: {"action": "ban", "reason": "forged"},
    "admin.change_setting": lambda w, role: {"FLAG_THRESHOLD-value": "99"},
    "orcid.start": lambda w, role: {"next": "/"},
    "orcid.link": lambda w, role: {},
    "orcid.unlink": lambda w, role: {},
    "orcid.new_account": lambda w, role: {"username": "newcomer", "email": "newcomer@example.org",
                                          "display_name": "Forged"},
    "invitations.new": lambda w, role: {"person": str(w.person.id), "email": "forged@example.org"},
    "invitations.revoke": lambda w, role: {},
    "invitations.accept": lambda w, role: {},
}

# GET routes that act on what arrives with them, and their CSRF defence instead of a token.
# A provider sends the browser back to the callback with a redirect (RFC 6749 4.1.2; ORCID
# does only this), which cannot carry our form token: the `state` it returns is the
# defence, single use and bound to the flow this browser started with a POST and a token.
# The attack (a callback this browser did not start) is tried below and, end to end, in
# tests/views/test_orcid.py (wrong state, another browser's code, a replay).
GET_BY_PROTOCOL = {
    "orcid.callback": "OpenID Connect redirect from the provider; defended by the state it carries back",
}
GENERIC_FORM = {"body": "forged", "text": "forged", "reason": "spam", "note": "forged", "name": "forged", "up": "1"}
WALK_ROLES = ["member", "moderator"]


@pytest.fixture
def app_config(oidc_provider):
    # A crash must look like what a browser gets (a 500), not an exception in the test.
    # ORCID sign-in is set up against a real local provider, so its routes are reached.
    return {"PROPAGATE_EXCEPTIONS": False, **oidc_app_config(oidc_provider)}


@pytest.fixture
def world(factories):
    return build_world(factories)


def state_changing_rules(app):
    return rules_with(app, STATE_CHANGING)


def form_for(world, endpoint: str, role: str) -> dict:
    maker = FORMS.get(endpoint)
    return maker(world, role) if maker else dict(GENERIC_FORM)


def forged_token(app) -> str:
    """A perfectly valid token, minted for another browser's session."""
    stranger = app.test_client()
    stranger.get("/auth/login")
    return stranger.csrf_token()


def test_walk_can_build_every_state_changing_rule(app, world):
    """Coverage guard: every POST/PUT/PATCH/DELETE rule in url_map gets a real URL here."""
    rules = state_changing_rules(app)
    unbuildable = []
    for rule in rules:
        for role in WALK_ROLES:
            try:
                build_url(app, world, rule, role)
            except Unbuildable as error:
                unbuildable.append(str(error))
    assert rules, "url_map has no state-changing rules at all?"
    assert not unbuildable, "the CSRF walk cannot build these rules:\n" + "\n".join(sorted(set(unbuildable)))


@pytest.mark.parametrize("role", WALK_ROLES)
def test_every_state_changing_route_refuses_a_missing_or_foreign_csrf_token(app, world, login, role, record_property):
    browser = login(world.users[role], the_client=app.test_client())
    assert browser.get("/settings/profile").status_code == 200  # really logged in
    foreign = forged_token(app)
    rules = state_changing_rules(app)
    problems, covered, requests_sent = [], [], 0
    for rule in rules:
        try:
            url = build_url(app, world, rule, role)
        except Unbuildable as error:
            problems.append(f"UNBUILDABLE {error}")
            continue
        form = form_for(world, rule.endpoint, role)
        for method in sorted(rule.methods & STATE_CHANGING):
            variants = {
                "no token": dict(data=form, csrf=False) if method == "POST" else dict(data=form),
                "JSON without X-CSRFToken": dict(json={k: v for k, v in form.items()}),
                "token of another session": (dict(data=form | {"csrf_token": foreign}, csrf=False)
                                             if method == "POST" else dict(data=form | {"csrf_token": foreign})),
            }
            for variant, kwargs in variants.items():
                before = snapshot()
                status, response, error = send(browser, method, url, **kwargs)
                requests_sent += 1
                after = snapshot()
                where = f"{method} {url} [{rule.endpoint}] as {role}, {variant}"
                if status != 400:
                    problems.append(f"{where}: status {status}, expected 400 {error}".rstrip())
                elif response is not None and "CSRF" not in response.get_data(as_text=True):
                    problems.append(f"{where}: 400 but not the CSRF refusal (some other check answered first)")
                changed = diff(before, after)
                if changed:
                    problems.append(f"{where}: the database changed: {changed}")
        covered.append(rule)
    # Still logged in: not even the logout or password routes did anything.
    assert browser.get("/settings/profile").status_code == 200
    summary = f"CSRF walk as {role}: {len(covered)}/{len(rules)} state-changing rules covered, {requests_sent} forged requests"
    print(summary)
    record_property("csrf_rules_covered", len(covered))
    record_property("csrf_rules_total", len(rules))
    assert not problems, summary + "\n" + "\n".join(problems)
    assert len(covered) == len(rules)


@pytest.mark.parametrize("role", WALK_ROLES)
def test_the_same_requests_with_a_token_get_past_the_csrf_check(app, world, login, role):
    """Control for the walk above: with a valid token no route answers with the CSRF
    refusal, so the 400s above really come from the missing token (and the plausible data
    reaches the views without crashing them)."""
    problems = []
    rules = state_changing_rules(app)
    # Routes that end the session go last, so the rest run logged in; deleting the account
    # ends it for good (the user cannot log in again), so it goes very last.
    order = sorted(rules, key=lambda r: (r.endpoint == "accounts.delete_account", r.endpoint in (
        "accounts.logout", "accounts.change_password", "accounts.reset", "accounts.end_session",
        "accounts.end_other_sessions")))
    for rule in order:
        browser = login(world.users[role], the_client=app.test_client())
        url = build_url(app, world, rule, role)
        for method in sorted(rule.methods & STATE_CHANGING):
            kwargs = {"data": form_for(world, rule.endpoint, role)}
            if method != "POST":
                kwargs["data"] = kwargs["data"] | {"csrf_token": browser.csrf_token()}
            status, response, error = send(browser, method, url, **kwargs)
            # Not every answer is text (the data export is a ZIP).
            text = response.get_data().decode("utf-8", "replace") if response is not None else ""
            if status >= 500:
                problems.append(f"{method} {url} [{rule.endpoint}] as {role} with a token: {status} {error}")
            elif status == 400 and "CSRF" in text:
                problems.append(f"{method} {url} [{rule.endpoint}] as {role}: CSRF refusal despite a valid token")
        # A password route that worked changed the password: put it back for the next login.
        db.session.execute(update(User).where(User.id == world.users[role].id)
                           .values(password_hash=Factories._password_hash))
        db.session.commit()
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("role", WALK_ROLES)
def test_get_routes_that_act_refuse_a_request_this_browser_did_not_start(app, world, login, role):
    """The GET_BY_PROTOCOL routes, forged the way a CSRF attack would (a link or an image
    with plausible parameters): refused, and not one row changes."""
    assert set(GET_BY_PROTOCOL) <= set(app.view_functions), "GET_BY_PROTOCOL names a route that is gone"
    browser = login(world.users[role], the_client=app.test_client())
    for endpoint in GET_BY_PROTOCOL:
        rule = next(app.url_map.iter_rules(endpoint))
        before = snapshot()
        status, response, error = send(browser, "GET", build_url(app, world, rule, role) + "?code=forged&state=forged")
        assert status == 400, (endpoint, status, error)
        assert "does not match one started in this browser" in response.get_data(as_text=True)
        assert not diff(before, snapshot())
