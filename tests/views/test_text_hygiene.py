"""Control characters: stripped from every text field at the door, and never able to break
an Atom feed, even when they are already in the database (issue 15, item 6)."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import defusedxml.ElementTree as SafeET
import pytest
from flask_wtf import FlaskForm
from sqlalchemy import select

import community.forms
from community import markup
from community.extensions import db
from community.feed_parser import parse_feed_bytes
from community.forms import Form
from community.forms.accounts import RegisterForm
from community.models import Person, Post, User
from community.services import questions
from community.text import strip_controls, xml_safe

CONTROLS = "\x0c\x1b\x07\x01\x1f\x0b"
ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture
def episode(factories):
    return factories.episode(1, "Retrieval at scale", guests=[("Gus Guest", "Lab")])


def atom(client, url: str):
    """The feed answers 200 with XML a strict parser reads."""
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return SafeET.fromstring(response.data)


# ---------------------------------------------------------------- the character rules

def test_strip_controls_keeps_tab_and_newline_and_folds_line_ends():
    assert strip_controls("a\x0cb\x1bc\x07d\x00e") == "abcde"
    assert strip_controls("one\r\ntwo\rthree\nfour\tfive") == "one\ntwo\nthree\nfour\tfive"
    assert strip_controls("ümlaut ∑ 🙂 \x7f") == "ümlaut ∑ 🙂 \x7f"  # only C0 goes


def test_xml_safe_drops_everything_xml_refuses():
    assert xml_safe("a\x0cb\x00c\ufffed\uffffe\ud800f") == "abcdef"
    assert xml_safe("tab\tlf\ncr\r ∑ 🙂 \ue000 \ufffd") == "tab\tlf\ncr\r ∑ 🙂 \ue000 \ufffd"


# ---------------------------------------------------------------- at the door

def test_every_form_derives_from_the_hygienic_base():
    forms = []
    for module in pkgutil.iter_modules(community.forms.__path__):
        loaded = importlib.import_module(f"community.forms.{module.name}")
        forms += [cls for _, cls in inspect.getmembers(loaded, inspect.isclass)
                  if issubclass(cls, FlaskForm) and cls.__module__ == loaded.__name__]
    assert len(forms) >= 15
    assert [cls.__name__ for cls in forms if not issubclass(cls, Form)] == []


def test_text_fields_are_cleaned_and_passwords_kept_as_typed(app):
    data = {"username": "ada\x1b_l", "email": "ada@example.org\x0c", "password": "pass\x0cword\x07 long enough",
            "confirm": "pass\x0cword\x07 long enough"}
    with app.test_request_context(method="POST", data=data):
        form = RegisterForm(meta={"csrf": False})
        assert form.username.data == "ada_l" and form.email.data == "ada@example.org"
        assert form.password.data == data["password"] and form.confirm.data == data["confirm"]


def test_a_comment_is_stored_without_control_characters(app, client, factories, login, episode):
    login(factories.user("ada"))
    response = client.post(f"/episodes/{episode.slug}/comments",
                           data={"body": "Form\x0cfeed, escape\x1b[31m, bell\x07.\r\nNext line."})
    assert response.status_code == 302
    post = db.session.scalar(select(Post))
    assert post.body_source == "Formfeed, escape[31m, bell.\nNext line."
    assert not set(CONTROLS + "\r") & set(post.body_html)
    assert "Formfeed" in atom(client, f"/episodes/{episode.slug}/discussion.atom").find(f"{ATOM}entry").findtext(
        f"{ATOM}content")


def test_display_name_and_bio_are_stored_stripped(app, client, factories, login):
    ada = factories.user("ada")
    login(ada)
    response = client.post("/settings/profile", data={"display_name": "Ada\x0c Lovelace\x1b", "affiliation": "Lab\x07",
                                                      "bio": "Analytical\x0c engine.\r\n\r\nNotes\x1b.", "links": ""})
    assert response.status_code == 302
    db.session.expire_all()
    user = db.session.get(User, ada.id)
    assert (user.display_name, user.affiliation) == ("Ada Lovelace", "Lab")
    assert user.bio_source == "Analytical engine.\n\nNotes."


def test_the_feed_importer_strips_them_too():
    # XML itself cannot hold them (the feed would be refused as malformed); escaped text can.
    rss = (b"<?xml version='1.0'?><rss version='2.0'><channel><title>Show&amp;#12;</title><item>"
           b"<title>Episode&amp;#27; one</title><guid>e1</guid>"
           b"<description>&lt;p&gt;Notes&amp;#7; here.&lt;/p&gt;&amp;#x1b;</description></item></channel></rss>")
    feed = parse_feed_bytes(rss)
    (item,) = feed.items
    assert (feed.title, item.title, item.summary) == ("Show", "Episode one", "Notes here.")


# ---------------------------------------------------------------- feeds and stored data

def test_a_character_reference_typed_in_a_comment_does_not_break_the_feed(client, factories, login, episode):
    """`&#7;` passes the form as plain characters and comes out of the renderer as a real
    BEL: the feed has to cope with what is stored, whatever the door let through."""
    login(factories.user("ada"))
    assert client.post(f"/episodes/{episode.slug}/comments", data={"body": "Ring &#7; the bell."}).status_code == 302
    content = atom(client, f"/episodes/{episode.slug}/discussion.atom").find(f"{ATOM}entry").findtext(f"{ATOM}content")
    assert "Ring" in content and "\x07" not in content


def test_feeds_stay_well_formed_with_control_characters_already_stored(app, client, factories, episode):
    """Rows written before the forms cleaned input (or by hand): the feeds answer 200 with
    XML, the offending characters dropped, the rest of the text kept."""
    ada, gus = factories.user("ada"), factories.user("gus")
    db.session.scalar(select(Person).where(Person.name == "Gus Guest")).user_id = gus.id
    comment = factories.comment(ada, episode, body="Fine at first.")
    question = questions.ask(ada, episode, "Also fine?")
    questions.answer(gus, question, "Yes.")
    db.session.commit()
    dirty = "Form\x0cfeed \x1bescape \x07bell \ufffe"
    for post in (comment, question):
        post.body_source, post.body_html = dirty, markup.render("x").replace("x", dirty)
    ada.display_name = "Ada\x0c"
    episode.title, episode.summary = "Retrieval\x0c at scale", "A summary\x1b."
    episode.show_notes_html = "<p>Notes\x07</p>"
    db.session.commit()

    discussion_feed = atom(client, f"/episodes/{episode.slug}/discussion.atom")
    texts = [e.findtext(f"{ATOM}content") for e in discussion_feed.iter(f"{ATOM}entry")]
    assert any("Formfeed escape bell" in t for t in texts)
    assert "Ada" in [name.text for name in discussion_feed.iter(f"{ATOM}name")]
    author_feed = atom(client, "/u/ada/posts.atom")
    assert len(author_feed.findall(f"{ATOM}entry")) == 2
    answered = atom(client, "/questions/answered.atom")
    assert "Formfeed escape bell" in answered.find(f"{ATOM}entry").findtext(f"{ATOM}content")
    episodes_feed = atom(client, "/feeds/episodes.atom")
    entry = episodes_feed.find(f"{ATOM}entry")
    assert (entry.findtext(f"{ATOM}title"), entry.findtext(f"{ATOM}summary")) == ("#1 Retrieval at scale", "A summary.")
    assert entry.findtext(f"{ATOM}content") == "<p>Notes</p>"
    assert not set(CONTROLS + "\ufffe") & set(b"".join(
        client.get(url).data for url in (f"/episodes/{episode.slug}/discussion.atom", "/u/ada/posts.atom",
                                         "/questions/answered.atom", "/feeds/episodes.atom")).decode())


def test_character_references_to_control_characters_do_not_come_back_as_characters():
    """nh3 decodes `&#7;`: the rendered HTML must not carry what the form's door strips."""
    from community import markup

    for source in ("bell &#7; here &#x0c; there", "- " * 40 + "&#x1b;"):
        html = markup.render(source)
        assert not any(ord(ch) < 32 and ch not in "\t\n" for ch in html), repr(html)
    assert "\x1b" not in markup.render_feed_html("<p>a&#x1b;b</p>")
