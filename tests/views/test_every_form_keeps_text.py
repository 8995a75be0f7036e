"""Every form of the app, sent with a valid CSRF token but a payload it must refuse, shows the
sender's words again (issue 21: "any refused submission re-renders the form with the text").

The url_map is the list: every POST route is either a form people write in (with a payload
to refuse and the words it must show again) or named in NO_WORDS with the reason it has none
to lose. A new route that is neither fails here by name."""

from __future__ import annotations

import html

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
    "accounts.edit_profile": ("member", {"bio": MARK, "display_name": "", **TRAP}),
    "accounts.login": ("anonymous", {"login": MARK, "password": ""}),
    "accounts.register": ("anonymous", {"username": "ok_name", "email": MARK, "password": "", "confirm": ""}),
    "accounts.reset_request": ("anonymous", {"email": MARK}),
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

# Forms with a typed field that arrived with issues 18-19 in the same wave (an address, a feed
# URL, a domain, a one-line researcher note): not yet walked here, said so rather than hidden.
NOT_YET_WALKED = {
    # Issue 24: the walk's episode has no transcript to anchor a correction to; a refused
    # correction keeping its text is checked in tests/views/test_moments.py.
    "moments.correct": "a guest's correction of their words",
    "admin_feeds.add": "a feed URL (admins)",
    # The operator console's forms (merged last; their refusals re-render the form with what
    # was typed, checked field by field in tests/views/test_admin.py, not yet by this walk).
    "admin.new_episode": "the console's episode form", "admin.edit_episode": "the console's episode form",
    "admin.new_person": "the console's person form", "admin.edit_person": "the console's person form",
    "admin.set_episode_people": "names, one per line", "admin.link_person": "a username",
    "admin.suspension": "a one-line reason", "admin.change_setting": "a setting's value",
    "invitations.new": "an email address", "orcid.new_account": "a username and an email address",
    "verification.add_institutional": "an email address",
    "verification.change_account_address": "an email address",
    "verification.domains": "a domain name (admins)",
    "verification.researcher": "a note of 200 characters (moderators)",
}


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
    if role != "anonymous":
        login(world.users[role], the_client=client)
    rule = next(r for r in rules_with(app, {"POST"}) if r.endpoint == endpoint)
    response = client.post(build_url(app, world, rule, role), data=payload)
    assert response.status_code in (409, 422), (endpoint, response.status_code)
    assert MARK in html.unescape(response.get_data(as_text=True)), endpoint
