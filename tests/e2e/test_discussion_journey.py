"""Discussion in a real browser: comment with math, reply inline, vote, collapse, reload."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.e2e.conftest import log_in


def test_comment_reply_vote_collapse_with_javascript(new_page, data):
    episode = data.episode(11, "Vincent Sitzmann on scene representations", guests=[("Vincent Sitzmann", "MIT")])
    other = data.user("tensor_tom")
    data.comment(other, episode, body="SIREN uses $\\sin(\\omega_0 x)$ activations.")
    data.user("ada")
    page = new_page(js=True)
    log_in(page, "ada")
    page.goto(f"/episodes/{episode.slug}")

    # A top-level comment with math.
    page.get_by_label("Your comment").fill("Why does $\\omega_0 = 30$ work so well?")
    page.get_by_role("button", name="Post comment").click()
    expect(page.locator(".comment", has_text="work so well").locator("math")).to_have_count(1)

    # Reply inline to the other comment, without leaving the page.
    theirs = page.locator(".comment", has_text="activations").first
    theirs.get_by_role("link", name="reply").click()
    box = theirs.get_by_label("Your reply")
    box.fill("It keeps the spectrum of the first layer wide enough.")
    url_before = page.url
    theirs.get_by_role("button", name="Post reply").click()
    page.wait_for_load_state()
    assert page.url.split("#")[0] == url_before.split("#")[0]
    reply = theirs.locator(".comment", has_text="spectrum of the first layer")
    expect(reply).to_have_count(1)

    # Vote without a reload.
    theirs.locator("> details > .comment-actions").get_by_role("button", name="▲ Upvote").click()
    expect(theirs.locator("> details > .comment-meta .score")).to_have_text("1 point")

    # Collapse the subtree: the reply is no longer visible.
    theirs.locator("> details > summary").click()
    expect(reply).to_be_hidden()

    # After a reload everything is stored: the vote, the reply, the math.
    page.reload()
    theirs = page.locator(".comment", has_text="activations").first
    expect(theirs.locator("> details > .comment-meta .score")).to_have_text("1 point")
    expect(theirs.locator("> details > .comment-actions button.vote")).to_have_attribute("aria-pressed", "true")
    expect(theirs.locator(".comment", has_text="spectrum of the first layer")).to_be_visible()
    assert page.locator("math").count() >= 2
    assert page.dialogs == []


def test_comment_and_reply_without_javascript(new_page, data):
    episode = data.episode(12, "Jacob Steinhardt on robustness")
    data.comment(data.user("tom"), episode, body="Forecasting is underrated.")
    data.user("ada")
    page = new_page(js=False)
    log_in(page, "ada")
    page.goto(f"/episodes/{episode.slug}")
    page.get_by_label("Your comment").fill("Inline math $a^2 + b^2$ works without JS.")
    page.get_by_role("button", name="Preview").click()
    expect(page.locator(".preview math")).to_have_count(1)
    page.get_by_role("button", name="Post comment").click()
    expect(page.locator(".comment math")).to_have_count(1)

    theirs = page.locator(".comment", has_text="Forecasting").first
    theirs.get_by_role("link", name="reply").click()  # goes to the permalink's reply form
    page.get_by_label("Your comment").fill("Agreed, a reply without JavaScript.")
    page.get_by_role("button", name="Post reply").click()
    expect(page.locator(".comment-body", has_text="a reply without JavaScript")).to_have_count(1)

    page.locator(".comment", has_text="Forecasting").first.locator("> details > .comment-actions").get_by_role(
        "button", name="▲ Upvote").click()
    expect(page.locator(".comment", has_text="Forecasting").first.locator("> details > .comment-meta .score")).to_have_text("1 point")
