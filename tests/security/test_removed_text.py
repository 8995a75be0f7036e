"""Removed, hidden, deleted and pending posts: their text reaches no page, feed, API answer,
search result, meta tag or notification, for an anonymous reader or another member.

One post of every kind in every non-public state (plus a visible one of each kind), each
carrying its own token in every text field it has, all put in their state by the real
services. The walk fetches every place a post's text can appear, twice:

1. before moderation, when every post but the pending ones is public: each token must be
   found in each place that shows its kind (the control: the walk can see what it looks for);
2. after the moderators removed or hid, and the authors deleted, theirs: the tokens of
   non-public posts must be found nowhere, the visible ones still where they were.

The first walk also fills the anonymous page cache, so the second one checks that each
moderation step bumps the content versions it should.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest
from flask import url_for
from sqlalchemy import select

from community.extensions import db
from community.models import Person, Post, Role
from community.services import discussion, guests, moderation, papers, questions

KINDS = ("comment", "reply", "answer", "paper", "question", "suggestion")
STATES = ("visible", "removed", "hidden", "deleted", "pending")
VIEWERS = ("anonymous", "member")

# Where the text of a public post of each kind shows (labels of the places walked below).
EVERYWHERE = {"permalink", "history", "child permalink", "author feed", "search", "api.search"}
SHOWN_IN = {
    "comment": EVERYWHERE | {"episode page", "discussion feed", "api.episode_thread"},
    "reply": EVERYWHERE | {"episode page", "parent permalink", "discussion feed", "api.episode_thread"},
    "answer": EVERYWHERE | {"episode page", "parent permalink", "discussion feed", "api.episode_questions"},
    "paper": EVERYWHERE | {"episode page", "paper page", "papers index", "bibtex", "markdown",
                           "api.episode_papers", "api.all_papers"},
    "question": EVERYWHERE | {"episode page", "questions", "answered feed", "api.episode_questions",
                              "api.all_questions"},
    "suggestion": EVERYWHERE | {"suggestions", "api.suggestions"},
}
MEMBER_ONLY = {"flag form"}  # shows the text of the post being flagged


def token(kind: str, state: str) -> str:
    # Ends in a digit, so no stemmer trims it: a prefix search finds it on both engines.
    return f"tok{kind}{state}7"


@dataclass
class Scene:
    episode: object
    users: dict
    posts: dict[tuple[str, str], Post] = field(default_factory=dict)
    parents: dict[tuple[str, str], int] = field(default_factory=dict)
    children: dict[tuple[str, str], int] = field(default_factory=dict)


@pytest.fixture
def scene(app, factories) -> Scene:
    users = {"author": factories.user("ada"), "reader": factories.user("rex"),
             "guest": factories.user("gus"), "moderator": factories.user("mo", role=Role.moderator)}
    episode = factories.episode(1, "Retrieval at scale", guests=[("Gus Guest", "Lab")])
    db.session.scalar(select(Person).where(Person.name == "Gus Guest")).user_id = users["guest"].id
    db.session.commit()
    scene = Scene(episode, users)
    parent = discussion.create_post(users["reader"], episode=episode, body="A neutral parent comment.")
    db.session.commit()
    for number, (kind, state) in enumerate((k, s) for k in KINDS for s in STATES):
        post = _create(app, scene, kind, token(kind, state), number, parent, held=state == "pending")
        db.session.commit()
        assert post.status.value == ("pending" if state == "pending" else "visible")
        # An edit, so that the history holds the token in an earlier revision too.
        discussion.edit_post(post.author, post, post.body_source + " (edited)")
        if state != "pending":  # a visible reply under it, whose permalink shows it as context
            child = discussion.create_post(users["reader"], episode=None, body="A neutral reply.", parent=post)
            scene.children[kind, state] = child.id
        db.session.commit()
        scene.posts[kind, state] = post
        if post.parent_id:
            scene.parents[kind, state] = post.parent_id
    return scene


def _create(app, scene: Scene, kind: str, tok: str, number: int, parent: Post, held: bool) -> Post:
    """The post carrying `tok` in every text field of its kind; `held`: created while
    members' posts wait for a moderator (the real path to "pending")."""
    author, reader, guest = scene.users["author"], scene.users["reader"], scene.users["guest"]
    text = f"{tok} is what @rex should read."  # the mention notifies another member

    def write(create):
        app.config["PREMODERATION_FIRST_POSTS"] = 10**6 if held else 0
        try:
            return create()
        finally:
            app.config["PREMODERATION_FIRST_POSTS"] = 0

    if kind == "comment":
        return write(lambda: discussion.create_post(author, episode=scene.episode, body=text))
    if kind == "reply":
        return write(lambda: discussion.create_post(author, episode=None, body=text, parent=parent))
    if kind == "answer":
        asked = questions.ask(reader, scene.episode, f"A neutral question, number {number}?")
        return write(lambda: questions.answer(guest, asked, text))
    if kind == "paper":
        return write(lambda: papers.submit(author, scene.episode, link=f"2101.{number:05d}", title=f"On {tok}",
                                           note=text).post)
    if kind == "question":
        question = write(lambda: questions.ask(author, scene.episode, text))
        if question.is_live:  # answered, so that it shows in the answered lists and feed
            questions.answer(guest, question, "A neutral answer.")
        return question
    return write(lambda: guests.suggest(author, name=f"Nominee {tok}", affiliation=f"Lab of {tok}", links=[],
                                        why=text, papers=[], disclosure="neither").post)


def _moderate(scene: Scene) -> None:
    moderator = scene.users["moderator"]
    for (kind, state), post in scene.posts.items():
        if state == "removed":
            moderation.act(moderator, post, "remove", "Spam")
        elif state == "hidden":
            moderation.act(moderator, post, "hide", "Off-topic")
        elif state == "deleted":
            discussion.delete_post(post.author, post)
        db.session.commit()


# ---------------------------------------------------------------- the walk

def places(app, scene: Scene, viewer: str) -> list[tuple[str, str]]:
    """(label, URL) of every place a post's text could appear, for this viewer."""
    slug = scene.episode.slug
    found = [
        ("home", "/"), ("episode list", "/episodes/"),
        ("episode page", f"/episodes/{slug}"), ("episode page", f"/episodes/{slug}?sort=newest"),
        ("discussion feed", f"/episodes/{slug}/discussion.atom"), ("episodes feed", "/feeds/episodes.atom"),
        ("answered feed", "/questions/answered.atom"),
        ("papers index", "/papers/"), ("papers index", "/papers/?sort=newest"),
        ("bibtex", f"/episodes/{slug}/papers.bib"), ("markdown", f"/episodes/{slug}/papers.md"),
        ("questions", "/questions/?state=all"), ("questions", "/questions/?state=answered"),
        ("questions", "/questions/"),
        ("suggestions", "/guests/suggestions"), ("suggestions", "/guests/suggestions?sort=newest"),
        ("moderation log", "/moderation/log"),
    ]
    for user in scene.users.values():
        found += [("profile", f"/u/{user.username}"), ("author feed", f"/u/{user.username}/posts.atom")]
    if viewer == "member":  # every page of them: each post mentions the reader
        found += [("notifications", f"/notifications/?page={page}") for page in range(1, 5)]
    for key, post in scene.posts.items():
        found += [("permalink", f"/posts/{post.id}"), ("history", f"/posts/{post.id}/history")]
        if viewer == "member":
            found.append(("flag form", f"/posts/{post.id}/flag"))
        if key in scene.parents:
            found.append(("parent permalink", f"/posts/{scene.parents[key]}"))
        if key in scene.children:
            found.append(("child permalink", f"/posts/{scene.children[key]}"))
        if post.paper_id:
            found.append(("paper page", f"/papers/{post.paper.canonical_id}"))
        # A prefix of the token: a hit shows the whole token, the echoed query does not.
        query = f"{token(*key)[:-1]}*"
        found += [("search", f"/search?q={query}"), ("api.search", f"/api/v1/search?q={query}")]
    return found + api_places(app, scene, {"api.search"})


# Query strings that make an API list show more than its default page.
API_VARIANTS = {"api.all_questions": ["", "?state=all", "?state=answered"]}


def api_places(app, scene: Scene, done: set[str]) -> list[tuple[str, str]]:
    """Every GET rule under /api/v1 from url_map, so that a new route is walked too."""
    found = []
    rules = sorted((r for r in app.url_map.iter_rules() if r.rule.startswith("/api/v1/") and "GET" in r.methods),
                   key=lambda r: r.rule)
    for rule in rules:
        if rule.endpoint in done:
            continue
        values = {}
        for name in rule.arguments:
            if name != "slug":
                pytest.fail(f"{rule.rule} ({rule.endpoint}): no value for <{name}>; teach api_places to build it")
            values[name] = scene.episode.slug
        with app.test_request_context():
            url = url_for(rule.endpoint, **values)
        found += [(rule.endpoint, url + suffix) for suffix in API_VARIANTS.get(rule.endpoint, [""])]
    assert len(found) >= 8, "the API walk lost its routes"
    return found


def walk(app, client, scene: Scene, viewer: str) -> dict[str, set[str]]:
    """token -> the labels of the places whose answer contains it."""
    tokens = {token(kind, state) for kind in KINDS for state in STATES}
    seen: dict[str, set[str]] = {t: set() for t in tokens}
    for label, url in places(app, scene, viewer):
        response = client.get(url)
        assert response.status_code < 500, f"{viewer} {url}: {response.status_code}"
        assert response.status_code in (200, 404), f"{viewer} {url}: {response.status_code}"
        body = response.get_data(as_text=True)
        for t in tokens:
            if t in body:
                seen[t].add(label)
    return seen


def expected(kind: str, viewer: str) -> set[str]:
    return SHOWN_IN[kind] | (MEMBER_ONLY if viewer == "member" else set())


def _clients(app, login, scene: Scene) -> dict:
    return {"anonymous": app.test_client(), "member": login(scene.users["reader"], the_client=app.test_client())}


def test_text_of_non_public_posts_shows_nowhere(app, scene, login):
    clients = _clients(app, login, scene)
    # The reader was told of every public post (a reply to them or a mention), so the walk
    # of their notifications has something to look at.
    told = sum(clients["member"].get(f"/notifications/?page={page}").get_data(as_text=True).count(phrase)
               for page in range(1, 5) for phrase in ("replied to your post", "mentioned you"))
    assert told >= len(KINDS) * (len(STATES) - 1)
    leaks, missing = {}, {}
    for viewer in VIEWERS:  # before moderation: only the pending posts are not public
        seen = walk(app, clients[viewer], scene, viewer)
        for kind in KINDS:
            if seen[token(kind, "pending")]:
                leaks[viewer, "pending", kind] = sorted(seen[token(kind, "pending")])
            for state in STATES[:-1]:  # the control: public still, so shown wherever its kind is
                if expected(kind, viewer) - seen[token(kind, state)]:
                    missing[viewer, state, kind] = sorted(expected(kind, viewer) - seen[token(kind, state)])
    assert (leaks, missing) == ({}, {}), f"before moderation: text of pending posts in {leaks}; " \
                                         f"the walk misses public text in {missing}"

    _moderate(scene)
    for viewer in VIEWERS:
        seen = walk(app, clients[viewer], scene, viewer)
        for kind in KINDS:
            for state in STATES[1:]:
                if seen[token(kind, state)]:
                    leaks[viewer, state, kind] = sorted(seen[token(kind, state)])
            if expected(kind, viewer) - seen[token(kind, "visible")]:
                missing[viewer, "visible", kind] = sorted(expected(kind, viewer) - seen[token(kind, "visible")])
    assert leaks == {}, f"text that is not public, by (viewer, state, kind): {leaks}"
    assert missing == {}, f"the visible posts no longer show in {missing}"


def test_meta_description_of_a_removed_post_is_neutral(app, scene, login):
    """The permalink of a tombstone stays (its replies hang on it), with a description that
    link previews and search snippets may show."""
    _moderate(scene)
    for viewer, client in _clients(app, login, scene).items():
        for state in ("removed", "deleted"):
            for kind in KINDS:
                html = client.get(f"/posts/{scene.posts[kind, state].id}").get_data(as_text=True)
                head = html.split("</head>")[0]
                assert f'<meta name="description" content="This post was {state}.' in head, (viewer, kind, state)
                assert token(kind, state) not in head
