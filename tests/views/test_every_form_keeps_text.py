"""Every form of the app, sent with a valid CSRF token but a payload it must refuse, shows the
sender's words again (issue 21: "any refused submission re-renders the form with the text").

The url_map is the list: every POST route is either a form people write in (with a payload
to refuse and the words it must show again) or named in NO_WORDS with the reason it has none
to lose. A new route that is neither fails here by name."""

from __future__ import annotations

import html
import time

import pytest

from community.extensions import db
from community.models import PostStatus
from tests.security.world import build_url, build_world, rules_with

MARK = "Unrepeatable words 7f3a"
TRAP = {"website": "filled in by a robot"}  # a HoneypotForm refuses it: invalid whatever else is sent

# endpoint -> (role, a payload the form refuses, carrying MARK in a field the writer typed)
WRITES = {
    "admin_transcripts.upload": ("admin", {"note": MARK}),  # no file chosen: refused, the note kept
    "discussion.comment": ("member", {"body": MARK, **TRAP}),
    "discussion.reply": ("member", {"body": MARK, **TRAP}),
    "discussion.edit": ("member", {"body": MARK, **TRAP}),
    "papers.submit": ("member", {"link": "", "title": MARK, "note": MARK}),
    "questions.ask": ("member", {"body": MARK, **TRAP}),
    "questions.answer": ("guest", {"body": MARK + "x" * 20_001}),
    "questions.decline": ("moderator", {"reason": MARK + "x" * 500}),
    "guests.suggest": ("member", {"name": MARK, "affiliation": "", "why": ""}),
    "moderation.flag": ("member", {"note": MARK}),  # no reason chosen: there is no default
    "moderation.appeal": ("member", {"text": MARK + "x" * 1000}),
    "moderation.revise": ("member", {"body": MARK + "x" * 20_001}),
    # No action or reason chosen (there is no default): the details typed come back.
    "moderation.act": ("moderator", {"detail": MARK}),
    "moderation.moderate": ("moderator", {"detail": MARK}),
    "moments.correct": ("guest", {"correction": MARK, **TRAP}),  # the guest of the world's episode
    "accounts.edit_profile": ("member", {"bio": MARK, "display_name": "", **TRAP}),
    "accounts.login": ("anonymous", {"login": MARK, "password": ""}),
    "accounts.register": ("anonymous", {"username": "ok_name", "email": MARK, "password": "", "confirm": ""}),
    "accounts.reset_request": ("anonymous", {"email": MARK}),
    "orcid.new_account": ("orcid sign-up", {"username": "ok_name", "email": MARK, "display_name": MARK}),
    "verification.add_institutional": ("member", {"institutional_email": MARK}),
    "verification.change_account_address": ("member", {"new_email": MARK}),
    "verification.researcher": ("moderator", {"note": MARK + "x" * 200, "grant": "1"}),
    "verification.domains": ("admin", {"domain": MARK, "name": MARK}),
    "invitations.new": ("admin", {"person": "", "email": MARK}),
    "admin_feeds.add": ("admin", {"url": MARK}),
    # The operator console's forms.
    "admin.new_episode": ("admin", {"title": "", "summary": MARK, "show_notes": MARK}),
    "admin.edit_episode": ("admin", {"title": "", "summary": MARK, "show_notes": MARK}),
    "admin.set_episode_people": ("admin", {"guests": MARK, "hosts": MARK + "x" * 5000}),
    "admin.new_person": ("admin", {"name": "", "affiliation": MARK, "links": MARK}),
    "admin.edit_person": ("admin", {"name": "", "affiliation": MARK, "links": MARK}),
    "admin.link_person": ("admin", {"username": MARK}),
    "admin.suspension": ("admin", {"action": "suspend", "reason": MARK + "x" * 500, "days": "7"}),
    "admin.change_setting": ("admin", {"FLAG_THRESHOLD-value": MARK}),
}

# A form shown only for some rows: sent to one it is shown for.
ADDRESSED = {
    "admin.link_person": lambda world: {"person_id": world.invitation.person_id},  # one with no account yet
    "verification.researcher": lambda world: {"username": world.users["member"].username},  # not one's own
}

NO_WORDS = {
    "accounts.logout": "a button",
    "admin.publish_episode": "a button", "admin.unpublish_episode": "a button", "admin.unlink_person": "a button",
    "admin_jobs.retry": "a button", "invitations.revoke": "a button", "invitations.accept": "a button",
    "orcid.start": "a button (off to ORCID)", "orcid.link": "a button (off to ORCID)", "orcid.unlink": "a button",
    "admin.set_role": "a choice of role", "admin.merge_person": "a choice of person",
    "accounts.change_password": "passwords only, never shown again by design",
    "accounts.reset": "passwords only, never shown again by design",
    "accounts.delete_account": "a password and a choice",
    "accounts.end_session": "a button", "accounts.end_other_sessions": "a button",
    "accounts.export_data": "a button",
    "discussion.delete": "a button (asks first)", "discussion.undelete": "a button",
    "discussion.vote": "a button", "discussion.preview": "renders what is typed; keeps nothing",
    "drafts.save": "saves the words themselves (site.js)",
    "episodes.follow": "a button",
    "watching.episode": "buttons", "watching.thread": "buttons", "watching.paper": "buttons",
    "moderation.unflag": "a button",
    "moderation.bulk": "check boxes and a choice",
    "guests.set_status": "a status chosen from a list (its note is one line, refused only when forged)",
    "questions.on_air": "an episode chosen from a list and a time",
    "questions.merge": "a question number",
    "notifications.read_all": "a button", "notifications.settings": "choices",
    "notifications.unsubscribe": "a button",
    "papers.set_kind": "a button (paper or link)",
    "admin_feeds.refresh": "a button", "admin_feeds.deactivate": "a button",
    "admin_transcripts.speakers": "a person chosen from a list per speaker",
    "verification.resend": "a button", "verification.resend_address": "a button",
    "verification.remove_address": "a button", "verification.remove_domain": "a button",
    "verification.confirm": "a button on the confirmation link's page",
}

# Every form has been walked (the console's, verification's, feeds', invitations' and ORCID's
# sign-up step joined the walk above): a new form goes in WRITES or NO_WORDS, not here.
NOT_YET_WALKED: dict[str, str] = {}


@pytest.fixture
def app_config():
    """ORCID configured (never reached: the walk's sign-up step starts from an iD kept in the
    session, as after a real sign-in), so its create-account form exists to be walked."""
    return {"ORCID_CLIENT_ID": "walk-client", "ORCID_CLIENT_SECRET": "walk-secret", "ORCID_ISSUER": "http://127.0.0.1:9"}


@pytest.fixture
def world(factories):
    made = build_world(factories)
    made.own_posts["member"].status = PostStatus.hidden  # the appeal's subject
    db.session.commit()
    return made


def test_every_post_route_is_a_form_with_words_or_says_why_not(app):
    routes = {r.endpoint for r in rules_with(app, {"POST"})}
    unclassified = sorted(routes - WRITES.keys() - NO_WORDS.keys() - NOT_YET_WALKED.keys())
    assert not unclassified, f"POST routes to classify in WRITES or NO_WORDS: {unclassified}"
    assert not (WRITES.keys() | NO_WORDS.keys() | NOT_YET_WALKED.keys()) - routes, "stale entries"


@pytest.mark.parametrize("endpoint", sorted(WRITES))
def test_a_refused_form_shows_the_words_again(app, world, login, endpoint):
    role, payload = WRITES[endpoint]
    client = app.test_client()
    if role == "orcid sign-up":  # an iD ORCID vouched for, that no account holds yet (views/orcid.py)
        with client.session_transaction() as session:
            session["orcid_pending"] = {"orcid_id": "0000-0002-1825-0097", "name": "", "email": "", "at": time.time()}
    elif role != "anonymous":
        login(world.users[role], the_client=client)
    rule = next(r for r in rules_with(app, {"POST"}) if r.endpoint == endpoint)
    url_role = "anonymous" if role == "orcid sign-up" else role
    response = client.post(build_url(app, world, rule, url_role, **ADDRESSED.get(endpoint, lambda w: {})(world)),
                           data=payload)
    assert response.status_code in (409, 422), (endpoint, response.status_code)
    assert MARK in html.unescape(response.get_data(as_text=True)), endpoint


def test_every_form_is_walked():
    assert not NOT_YET_WALKED, f"forms with typed words the walk does not send yet: {sorted(NOT_YET_WALKED)}"
