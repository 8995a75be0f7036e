"""Spam (issue 16): the honeypot field of sign-up, profile and every compose form, and the
cap on links in posts by accounts younger than NEW_ACCOUNT_HOURS. Through the real routes;
"nothing written" is checked in the database, table by table."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from community.extensions import db
from community.models import Post, Role, User
from community.models.base import utcnow
from tests.conftest import text_of
from tests.security.world import snapshot, written

PASSPHRASE = "a long and unusual passphrase"
SPAM = "https://cheap-pills.example/buy"


@pytest.fixture
def app_config():
    return {"RATELIMIT_ENABLED": False}  # many posts in a row from one account, on purpose


@pytest.fixture
def scene(app, factories):
    episode = factories.episode(1, "Kelvin Guu on retrieval")
    author = factories.user("ada_l")
    comment = factories.comment(author, episode, body="Retrieval beats memorisation.")
    return {"episode": episode, "author": author, "comment": comment}


def browser_for(app, login, user):
    return login(user, the_client=app.test_client())


# What each form sends when a person fills it in; (url, data, who posts: "anonymous" or "author").
def forms(scene) -> dict[str, tuple[str, dict, str]]:
    slug, comment = scene["episode"].slug, scene["comment"]
    return {
        "sign-up": ("/auth/register", {"username": "newcomer", "email": "newcomer@example.org",
                                       "password": PASSPHRASE, "confirm": PASSPHRASE}, "anonymous"),
        "profile": ("/settings/profile", {"display_name": "Ada Lovelace", "affiliation": "Analytical Engines",
                                          "bio": "Notes on the engine.", "links": ""}, "author"),
        "comment": (f"/episodes/{slug}/comments", {"body": "A fresh comment."}, "author"),
        "reply": (f"/posts/{comment.id}/reply", {"body": "A reply to myself."}, "author"),
        "edit": (f"/posts/{comment.id}/edit", {"body": "Retrieval beats memorisation, mostly."}, "author"),
        "paper": (f"/episodes/{slug}/papers", {"link": "2005.11401", "title": "Retrieval-Augmented Generation",
                                               "moment": "", "note": ""}, "author"),
        "question": (f"/episodes/{slug}/questions", {"body": "How was the retriever trained?"}, "author"),
        "suggestion": ("/guests/suggestions/new", {"name": "Chelsea Finn", "affiliation": "Stanford", "links": "",
                                                   "why": "Meta-learning and robots.", "papers": "",
                                                   "disclosure": "neither"}, "author"),
    }


FORM_NAMES = ["sign-up", "profile", "comment", "reply", "edit", "paper", "question", "suggestion"]


@pytest.mark.parametrize("name", FORM_NAMES)
def test_a_filled_honeypot_is_refused_and_nothing_is_written(app, scene, login, name):
    url, data, who = forms(scene)[name]
    browser = app.test_client() if who == "anonymous" else browser_for(app, login, scene["author"])
    before = snapshot()
    response = browser.post(url, data=data | {"website": SPAM})
    after = snapshot()
    assert 400 <= response.status_code < 500, (name, response.status_code)
    assert not written(before, after), f"{name}: refused but wrote {written(before, after)}"
    assert "never see was filled in" in text_of(response)  # said where a person would see it


@pytest.mark.parametrize("name", FORM_NAMES)
def test_the_same_forms_without_the_honeypot_go_through(app, scene, login, name):
    """The control: the data above is a valid submission; only the trap made it fail."""
    url, data, who = forms(scene)[name]
    browser = app.test_client() if who == "anonymous" else browser_for(app, login, scene["author"])
    before = snapshot()
    response = browser.post(url, data=data | {"website": ""})
    assert response.status_code == 302, (name, response.status_code, text_of(response)[:500])
    assert written(before, snapshot())


def _honeypots(html: str) -> list[str]:
    return re.findall(r'<div class="hp" aria-hidden="true">.*?</div>', html, flags=re.S)


def test_every_compose_page_carries_the_honeypot_hidden_from_people(app, scene, login, factories):
    author = browser_for(app, login, scene["author"])
    slug, comment = scene["episode"].slug, scene["comment"]
    pages = {
        "/auth/register": (app.test_client(), 1),
        "/settings/profile": (author, 1),
        f"/episodes/{slug}": (author, 3),  # paper, question, comment
        f"/posts/{comment.id}": (author, 1),  # reply
        f"/posts/{comment.id}/edit": (author, 1),
        "/guests/suggestions/new": (author, 1),
    }
    for url, (browser, expected) in pages.items():
        html = browser.get(url).get_data(as_text=True)
        traps = _honeypots(html)
        assert len(traps) == expected, (url, traps)
        ids = set()
        for trap in traps:
            field = re.search(r"<input[^>]*>", trap)[0]
            assert 'name="website"' in field and 'tabindex="-1"' in field and 'autocomplete="off"' in field, field
            assert "style=" not in trap  # the CSP allows no inline style: site.css hides it
            label = re.search(r'<label for="([^"]+)">Leave this field empty</label>', trap)
            assert label and f'id="{label[1]}"' in field
            ids.add(label[1])
        assert len(ids) == len(traps), f"{url}: ids must be unique on the page"
    css = app.test_client().get("/static/css/site.css").get_data(as_text=True)
    assert re.search(r"\.hp \{[^}]*left: -10000px", css)


# --------------------------------------------------------------------------- link cap

def links(n: int) -> str:
    """n links, one of each Markdown form in turn: bare URL, [text](url), <url>."""
    forms_ = ["see https://a{i}.example/x", "[paper {i}](https://b{i}.example/y)", "<https://c{i}.example/z>"]
    return "Spam or not:\n\n" + "\n\n".join(forms_[i % 3].format(i=i) for i in range(n))


def post_count() -> int:
    return db.session.scalar(select(func.count(Post.id)))


@pytest.fixture
def young(factories):
    return factories.user("newbie_nora", created_at=utcnow() - timedelta(hours=1))


def test_a_young_account_may_post_two_links_but_not_three(app, scene, login, young):
    browser = browser_for(app, login, young)
    url = f"/episodes/{scene['episode'].slug}/comments"
    before = post_count()
    body = links(3)
    response = browser.post(url, data={"body": body})
    assert response.status_code == 422
    text = text_of(response)
    until = young.created_at + timedelta(hours=app.config["NEW_ACCOUNT_HOURS"])
    assert "New accounts may include at most 2 links per post until" in text
    assert until.strftime("%H:%M UTC") in text and ("today" in text or "tomorrow" in text)
    assert "this one has 3" in text
    assert post_count() == before
    # What was typed stays in the form, to be trimmed rather than retyped.
    assert "https://c2.example/z" in response.get_data(as_text=True).split('id="comment-body"', 1)[1][:2000]
    assert browser.post(url, data={"body": links(2)}).status_code == 302
    assert post_count() == before + 1


def test_the_cap_counts_every_markdown_link_form_and_not_mentions_or_code(app, scene, login, young):
    browser = browser_for(app, login, young)
    url = f"/episodes/{scene['episode'].slug}/comments"
    three = "https://x.example and [y](https://y.example) and <https://z.example>"
    assert browser.post(url, data={"body": three}).status_code == 422
    harmless = ("@ada_l said `https://code.example` twice:\n\n    https://block.example\n\n"
                "and [one](https://one.example) [two](https://two.example)")
    assert browser.post(url, data={"body": harmless}).status_code == 302


def test_an_account_past_new_account_hours_has_no_cap(app, scene, login, factories):
    old = factories.user("old_olga", created_at=utcnow() - timedelta(hours=25))
    response = browser_for(app, login, old).post(f"/episodes/{scene['episode'].slug}/comments",
                                                 data={"body": links(6)})
    assert response.status_code == 302


def test_vouched_roles_have_no_cap_even_when_young(app, scene, login, factories):
    researcher = factories.user("young_rita", role=Role.researcher, created_at=utcnow() - timedelta(hours=1))
    response = browser_for(app, login, researcher).post(f"/episodes/{scene['episode'].slug}/comments",
                                                        data={"body": links(4)})
    assert response.status_code == 302


def test_the_cap_holds_for_replies_edits_questions_and_suggestions(app, scene, login, factories, young):
    browser = browser_for(app, login, young)
    own = factories.comment(young, scene["episode"], body="Short and link-free.")
    slug, comment = scene["episode"].slug, scene["comment"]
    attempts = {
        f"/posts/{comment.id}/reply": {"body": links(3)},
        f"/posts/{own.id}/edit": {"body": links(3)},
        f"/episodes/{slug}/questions": {"body": links(3)},
        "/guests/suggestions/new": {"name": "Chelsea Finn", "why": links(3), "disclosure": "neither"},
    }
    for url, data in attempts.items():
        before = snapshot()
        response = browser.post(url, data=data)
        assert response.status_code == 422, url
        assert "at most 2 links per post" in text_of(response), url
        assert not written(before, snapshot()), url
    db.session.expire_all()
    assert db.session.get(Post, own.id).body_source == "Short and link-free."


def test_a_papers_own_link_does_not_count_but_its_note_does(app, scene, login, young):
    browser = browser_for(app, login, young)
    url = f"/episodes/{scene['episode'].slug}/papers"
    paper = {"link": "https://arxiv.org/abs/2005.11401", "title": "Retrieval-Augmented Generation", "moment": ""}
    refused = browser.post(url, data=paper | {"note": links(3)})
    assert refused.status_code == 422 and "at most 2 links per post" in text_of(refused)
    assert browser.post(url, data=paper | {"note": links(2)}).status_code == 302


def test_the_limit_and_the_hours_come_from_the_config(app, scene, login, young):
    app.config["NEW_ACCOUNT_MAX_LINKS"] = 0
    browser = browser_for(app, login, young)
    url = f"/episodes/{scene['episode'].slug}/comments"
    response = browser.post(url, data={"body": links(1)})
    assert response.status_code == 422 and "New accounts may not include links in posts until" in text_of(response)
    app.config["NEW_ACCOUNT_HOURS"] = 1 / 60  # a minute: the account (an hour old) is grown up
    assert browser.post(url, data={"body": links(5)}).status_code == 302


def test_a_moderator_editing_a_young_members_post_is_not_capped(app, scene, login, factories, young):
    own = factories.comment(young, scene["episode"], body="Short and link-free.")
    moderator = browser_for(app, login, factories.user("mod_mia", role=Role.moderator))
    assert moderator.post(f"/posts/{own.id}/edit", data={"body": links(4)}).status_code == 302
    assert db.session.scalar(select(User.id).where(User.username == "newbie_nora")) == young.id
