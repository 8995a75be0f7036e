"""Moderation in a real browser: three flags hide a comment; a moderator restores it."""

from __future__ import annotations

import pytest

from community.models import Role
from playwright.sync_api import expect

from tests.e2e.conftest import log_in


@pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])
def test_flags_hide_then_moderator_restores(new_page, data, js):
    episode = data.episode(4, "Joel Lehman on open-endedness")
    data.comment(data.user("writer"), episode, body="Benchmarks are pointless, all of them.")
    for name in ("m1", "m2", "m3", "reader"):
        data.user(name)
    data.user("mod", role=Role.moderator)
    reasons = {"m1": "Unkind", "m2": "Off-topic", "m3": "Spam"}

    for name, reason in reasons.items():
        page = new_page(js=js)
        log_in(page, name)
        page.goto(f"/episodes/{episode.slug}")
        page.locator(".comment", has_text="Benchmarks are pointless").get_by_role("link", name="flag").click()
        page.get_by_label(reason, exact=True).check()
        page.get_by_role("button", name="Flag for moderators").click()
        # The flag that hides the post says so, on the episode page (the post is gone from it).
        expect(page.locator(".flash", has_text="Thanks:")).to_have_count(1)

    reader = new_page(js=js)
    log_in(reader, "reader")
    reader.goto(f"/episodes/{episode.slug}")
    expect(reader.locator("text=Benchmarks are pointless")).to_have_count(0)

    moderator = new_page(js=js)
    log_in(moderator, "mod")
    moderator.goto("/moderation/queue")
    row = moderator.locator(".queue-row", has_text="Benchmarks are pointless")
    for reason in reasons.values():
        expect(row.locator(".flags", has_text=reason)).to_have_count(1)
    row.get_by_label("Action").select_option("restore")
    row.get_by_label("Reason").select_option("Looks fine")
    row.get_by_label("Details").fill("Blunt, but on topic")
    row.get_by_role("button", name="Apply").click()
    if js:  # the row updates in place
        expect(moderator.locator(".queue-row.row-done")).to_contain_text("restored")
    else:
        expect(moderator.locator(".flash", has_text="Done: restored")).to_have_count(1)

    reader.reload()
    expect(reader.locator("text=Benchmarks are pointless")).to_have_count(1)
    log = new_page(js=js)
    log.goto("/moderation/log")
    expect(log.locator("tr", has_text="Looks fine: Blunt, but on topic").locator("text=restored")).to_have_count(1)


@pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])
def test_a_moderator_removes_spam_from_the_episode_page(new_page, data, js):
    """Issue 22: no flag, no queue: the moderator removes a spam reply where they read it,
    and lands back on the thread with the receipt; the author is told, the log says why."""
    episode = data.episode(5, "Sample episode on curricula")
    thread = data.comment(data.user("writer"), episode, body="Curricula matter more than model size.")
    spam_id = data.comment(data.user("spammer"), episode, parent=thread, body="Cheap pills at pills.example, click now").id
    data.user("mod", role=Role.moderator)

    moderator = new_page(js=js)
    log_in(moderator, "mod")
    moderator.goto(f"/episodes/{episode.slug}")
    spam = moderator.locator(f"#c{spam_id}")
    spam.locator("summary", has_text="moderate").click()
    spam.get_by_role("link", name="remove").click()
    if js:  # the decision form opens under the post, on the same page
        expect(spam.locator("form.inline-moderate")).to_be_visible()
        assert f"/episodes/{episode.slug}" in moderator.url
        form = spam.locator("form.inline-moderate")
    else:  # the decision page, with the post and the action chosen
        expect(moderator.get_by_role("heading", name="Moderate post")).to_be_visible()
        form = moderator.locator("#moderate-form")
    expect(form.get_by_label("Action")).to_have_value("remove")
    form.get_by_role("button", name="Apply").click()  # no reason yet: the browser or the server asks
    form = moderator.locator("form.inline-moderate, #moderate-form").first
    form.get_by_label("Reason").select_option("Spam")
    form.get_by_label("Details").fill("a shop link")
    form.get_by_role("button", name="Apply").click()

    moderator.wait_for_url(lambda url: f"/episodes/{episode.slug}" in url and "#c" in url)
    expect(moderator.locator(".flash", has_text="Done: removed post")).to_have_count(1)
    expect(moderator.locator("text=Cheap pills")).to_have_count(0)
    expect(moderator.locator(".comment", has_text="Curricula matter")).to_have_count(1)

    spammer = new_page(js=js)
    log_in(spammer, "spammer")
    spammer.goto("/notifications/")
    expect(spammer.locator("main", has_text="Moderators removed your post: Spam: a shop link")).to_have_count(1)
    log = new_page(js=js)
    log.goto("/moderation/log")
    expect(log.locator("tr", has_text="Spam: a shop link").locator("text=removed")).to_have_count(1)
