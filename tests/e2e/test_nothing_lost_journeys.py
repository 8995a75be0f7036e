"""Nothing typed is lost, no step is a dead end (issue 21): each journey with JavaScript on
and off."""

from __future__ import annotations

import re
from datetime import timedelta

from playwright.sync_api import expect
from sqlalchemy import select

from community.extensions import db
from community.models import User
from community.models.base import utcnow
from community.services import emails
from tests.e2e.conftest import log_in
from tests.e2e.scenario import as_request, fresh

WORDS = "The warm-up schedule matters more than the paper admits."


def old_user(data, name: str):
    return data.user(name, created_at=utcnow() - timedelta(days=60))


def test_logged_out_in_another_tab_then_log_in_and_post(new_page, data, javascript):
    episode = data.episode(21, "Behnam Neyshabur on length generalisation")
    old_user(data, "ada")
    page = new_page(js=javascript)
    log_in(page, "ada")
    page.goto(f"/episodes/{episode.slug}")
    page.get_by_label("Your comment").fill(WORDS)
    if javascript:  # the live preview's request is answered before the logout, not racing it
        expect(page.locator("#comment-form .live-preview")).to_contain_text(WORDS)

    other_tab = page.context.new_page()
    other_tab.goto("/")
    other_tab.get_by_role("button", name="Log out").click()
    expect(other_tab.get_by_text("Logged out.")).to_be_visible()

    page.get_by_role("button", name="Post comment").click()
    expect(page).to_have_url(re.compile(r"/auth/login\?next="))
    page.wait_for_load_state()  # the login page itself, not the episode page still unloading
    expect(page.locator(".flash").first).to_contain_text("your text is back in the box")
    page.get_by_label("Username or email").fill("ada")
    page.get_by_label("Password").fill(data.PASSWORD)
    page.get_by_role("button", name="Log in").click()

    expect(page).to_have_url(re.compile(rf"/episodes/{episode.slug}#comment-form$"))
    expect(page.get_by_label("Your comment")).to_have_value(WORDS)
    page.get_by_role("button", name="Post comment").click()
    expect(page.locator(".comment-body", has_text=WORDS)).to_have_count(1)
    expect(page.get_by_label("Your comment")).to_have_value("")


def test_over_the_comment_limit_the_text_stays_with_the_wait(new_page, data, javascript):
    episode = data.episode(22, "Chelsea Finn on meta-learning")
    old_user(data, "ada")
    page = new_page(js=javascript)
    log_in(page, "ada")
    page.goto(f"/episodes/{episode.slug}")
    for i in range(5):
        page.get_by_label("Your comment").fill(f"Comment number {i}.")
        page.get_by_role("button", name="Post comment").click()
        expect(page.locator(".comment-body", has_text=f"Comment number {i}.")).to_have_count(1)
    page.get_by_label("Your comment").fill(WORDS)
    page.get_by_role("button", name="Post comment").click()
    expect(page.get_by_label("Your comment")).to_have_value(WORDS)
    error = page.locator("#comment-form .error")
    expect(error).to_contain_text(re.compile(r"send it in \d+ s"))
    expect(page.get_by_text("Back to the front page")).to_have_count(0)
    if javascript:  # counted down in place
        first = error.inner_text()
        expect(error).not_to_have_text(first, timeout=3000)


def test_sign_up_from_log_in_to_reply_lands_at_that_reply_box(new_page, data, javascript):
    episode = data.episode(23, "Percy Liang on foundation models")
    post = data.comment(old_user(data, "tom"), episode, body="Evaluation is the bottleneck.")
    page = new_page(js=javascript)
    page.goto(f"/episodes/{episode.slug}")
    page.locator(f"#c{post.id}").get_by_role("link", name="log in to reply").click()
    page.locator("main").get_by_role("link", name="Sign up").click()
    page.get_by_label("Username").fill("newcomer")
    page.get_by_label("Email").fill("newcomer@example.org")
    page.get_by_label("Password", exact=True).fill("a long enough passphrase 42")
    page.get_by_label("Confirm password").fill("a long enough passphrase 42")
    page.get_by_role("button", name="Create account").click()
    expect(page).to_have_url(re.compile(rf"/posts/{post.id}#reply-form$"))
    expect(page.locator("#reply-form textarea")).to_be_visible()
    expect(page.get_by_text("You are back where you were")).to_be_visible()

    # Replying before the confirmation link is opened: refused, the words wait in that box.
    reply = "Which benchmark do you have in mind?"
    page.locator("#reply-form textarea").fill(reply)
    page.locator("#reply-form").get_by_role("button", name="Post reply").click()
    expect(page).to_have_url(re.compile(rf"/posts/{post.id}#reply-form$"))
    expect(page.locator(".flash", has_text="Your text is kept in the box")).to_contain_text(
        "Confirm your email address first")
    expect(page.locator("#reply-form textarea")).to_have_value(reply)

    with as_request():
        fresh()
        user = db.session.scalar(select(User).where(User.username == "newcomer"))
        link = f"/auth/confirm/{emails.make_token(emails.pending_account_address(user))}"
    page.goto(link)
    page.get_by_role("button", name=re.compile("Confirm")).click()
    expect(page.locator(".flash", has_text="is confirmed")).to_be_visible()
    page.goto(f"/posts/{post.id}#reply-form")
    expect(page.locator("#reply-form textarea")).to_have_value(reply)  # still there, from any device
    page.locator("#reply-form").get_by_role("button", name="Post reply").click()
    expect(page.locator(".comment-body", has_text=reply)).to_have_count(1)


def test_delete_asks_then_undo_brings_it_back(new_page, data, javascript):
    episode = data.episode(24, "Yejin Choi on common sense")
    ada = old_user(data, "ada")
    post = data.comment(ada, episode, body="A thought I will regret.")
    page = new_page(js=javascript)
    log_in(page, "ada")
    page.goto(f"/episodes/{episode.slug}")
    page.locator(f"#c{post.id} .confirm-delete > summary").click()
    if javascript:
        dialog = page.locator("dialog.confirm-dialog")
        expect(dialog).to_be_visible()
        dialog.get_by_role("button", name="Delete").click()
    else:
        page.locator(f"#c{post.id}").get_by_role("button", name="Yes, delete").click()
    expect(page.locator(".flash.undo")).to_contain_text("Deleted.")
    expect(page).to_have_url(re.compile(r"#discussion$"))
    expect(page.locator(".comment-body", has_text="A thought I will regret.")).to_have_count(0)
    page.locator(".flash.undo").get_by_role("button", name="Undo").click()
    expect(page.get_by_text("Restored: your post is back.")).to_be_visible()
    expect(page).to_have_url(re.compile(rf"#c{post.id}$"))
    expect(page.locator(".comment-body", has_text="A thought I will regret.")).to_have_count(1)


def test_six_refused_papers_then_a_good_one_is_accepted(new_page, data, javascript):
    episode = data.episode(25, "Kelvin Guu on retrieval")
    old_user(data, "ada")
    page = new_page(js=javascript)
    log_in(page, "ada")
    page.goto(f"/episodes/{episode.slug}")
    page.get_by_text("Add a paper").click()
    for i in range(6):
        page.get_by_label("Link or identifier").fill("")
        page.get_by_label("Title").fill(f"Attempt {i}")
        page.get_by_role("button", name="Add paper").click()
        expect(page.locator("#paper-form .error").first).to_be_visible()
        expect(page.get_by_label("Title")).to_have_value(f"Attempt {i}")
    page.get_by_label("Link or identifier").fill("https://arxiv.org/abs/2005.11401")
    page.get_by_label("Title").fill("Retrieval-Augmented Generation")
    page.get_by_role("button", name="Add paper").click()
    expect(page.get_by_text("Paper added to the reading list.")).to_be_visible()
    expect(page.locator("#papers")).to_contain_text("Retrieval-Augmented Generation")


def test_a_draft_comes_back_after_a_reload_and_on_another_device(new_page, data):
    episode = data.episode(26, "Jim Fan on embodied agents")
    old_user(data, "ada")
    page = new_page(js=True)
    log_in(page, "ada")
    page.goto(f"/episodes/{episode.slug}")
    page.get_by_label("Your comment").fill(WORDS)
    page.get_by_label("Your comment").press("End")
    page.reload()  # leaving the page saves the draft on the server too
    expect(page.get_by_label("Your comment")).to_have_value(WORDS)

    laptop = new_page(js=False)  # another device, without JavaScript: the server fills the box
    log_in(laptop, "ada")
    laptop.goto(f"/episodes/{episode.slug}")
    expect(laptop.get_by_label("Your comment")).to_have_value(WORDS)
    laptop.get_by_role("button", name="Post comment").click()
    expect(laptop.locator(".comment-body", has_text=WORDS)).to_have_count(1)

