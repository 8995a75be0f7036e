"""An account whose address is not confirmed yet: every state-changing route of app.url_map
refuses it (403, the reason, not one row written) but its own set-up, and every page reads
as it does for any member. A compose form's refusal keeps the words instead: it goes back to
the form's page (303) with the reason, the text kept as the writer's draft.

The routes come from url_map, so a route added tomorrow is walked too: it is refused unless
it is listed in SETUP below (and in policy.SETUP_PREFIXES or SETUP_ENDPOINTS)."""

from __future__ import annotations

import pytest
from sqlalchemy import update

from community.extensions import db
from community.models import User
from tests.conftest import text_of
from tests.factories import Factories
from tests.oidc_provider import oidc_app_config, oidc_provider  # noqa: F401 (a fixture)
from tests.security.test_access_matrix import FAMILIES, ROUTE_FAMILY, outcome
from tests.security.world import STATE_CHANGING, build_url, build_world, rules_with, send, snapshot, written

REFUSAL = "Confirm your email address first: we sent a link to m***@example.org"
NEW_PASSWORD = "a completely different passphrase"

# What an unconfirmed account may still send: its own set-up. Each with a plausible form.
SETUP = {
    "accounts.login": {"login": "other_user", "password": Factories.PASSWORD},
    "accounts.register": {"username": "newcomer", "email": "newcomer@example.org", "password": NEW_PASSWORD,
                          "confirm": NEW_PASSWORD},
    "accounts.reset_request": {"email": "member_user@example.org"},
    "accounts.reset": {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    "accounts.edit_profile": {"display_name": "Fresh Member", "affiliation": "MIT", "bio": "", "links": ""},
    "accounts.change_password": {"current": Factories.PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    "accounts.end_session": {}, "accounts.end_other_sessions": {}, "accounts.export_data": {},
    "accounts.logout": {},
    "accounts.delete_account": {"password": Factories.PASSWORD, "posts": "keep"},
    "verification.change_account_address": {"new_email": "member.fixed@example.org"},
    "verification.add_institutional": {"institutional_email": "member.other@mit.edu"},
    "verification.resend": {}, "verification.resend_address": {}, "verification.remove_address": {},
    "verification.confirm": {},
    "notifications.settings": {"reply": "none", "mention": "none"}, "notifications.unsubscribe": {},
    "notifications.read_all": {},
    "discussion.preview": {"body": "*preview*"},
    "invitations.accept": {},
    # Signing in with ORCID, and linking it, are account set-up (under /auth/ and /settings/).
    "orcid.start": {}, "orcid.new_account": {}, "orcid.link": {}, "orcid.unlink": {},
}
@pytest.fixture
def app_config(oidc_provider):
    # ORCID set up against a real local provider, as in the access matrix: its routes answer as deployed.
    return {"PROPAGATE_EXCEPTIONS": False, **oidc_app_config(oidc_provider)}


# Ending the session or the account: sent last, in this order.
LAST = ("accounts.logout", "accounts.change_password", "accounts.reset", "accounts.end_session",
        "accounts.end_other_sessions", "accounts.delete_account")
# Plausible bodies for the refused routes (the refusal comes before any field is read).
FORM = {"body": "Posted before confirming.", "text": "Please look again.", "reason": "spam", "note": "",
        "up": "1", "on": "1", "link": "1706.03762", "title": "Attention Is All You Need", "name": "Yann LeCun",
        "why": "World models.", "disclosure": "neither", "action": "dismiss", "stage": "contacted", "episode": "0",
        "grant": "1", "domain": "lab.example.com"}


def composed_on(app, rule, url: str) -> str | None:
    """The page a compose form's view says it is on (helpers.composes), for this URL."""
    view = app.view_functions[rule.endpoint]
    if not hasattr(view, "compose_page"):
        return None
    with app.test_request_context(url, method="POST"):
        from flask import request

        return view.compose_page(**request.view_args)

# What a compose form sends (its words, whichever field holds them).
COMPOSED = {"body": "Posted before confirming.", "reason": "spam", "note": "Kept for after confirming.",
            "text": "Appealed before confirming.", "name": "Yann LeCun", "why": "Suggested before confirming."}
KEPT_WORDS = ("Posted before confirming.", "Kept for after confirming.", "Appealed before confirming.",
              "Suggested before confirming.")
# Compose forms a member is not shown (a guest's answer, a moderator's reasons): nothing to put back.
# The appeal and the revision show only on the author's hidden post (this world's is visible):
# tests/views/test_nothing_lost.py puts their words back.
NOT_THE_MEMBERS = {"questions.answer", "questions.decline", "moderation.act", "moderation.moderate", "moderation.appeal",
                   "moderation.revise"}


@pytest.fixture
def world(factories):
    world = build_world(factories)
    world.users["member"].email_confirmed_at = None  # signed up, link not opened yet
    db.session.commit()
    return world


def test_every_state_changing_route_refuses_an_unconfirmed_account_but_its_set_up(app, world, login):
    rules = sorted(rules_with(app, STATE_CHANGING), key=lambda r: (r.endpoint in LAST, LAST.index(r.endpoint)
                                                                   if r.endpoint in LAST else 0, r.endpoint))
    refused, problems = set(), []
    for rule in rules:
        browser = login(world.users["member"], the_client=app.test_client())
        url = build_url(app, world, rule, "member")
        for method in sorted(rule.methods & STATE_CHANGING):
            where = f"{method} {url} [{rule.endpoint}]"
            before = snapshot()
            page = composed_on(app, rule, url)
            sent = SETUP.get(rule.endpoint, COMPOSED if page else FORM)
            status, response, error = send(browser, method, url, data=sent)
            after = snapshot()
            said = error if response is None else text_of(response) if response.mimetype.startswith(
                ("text/", "application/json")) else response.mimetype  # the export is a ZIP
            if rule.endpoint in SETUP:
                if REFUSAL in said or status >= 500:
                    problems.append(f"{where}: set-up must work before confirming, got {status}: {said[:200]}")
                continue
            refused.add(rule.endpoint)
            if page is not None:  # a compose form: its words wait in the box, under the reason (issue 21)
                if status != 303 or response.location != page:
                    problems.append(f"{where}: expected 303 back to {page}, got {status}: {said[:200]}")
                else:
                    shown = browser.get(page)
                    if REFUSAL not in text_of(shown):
                        problems.append(f"{where}: the page it went back to does not say why")
                    if rule.endpoint not in NOT_THE_MEMBERS and not any(
                            words in shown.get_data(as_text=True) for words in KEPT_WORDS):
                        problems.append(f"{where}: the page it went back to lost the words")
                continue
            if status != 403 or REFUSAL not in said:
                problems.append(f"{where}: expected 403 with the reason, got {status}: {said[:200]}")
            if written(before, after):
                problems.append(f"{where}: refused, but it wrote {written(before, after)}")
        db.session.execute(update(User).values(password_hash=Factories.password_hash()))
        db.session.commit()
    assert {"discussion.comment", "discussion.reply", "discussion.edit", "discussion.vote", "moderation.flag",
            "papers.submit", "questions.ask", "questions.answer", "guests.suggest", "episodes.follow",
            "moderation.appeal"} <= refused, sorted(refused)
    assert not problems, "\n".join(problems)


def test_every_page_reads_as_for_any_member(app, world, login):
    browser = login(world.users["member"], the_client=app.test_client())
    problems = []
    for rule in rules_with(app, {"GET"}):
        overrides = {"post_id": world.comment.id} if rule.endpoint == "discussion.edit" else {}
        url = build_url(app, world, rule, "member", **overrides)
        status, response, error = send(browser, "GET", url)
        expected = FAMILIES[ROUTE_FAMILY[rule.endpoint]]["member"]
        if outcome(status, response) != expected:
            problems.append(f"GET {url} [{rule.endpoint}]: got {status}, expected {expected} {error}".rstrip())
    assert not problems, "\n".join(problems)
    home = text_of(browser.get("/"))
    assert "Confirm your address: we sent a link to m***@example.org" in home and "Send it again" in home


def test_a_vote_sent_by_the_script_gets_the_reason_as_json(app, world, login):
    browser = login(world.users["member"], the_client=app.test_client())
    before = snapshot()
    response = browser.post(f"/posts/{world.comment.id}/vote", data={"up": "1"},
                            headers={"Accept": "application/json"})
    assert response.status_code == 403 and REFUSAL in response.get_json()["error"]
    assert not written(before, snapshot())
