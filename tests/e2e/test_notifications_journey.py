"""Notifications in a real browser: a reply and a mention reach their people."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.e2e.conftest import log_in


def test_reply_with_mention_reaches_both(new_page, data):
    episode = data.episode(9, "Drew Linsley on recurrent vision")
    data.comment(data.user("bea"), episode, body="Horizontal connections matter.")
    data.user("amir")
    data.user("chen")

    writer = new_page()
    log_in(writer, "amir")
    writer.goto(f"/episodes/{episode.slug}")
    comment = writer.locator(".comment", has_text="Horizontal connections")
    comment.get_by_role("link", name="reply").click()
    comment.get_by_label("Your reply").fill("Agreed, and @chen has results on this.")
    comment.get_by_role("button", name="Post reply").click()
    expect(writer.locator(".comment-body", has_text="has results on this")).to_have_count(1)

    for name, expected in (("bea", "amir replied"), ("chen", "amir mentioned you")):
        reader = new_page()
        log_in(reader, name)
        expect(reader.locator(".notifications-link .count-badge")).to_have_text("1")
        reader.locator(".notifications-link").click()
        reader.get_by_role("link", name=expected).click()
        expect(reader.locator(".comment-body", has_text="has results on this")).to_be_visible()
        assert "/posts/" in reader.url
        expect(reader.locator(".notifications-link .count-badge")).to_have_count(0)
