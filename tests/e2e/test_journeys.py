"""The three people the site is for, end to end in a real browser, each with JavaScript
on and off (every page must work without it; with it, some things happen in place):

- a listener: finds an episode, follows a timestamp, signs up, comments with math,
  replies, votes, collapses a thread, and hears back through a notification;
- a researcher: links a paper at a moment (and a second researcher links the same paper
  in another URL form: one entry, two points), asks the guests a question, suggests a
  future guest with papers and endorses someone else's suggestion;
- a moderator: works the flag queue (hide, restore, remove, suspend), then reads the
  public log and the dashboard's charts.

Every assertion that follows a click waits through `expect` (navigation or fetch)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from community.extensions import db
from community.models import FlagReason, Post, Role, User
from tests.e2e.conftest import log_in
from tests.e2e.scenario import as_request, fresh

JS = pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])


def watch_errors(page) -> list[str]:
    """Uncaught script errors on the page (always empty without JavaScript)."""
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


def url_for_confirmation(emails, username: str) -> str:
    """The path of the link the account's confirmation mail carries."""
    user = db.session.scalar(select(User).where(User.username == username))
    return f"/auth/confirm/{emails.make_token(emails.pending_account_address(user))}"


def post_by_text(fragment: str) -> Post:
    fresh()
    post = db.session.scalar(select(Post).where(Post.body_source.contains(fragment)))
    assert post is not None, f"no post contains {fragment!r}"
    return post


# ------------------------------------------------------------------ listener

@JS
def test_listener_finds_episode_signs_up_discusses_and_hears_back(new_page, data, js):
    from community.services import discussion, papers

    with as_request():
        episode = data.episode(3, "Kelvin Guu on retrieval-augmented models", guests=[("Kelvin Guu", "Google Research")],
                               summary="Retrieval as a way to keep knowledge out of the weights.", audio_url=None)
        tom, bea = data.user("tensor_tom"), data.user("bea")
        root = discussion.create_post(tom, episode=episode, body="REALM backpropagates through the retriever itself.")
        discussion.create_post(bea, episode=episode, parent=root, body="Only through the top-k documents, though.")
        papers.submit(bea, episode, link="https://arxiv.org/abs/2002.08909", title="REALM", moment="12:34")
        db.session.commit()
        slug, title = episode.slug, episode.title

    page = new_page(js=js)
    errors = watch_errors(page)

    # Lands on the home page and opens the episode.
    page.goto("/")
    page.get_by_role("link", name=title).first.click()
    expect(page).to_have_url(re.compile(rf"/episodes/{slug}$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(title)

    # Reads the discussion: the thread and its reply are there, with a prompt to log in.
    discussion_section = page.locator("#discussion")
    expect(discussion_section.locator(".comment-body", has_text="backpropagates through the retriever")).to_be_visible()
    expect(discussion_section.locator(".comment-body", has_text="top-k documents")).to_be_visible()
    expect(discussion_section.get_by_role("link", name="Log in to comment")).to_be_visible()

    # A timestamp link carries the moment in the URL and targets the player. This episode
    # has no audio, so the click is a plain navigation and the seek script must stay quiet.
    seek = page.locator("#papers a.seek")
    expect(seek).to_have_text("12:34")
    expect(seek).to_have_attribute("href", re.compile(rf"/episodes/{slug}\?t=754#player$"))
    seek.click()
    expect(page).to_have_url(re.compile(r"\?t=754#player$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(title)
    page.goto(f"/episodes/{slug}#t=1:00")  # the hash form is read by the script on load
    expect(page.get_by_role("heading", level=1)).to_have_text(title)

    # Signs up from the header.
    page.locator(".site-header").get_by_role("link", name="Sign up").click()
    expect(page).to_have_url(re.compile(rf"/auth/register\?next=/episodes/{slug}$"))  # back here after signing up
    page.get_by_label("Username").fill("quiet_listener")
    page.get_by_label("Email").fill("quiet_listener@example.org")
    page.get_by_label("Password", exact=True).fill("retrieval beats memorising")
    page.get_by_label("Confirm password").fill("retrieval beats memorising")
    page.get_by_role("button", name="Create account").click()
    expect(page.locator(".flash", has_text="Welcome, quiet_listener!")).to_be_visible()
    expect(page.locator(".site-header")).to_contain_text("quiet_listener")

    # Opens the confirmation link mailed to the address (tests/e2e/test_verification_journey.py
    # takes it from a real inbox), which lets the new account post.
    from community.services import emails

    with as_request():
        fresh()
        link = url_for_confirmation(emails, "quiet_listener")
    page.goto(link)
    page.get_by_role("button", name="Confirm quiet_listener@example.org").click()
    expect(page.locator(".flash", has_text="quiet_listener@example.org is confirmed")).to_be_visible()

    # Comments with math: $x^2$ becomes MathML on the server.
    page.goto(f"/episodes/{slug}")
    page.get_by_label("Your comment").fill("Does the index cost grow like $x^2$ in the corpus size?")
    page.get_by_role("button", name="Post comment").click()
    mine = page.locator(".comment", has_text="in the corpus size")
    expect(mine.locator(".comment-body math")).to_have_count(1)
    expect(mine.locator(".comment-body msup")).to_have_count(1)

    # Replies to someone else's comment (inline with JS, on the permalink without).
    theirs = page.locator(".comment", has_text="backpropagates through the retriever").first
    theirs.locator("> details > .comment-actions").get_by_role("link", name="reply").click()
    if js:
        theirs.get_by_label("Your reply").fill("So the gradient is an approximation of the full marginal?")
        theirs.get_by_role("button", name="Post reply").click()
    else:
        expect(page).to_have_url(re.compile(r"/posts/\d+#reply$"))
        page.get_by_label("Your comment").fill("So the gradient is an approximation of the full marginal?")
        page.get_by_role("button", name="Post reply").click()
    expect(page.locator(".comment-body", has_text="approximation of the full marginal")).to_have_count(1)
    page.goto(f"/episodes/{slug}")
    theirs = page.locator(".comment", has_text="backpropagates through the retriever").first
    expect(theirs.locator(".comment-body", has_text="approximation of the full marginal")).to_be_visible()

    # Votes for it.
    score = theirs.locator("> details > .comment-meta .score")
    expect(score).to_have_text("0 points")
    theirs.locator("> details > .comment-actions").get_by_role("button", name="▲ Upvote").click()
    expect(score).to_have_text("1 point")
    expect(theirs.locator("> details > .comment-actions button.vote")).to_have_attribute("aria-pressed", "true")

    # Collapses the thread: <details> is native, so this works with and without JS.
    replies = theirs.locator("> details > .thread")
    expect(replies).to_be_visible()
    theirs.locator("> details > summary").click()
    expect(replies).to_be_hidden()
    expect(theirs.locator("> details > summary .collapsed-note")).to_have_text("(2 replies hidden)")
    theirs.locator("> details > summary").click()
    expect(replies).to_be_visible()

    # Someone replies to the listener: the header counts it, /notifications lists it.
    with as_request():
        mine_post = post_by_text("in the corpus size")
        discussion.create_post(db.session.get(User, bea.id), episode=None, parent=mine_post,
                               body="Linear, if you shard the index by document.")
        db.session.commit()
    page.goto("/")
    badge = page.locator(".notifications-link .count-badge")
    expect(badge).to_have_text("1")
    expect(badge).to_have_attribute("aria-label", "1 unread")
    page.locator(".notifications-link").click()
    expect(page).to_have_url(re.compile(r"/notifications/$"))
    item = page.locator(".notification.unread", has_text="bea replied")
    expect(item).to_have_count(1)
    item.get_by_role("link").click()
    expect(page).to_have_url(re.compile(r"/posts/\d+#c\d+$"))
    expect(page.locator(".comment-body", has_text="shard the index by document")).to_be_visible()
    expect(page.locator(".notifications-link .count-badge")).to_have_count(0)

    assert errors == [], errors
    assert page.dialogs == [], page.dialogs


# ------------------------------------------------------------------ researcher

def open_add_paper(page) -> None:
    """The paper form sits in a closed <details>: open it as a person would."""
    link_field = page.get_by_label("Link or identifier")
    expect(link_field).to_be_hidden()
    page.locator("#papers details.add-paper > summary").click()
    expect(link_field).to_be_visible()


@JS
def test_researcher_links_papers_asks_and_suggests_guests(new_page, data, js):
    from community.services import guests

    with as_request():
        episode = data.episode(5, "Jacob Steinhardt on forecasting", guests=[("Jacob Steinhardt", "UC Berkeley")])
        data.user("rhea", role=Role.researcher)
        data.user("sam", role=Role.researcher)
        omar = data.user("omar")
        guests.suggest(omar, name="Chelsea Finn", affiliation="Stanford", links=[], why="Meta-learning, then robots.",
                       papers=[], disclosure="neither")
        db.session.commit()
        slug = episode.slug

    rhea = new_page(js=js)
    errors = watch_errors(rhea)
    log_in(rhea, "rhea")

    # Links a paper at a moment in the episode.
    rhea.goto(f"/episodes/{slug}#papers")
    open_add_paper(rhea)
    rhea.get_by_label("Link or identifier").fill("https://arxiv.org/abs/2005.11401")
    rhea.get_by_label("Title").fill("Retrieval-Augmented Generation for Knowledge-Intensive NLP Tasks")
    rhea.get_by_label("Moment in the episode (optional)").fill("12:34")
    rhea.get_by_role("button", name="Add paper", exact=True).click()
    expect(rhea.locator(".flash", has_text="Paper added to the reading list.")).to_be_visible()
    entry = rhea.locator("#papers .paper-entry")
    expect(entry).to_have_count(1)
    expect(entry.locator(".canonical")).to_have_text("arxiv:2005.11401")
    expect(entry.locator("a.seek")).to_have_text("12:34")
    expect(entry.locator("a.seek")).to_have_attribute("href", re.compile(r"\?t=754#player$"))
    expect(entry.locator(".score")).to_have_text("1 point")

    # A second researcher links the same paper as its PDF URL: merged into one entry.
    sam = new_page(js=js)
    log_in(sam, "sam")
    sam.goto(f"/episodes/{slug}#papers")
    open_add_paper(sam)
    sam.get_by_label("Link or identifier").fill("https://arxiv.org/pdf/2005.11401v4")
    sam.get_by_label("Title").fill("RAG")
    sam.get_by_role("button", name="Add paper", exact=True).click()
    expect(sam.locator(".flash", has_text="already on this episode's reading list")).to_be_visible()
    entry = sam.locator("#papers .paper-entry")
    expect(entry).to_have_count(1)
    expect(entry.locator(".paper-title")).to_have_text("Retrieval-Augmented Generation for Knowledge-Intensive NLP Tasks")
    expect(entry.locator(".score")).to_have_text("2 points")
    sam.goto("/papers/")
    expect(sam.locator(".paper-row")).to_have_count(1)
    expect(sam.locator(".paper-row .meta")).to_have_text("1 episode · 2 votes")

    # Asks the guests a question.
    rhea.goto(f"/episodes/{slug}#questions")
    rhea.get_by_label("Your question for the guests").fill("Which forecasting questions resolved against your intuition?")
    rhea.get_by_role("button", name="Ask the guests").click()
    expect(rhea.locator(".flash", has_text="Question posted.")).to_be_visible()
    question = rhea.locator("#questions .question-entry", has_text="resolved against your intuition")
    expect(question).to_have_count(1)
    expect(question.locator(".badge-open")).to_have_text("Open")

    # Suggests a future guest, with papers.
    rhea.goto("/guests/suggestions/new")
    rhea.get_by_label("Nominee's name").fill("Jacob Andreas")
    rhea.get_by_label("Affiliation").fill("MIT")
    rhea.get_by_label("Links", exact=True).fill("https://www.mit.edu/~jda/")
    rhea.get_by_label("Why they would be a great guest").fill("Language models as models of *agents*.")
    rhea.get_by_label("Their papers (optional)").fill("arXiv:2212.01681\nhttps://arxiv.org/abs/1511.02799")
    rhea.get_by_label("Neither", exact=True).check()
    rhea.get_by_role("button", name="Suggest this guest").click()
    expect(rhea.locator(".flash", has_text="Jacob Andreas is on the board")).to_be_visible()
    expect(rhea).to_have_url(re.compile(r"/posts/\d+"))
    expect(rhea.locator(".nominee-papers code")).to_have_text(["arxiv:2212.01681", "arxiv:1511.02799"])

    # Endorses someone else's suggestion on the board.
    rhea.goto("/guests/suggestions")
    expect(rhea.locator(".suggestion", has_text="Jacob Andreas")).to_have_count(1)
    theirs = rhea.locator(".suggestion", has_text="Chelsea Finn")
    expect(theirs.locator(".score")).to_have_text("0 endorsements")
    theirs.get_by_role("button", name="▲ Endorse").click()
    # With JavaScript the row is rewritten in place: it must say what the server would.
    button = theirs.locator("button.vote")
    expect(button).to_have_attribute("aria-pressed", "true")
    expect(button).to_have_text("▲ Endorsed")
    expect(theirs.locator(".score")).to_have_text("1 endorsement")
    rhea.reload()  # and it is stored
    expect(theirs.locator(".score")).to_have_text("1 endorsement")
    expect(button).to_have_text("▲ Endorsed")
    expect(rhea.get_by_text("You use 1 of 10.")).to_be_visible()

    assert errors == [], errors


# ------------------------------------------------------------------ moderator

@JS
def test_moderator_works_the_queue_then_reads_log_and_dashboard(new_page, data, js):
    from community.services import discussion, moderation

    with as_request():
        episode = data.episode(6, "Joel Lehman on open-endedness")
        mod = data.user("mod_mia", role=Role.moderator)
        authors = {name: data.user(name) for name in ("seller", "blunt", "rude", "troll")}
        flaggers = [data.user(f"flagger{i}") for i in range(3)]
        bodies = {
            "seller": "Cheap GPUs at example.com, best prices!!!",
            "blunt": "Novelty search is just random search with extra steps.",
            "rude": "Only an idiot would cite that paper.",
            "troll": "Open-endedness is a cult and you are all in it.",
        }
        posts = {name: discussion.create_post(authors[name], episode=episode, body=body) for name, body in bodies.items()}
        db.session.flush()
        moderation.flag(flaggers[0], posts["seller"], FlagReason.spam)
        for flagger in flaggers:  # three flags: hidden until a moderator looks
            moderation.flag(flagger, posts["blunt"], FlagReason.off_topic)
        moderation.flag(flaggers[1], posts["rude"], FlagReason.unkind)
        moderation.flag(flaggers[2], posts["troll"], FlagReason.unkind)
        db.session.commit()
        ids = {name: post.id for name, post in posts.items()}
        slug = episode.slug
    assert mod.username == "mod_mia"

    page = new_page(js=js)
    errors = watch_errors(page)
    log_in(page, "mod_mia")
    page.goto("/moderation/queue")
    expect(page.get_by_role("heading", level=1)).to_have_text("Moderation queue")
    expect(page.locator(".queue-row")).to_have_count(4)
    expect(page.locator(f"#q{ids['blunt']} .badge-moderation")).to_have_text("hidden")

    decisions = [  # post, action, reason, details, days, what the log calls it
        ("seller", "hide", "Spam", "Advertising", None, "hid"),
        ("blunt", "restore", "Looks fine", "Blunt, but on topic", None, "restored"),
        ("rude", "remove", "Unkind or personal attack", "Name-calling", None, "removed"),
        ("troll", "suspend", "Unkind or personal attack", "Repeated attacks", 3, "suspended author"),
    ]
    for name, action, reason, details, days, label in decisions:
        row = page.locator(f"#q{ids[name]}")
        row.get_by_label("Action").select_option(action)
        row.get_by_label("Reason").select_option(reason)
        row.get_by_label("Details").fill(details)
        if days is not None:
            row.get_by_label("Days (suspend)").fill(str(days))
        row.get_by_role("button", name="Apply").click()
        done = f"Done: {label} post {ids[name]}"
        if js:  # the row turns into a receipt in place; the rest of the queue stays
            expect(row).to_have_class(re.compile(r"\brow-done\b"))
            expect(row.get_by_role("status")).to_contain_text(done)
        else:  # post/redirect/get back to the queue, which no longer lists the post
            expect(page.locator(".flash", has_text=done)).to_be_visible()
            expect(page).to_have_url(re.compile(r"/moderation/queue$"))
            expect(page.locator(f"#q{ids[name]}")).to_have_count(0)
    page.goto("/moderation/queue")
    expect(page.get_by_text("The queue is empty.")).to_be_visible()

    # What readers now see.
    reader = new_page(js=js)
    reader.goto(f"/episodes/{slug}")
    thread = reader.locator("#discussion")
    expect(thread.get_by_text(bodies["blunt"])).to_be_visible()
    for name in ("seller", "rude"):
        expect(thread.get_by_text(bodies[name])).to_have_count(0)

    # The suspended author can read but is told why they cannot post.
    troll = new_page(js=js)
    log_in(troll, "troll")
    expect(troll.locator(".flash-error", has_text="Your account is suspended")).to_contain_text("Repeated attacks")

    # The public log lists each decision with its reason.
    page.goto("/moderation/log")
    for name, action, reason, details, days, label in decisions:
        row = page.locator("table.log tbody tr", has=page.get_by_role("link", name=f"post {ids[name]}", exact=True)) \
            .filter(has_text=label)
        expect(row).to_have_count(1)
        expect(row).to_contain_text("mod_mia")
        expect(row).to_contain_text(f"{reason}: {details}")
        if days:
            expect(row).to_contain_text(f"({days} days)")

    # The dashboard draws its numbers as SVG charts (with a text table for screen readers).
    page.goto("/moderation/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Moderation")
    charts = page.locator("figure.chart svg.bar-chart")
    expect(charts).to_have_count(2)
    expect(page.get_by_role("img", name="Flags per day, last 30 days")).to_be_visible()
    expect(page.get_by_role("img", name="Moderation actions by type")).to_be_visible()
    actions_chart = page.locator("figure.chart", has=page.get_by_role("img", name="Moderation actions by type"))
    expect(actions_chart.locator("rect.bar")).to_have_count(5)  # hide, restore, remove, suspend + the automatic hide
    expect(page.locator(".stat", has_text="open item")).to_contain_text("0 open items")

    assert errors == [], errors
