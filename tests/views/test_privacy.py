"""Users who own their data: the export (one ZIP of everything they wrote and did, nothing
of anyone else's) and account deletion (posts kept under "[deleted user]" or removed)."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from community.extensions import db
from community.models import (
    Flag, FlagReason, Follow, ModerationAction, Notification, NotificationKind, Person, Post, PostKind, PostStatus,
    Revision, Role, ThreadVisit, User, UserSession, Vote,
)
from community.models.base import utcnow
from community.services import accounts, discussion, episodes, guests, moderation, papers, questions
from community.services.privacy import DELETED_NAME
from tests.conftest import text_of
from tests.factories import Factories
from tests.security.world import snapshot, written

ADA_TEXT = "Retrieval is memory with an index"
ADA_FIRST_DRAFT = "Retrieval is just memory"
BOB_TEXT = "Bob's top comment about sparse attention"
BOB_REPLY = "Bob's reply about nearest neighbours"
ADA_REMOVED_TEXT = "Ada's rant the moderators removed"
MOD_NOTE = "Removed for tone, please rephrase"


def client_for(app, user, agent: str = "Firefox/128.0"):
    client = app.test_client()
    client.environ_base.update(HTTP_USER_AGENT=agent, REMOTE_ADDR="203.0.113.9")
    assert client.post("/auth/login", data={"login": user.username, "password": Factories.PASSWORD}).status_code == 302
    return client


def logged_in(client) -> bool:
    return client.get("/settings/profile").status_code == 200


@pytest.fixture
def scene(app, factories):
    """Ada and Bob, who reply to, vote on, flag and mention each other; a moderator who
    removed one of Ada's posts; a guest Ada follows. Ada writes every kind of post."""
    ada = factories.user("ada", email="ada.private@example.org", display_name="Ada Lovelace",
                         affiliation="Analytical Engines Lab", bio_source="I like *engines*.",
                         role=Role.researcher)
    ada.links, ada.email_prefs = ["https://ada.example/"], {"reply": "daily"}
    bob = factories.user("bob", email="bob.secret@example.org", display_name="Bob Babbage")
    marta = factories.user("mod_marta", role=Role.moderator, email="marta@example.org")
    episode = factories.episode(7, "Kelvin Guu on retrieval", guests=[("Kelvin Guu", "Google AI")])
    kelvin = db.session.scalar(select(Person).where(Person.name == "Kelvin Guu"))

    mine = factories.comment(ada, episode, body=ADA_FIRST_DRAFT)
    discussion.edit_post(ada, mine, ADA_TEXT)  # a revision
    theirs = factories.comment(bob, episode, body=BOB_TEXT)
    bob_reply = factories.comment(bob, episode, parent=mine, body=f"{BOB_REPLY}, @ada")
    ada_reply = factories.comment(ada, episode, parent=theirs, body="Ada's answer to Bob")
    removed = factories.comment(ada, episode, body=ADA_REMOVED_TEXT)
    question = questions.ask(ada, episode, "How is the retriever trained without labels?")
    paper = papers.submit(ada, episode, link="2005.11401", title="Retrieval-Augmented Generation",
                          note="Ada's note on RAG").post
    suggestion = guests.suggest(ada, name="Chelsea Finn", affiliation="Stanford", links=[],
                                why="Ada thinks meta-learning matters.", papers=[], disclosure="neither").post
    discussion.set_vote(ada, theirs, up=True)
    discussion.set_vote(bob, mine, up=True)
    moderation.flag(ada, theirs, FlagReason.other, "needs a source")
    moderation.flag(bob, ada_reply, FlagReason.off_topic)
    episodes.follow(ada, kelvin, True)
    action = moderation.act(marta, removed, "remove", MOD_NOTE)
    discussion.mark_visit(ada, episode)
    db.session.commit()
    return dict(ada=ada, bob=bob, marta=marta, episode=episode, kelvin=kelvin, mine=mine, theirs=theirs,
                bob_reply=bob_reply, ada_reply=ada_reply, removed=removed, question=question, paper=paper,
                suggestion=suggestion, action=action)


def fresh(model, id_):
    db.session.expire_all()
    return db.session.get(model, id_)


# ---------------------------------------------------------------- export


def download(client) -> tuple[zipfile.ZipFile, bytes]:
    response = client.post("/settings/export")
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.mimetype == "application/zip"
    assert response.headers["Content-Disposition"].startswith("attachment; filename=gi-community-ada-")
    assert response.headers["Cache-Control"] == "private, no-store"
    raw = response.get_data()
    archive = zipfile.ZipFile(io.BytesIO(raw))
    assert archive.testzip() is None
    everything = b"".join(archive.read(name) for name in archive.namelist())
    return archive, everything


def test_the_export_page_explains_and_needs_login(app, client, scene):
    assert client.get("/settings/export").status_code == 302
    assert client.post("/settings/export").status_code == 302  # to the login page, nothing sent
    ada = client_for(app, scene["ada"])
    page = ada.get("/settings/export")
    assert page.status_code == 200 and page.headers["Cache-Control"] == "private, no-store"
    text = text_of(page)
    assert "account.json" in text and "posts.json" in text and "Download my data (ZIP)" in text
    assert 'href="/settings/export" aria-current="page"' in page.get_data(as_text=True)
    assert 'href="/settings/delete"' in page.get_data(as_text=True)


def test_the_export_holds_everything_of_the_user_checked_against_the_database(app, scene):
    ada_client = client_for(app, scene["ada"], agent="Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0")
    client_for(app, scene["ada"], agent="Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) Safari/604.1")
    archive, _ = download(ada_client)
    names = archive.namelist()
    assert {"README.txt", "account.json", "posts.json"} <= set(names)
    account = json.loads(archive.read("account.json"))
    posts = json.loads(archive.read("posts.json"))
    ada = fresh(User, scene["ada"].id)

    profile = account["profile"]
    assert (profile["id"], profile["username"], profile["email"], profile["display_name"], profile["affiliation"],
            profile["bio_source"], profile["links"], profile["role"]) == (
        ada.id, "ada", "ada.private@example.org", "Ada Lovelace", "Analytical Engines Lab", "I like *engines*.",
        ["https://ada.example/"], "researcher")
    assert profile["created_at"] == ada.created_at.isoformat()
    assert account["email_notifications"]["reply"] == "daily"  # her choice
    assert account["email_notifications"]["mention"] == "immediately"  # the default she left

    rows = db.session.scalars(select(UserSession).where(UserSession.user_id == ada.id).order_by(UserSession.id)).all()
    assert [(s["device"], s["network"], s["created_at"], s["last_seen_at"]) for s in account["sessions"]] == [
        ("Firefox on Linux", "203.0.113.0/24", r.created_at.isoformat(), r.last_seen_at.isoformat()) if i == 0 else
        ("Safari on iPhone", "203.0.113.0/24", r.created_at.isoformat(), r.last_seen_at.isoformat())
        for i, r in enumerate(rows)]

    votes = db.session.scalars(select(Vote).where(Vote.user_id == ada.id).order_by(Vote.id)).all()
    assert [(v["post_id"], v["post_url"]) for v in account["votes"]] == [
        (v.post_id, f"http://localhost/posts/{v.post_id}") for v in votes]
    assert scene["theirs"].id in {v["post_id"] for v in account["votes"]}  # and her paper's own vote

    flag = db.session.scalar(select(Flag).where(Flag.user_id == ada.id))
    assert account["flags"] == [{"post_id": scene["theirs"].id, "post_url": f"http://localhost/posts/{scene['theirs'].id}",
                                 "reason": "other", "note": "needs a source", "created_at": flag.created_at.isoformat(),
                                 "resolved_at": None}]
    assert [(f["person_id"], f["name"]) for f in account["follows"]] == [(scene["kelvin"].id, "Kelvin Guu")]
    assert [v["episode"] for v in account["thread_visits"]] == [scene["episode"].slug]

    notes = db.session.scalars(select(Notification).where(Notification.user_id == ada.id).order_by(Notification.id)).all()
    assert [(n["kind"], n["post_id"]) for n in account["notifications"]] == [(n.kind.value, n.post_id) for n in notes]
    reply = next(n for n in account["notifications"] if n["kind"] == "reply")
    assert reply["post_id"] == scene["bob_reply"].id and reply["message"] is None  # Bob's words stay Bob's
    outcome = next(n for n in account["notifications"] if n["kind"] == "moderation")
    assert MOD_NOTE in outcome["message"]
    assert account["moderation_actions_about_you"] == [{
        "action": "remove", "post_id": scene["removed"].id, "post_url": f"http://localhost/posts/{scene['removed'].id}",
        "reason": MOD_NOTE, "created_at": scene["action"].created_at.isoformat()}]
    assert account["moderation_actions_taken"] == []

    # Every post of every kind and status, field by field.
    db_posts = db.session.scalars(select(Post).where(Post.author_id == ada.id).order_by(Post.id)).all()
    assert [p["id"] for p in posts] == [p.id for p in db_posts]
    assert {p["kind"] for p in posts} == {"comment", "question", "paper", "suggestion"}
    for record, post in zip(posts, db_posts):
        assert record["kind"] == post.kind.value and record["status"] == post.status.value
        assert record["body_source"] == post.body_source and record["body_html"] == post.body_html
        assert record["created_at"] == post.created_at.isoformat()
        assert record["edited_at"] == (post.edited_at.isoformat() if post.edited_at else None)
        slug = scene["episode"].slug if post.episode_id else None  # a guest suggestion has no episode
        assert (record["episode"] or {}).get("slug") == slug
        assert record["url"] == f"http://localhost/posts/{post.id}"
        assert (record["parent"] or {}).get("id") == post.parent_id
        assert (record["title"], record["details"], record["score"]) == (post.title, post.details, post.score)
        assert "flag_count" not in record and "flag_weight" not in record  # other readers' flags
        md = archive.read(f"posts/{post.id:07d}-{post.kind.value}.md").decode()
        assert md.startswith("---\n") and f'kind: "{post.kind.value}"' in md and f'status: "{post.status.value}"' in md
        assert f'url: "http://localhost/posts/{post.id}"' in md and f"episode: {json.dumps(slug)}" in md
        assert md.rstrip().endswith(post.body_source.rstrip()) if post.body_source else True
    by_id = {p["id"]: p for p in posts}
    assert by_id[scene["mine"].id]["revisions"] == [{
        "created_at": db.session.scalar(select(Revision.created_at).where(Revision.post_id == scene["mine"].id)).isoformat(),
        "body_source": ADA_FIRST_DRAFT, "edited_by": "you"}]
    assert by_id[scene["removed"].id]["status"] == "removed" and by_id[scene["removed"].id]["status_reason"] == MOD_NOTE
    assert by_id[scene["ada_reply"].id]["parent"] == {"id": scene["theirs"].id,
                                                      "url": f"http://localhost/posts/{scene['theirs'].id}"}
    assert by_id[scene["paper"].id]["paper"]["canonical_id"] == "arxiv:2005.11401"
    assert by_id[scene["suggestion"].id]["title"] == "Chelsea Finn"
    assert len([n for n in names if n.startswith("posts/")]) == len(db_posts)


def test_the_export_holds_nothing_of_anyone_else(app, scene):
    _, everything = download(client_for(app, scene["ada"]))
    text = everything.decode()
    for foreign in ("bob.secret@example.org", BOB_TEXT, BOB_REPLY, "marta@example.org", "mod_marta",
                    "Bob Babbage"):
        assert foreign not in text, foreign
    # Bob's own export, for symmetry: none of Ada's text or address.
    bob_archive = client_for(app, scene["bob"]).post("/settings/export")
    bob_text = b"".join(zipfile.ZipFile(io.BytesIO(bob_archive.get_data())).read(n)
                        for n in zipfile.ZipFile(io.BytesIO(bob_archive.get_data())).namelist()).decode()
    for foreign in ("ada.private@example.org", ADA_TEXT, ADA_FIRST_DRAFT, "Ada's answer to Bob", "needs a source"):
        assert foreign not in bob_text, foreign
    assert BOB_TEXT in bob_text


def test_the_export_needs_a_csrf_token(app, scene):
    ada = client_for(app, scene["ada"])
    response = ada.post("/settings/export", csrf=False)
    assert response.status_code == 400 and response.mimetype != "application/zip"


# ---------------------------------------------------------------- deletion


def delete(client, posts: str, password: str = Factories.PASSWORD):
    return client.post("/settings/delete", data={"password": password, "posts": posts})


def assert_profile_erased(user_id: int):
    user = fresh(User, user_id)
    assert user.deleted_at is not None and utcnow() - user.deleted_at < timedelta(minutes=1)
    assert (user.username, user.display_name, user.affiliation, user.bio_source, user.bio_html, user.links) == (
        DELETED_NAME, DELETED_NAME, "", "", "", [])
    assert user.username_key == f"deleted/{user_id}"
    assert user.email == user.email_key == f"deleted-{user_id}@deleted.invalid"
    assert set(user.email_prefs.values()) == {"none"} and len(user.email_prefs) == len(NotificationKind)
    assert user.role == Role.member
    assert not user.password_hash.startswith("$argon2")
    assert db.session.scalar(select(func.count()).select_from(UserSession).where(UserSession.user_id == user_id)) == 0
    for model in (Notification, Follow, ThreadVisit):
        assert db.session.scalar(select(func.count()).select_from(model).where(model.user_id == user_id)) == 0, model
    assert db.session.scalar(select(Person.user_id).where(Person.user_id == user_id)) is None
    return user


def test_the_delete_page_explains_and_asks_for_the_password(app, client, scene):
    assert client.get("/settings/delete").status_code == 302
    page = client_for(app, scene["ada"]).get("/settings/delete")
    assert page.status_code == 200 and page.headers["Cache-Control"] == "private, no-store"
    text = text_of(page)
    assert "cannot be undone" in text and "Current password" in text
    assert "Keep my posts" in text and "Remove my posts" in text


def test_deleting_and_keeping_the_posts(app, scene):
    ada_id, episode, marta = scene["ada"].id, scene["episode"], scene["marta"]
    # She changed her display name after replying to Bob: his notification has the old one.
    ada = fresh(User, ada_id)
    ada.display_name = "Countess Ada"
    db.session.commit()
    # Another browser of Ada's, and an anonymous reader who has the episode page cached.
    phone = client_for(app, scene["ada"], agent="Safari/604.1")
    laptop = client_for(app, scene["ada"])
    reader = app.test_client()
    url = f"/episodes/{episode.slug}"
    assert "Countess Ada" in text_of(reader.get(url))
    assert reader.get(url).headers["X-Cache"] == "hit"
    assert 'href="/u/ada"' in fresh(Post, scene["bob_reply"].id).body_html  # Bob's @ada links to her profile
    scores = {p.id: p.score for p in db.session.scalars(select(Post))}
    votes_before = db.session.scalar(select(func.count(Vote.id)))

    response = delete(laptop, "keep")
    assert response.status_code == 302 and response.headers["Location"] == "/"
    assert "Your account is deleted" in text_of(laptop.get("/"))
    assert not logged_in(laptop) and not logged_in(phone)  # every session ended at once

    assert_profile_erased(ada_id)
    # Posts stay, text and all, under the placeholder; replies, votes and scores unchanged.
    mine = fresh(Post, scene["mine"].id)
    assert mine.author_id == ada_id and mine.body_source == ADA_TEXT and mine.status == PostStatus.visible
    assert db.session.scalar(select(func.count(Revision.id)).where(Revision.post_id == mine.id)) == 1
    assert {p.id: p.score for p in db.session.scalars(select(Post))} == scores
    assert db.session.scalar(select(func.count(Vote.id))) == votes_before
    flag = db.session.scalar(select(Flag).where(Flag.post_id == scene["theirs"].id))
    assert flag.user_id == ada_id and flag.note == "needs a source"  # still weighs, under no name

    # The anonymous cache follows: the name is gone from the cached page.
    page = reader.get(url)
    assert page.headers["X-Cache"] == "miss"
    assert DELETED_NAME in text_of(page) and "Countess Ada" not in text_of(page) and ADA_TEXT in text_of(page)
    assert "Analytical Engines Lab" not in text_of(page)

    # No profile, no feed, no login, whatever the name typed.
    for path in ("/u/ada", "/u/Ada", "/u/ada/posts.atom", f"/u/{DELETED_NAME}", f"/u/deleted-{ada_id}"):
        assert reader.get(path).status_code == 404, path
    for login in ("ada", "ada.private@example.org", f"deleted/{ada_id}", f"deleted-{ada_id}@deleted.invalid"):
        refused = app.test_client().post("/auth/login", data={"login": login, "password": Factories.PASSWORD})
        assert refused.status_code == 422, login
    assert accounts.username_problem("ada") is None  # the name is free again
    assert accounts.email_problem("ada.private@example.org") is None

    # Bob's notification of Ada's reply and the mention in Bob's post no longer name her.
    bob_reply = fresh(Post, scene["bob_reply"].id)
    assert 'href="/u/ada"' not in bob_reply.body_html and "@ada" in bob_reply.body_source
    note = db.session.scalar(select(Notification).where(Notification.user_id == scene["bob"].id,
                                                        Notification.actor_id == ada_id))
    # was "Ada Lovelace replied to “…” on …: ..."
    assert note.message.startswith(f"{DELETED_NAME} replied to “") and note.message.endswith(": Ada's answer to Bob")

    # The public log keeps its meaning: what was done, to which post, why; by and to whom, as far as public.
    log = text_of(reader.get("/moderation/log"))
    assert f"post {scene['removed'].id} by {DELETED_NAME}" in log and MOD_NOTE in log and marta.username in log
    assert "removed" in log and "ada" not in log.lower().split()


def test_deleting_and_removing_the_posts(app, scene):
    ada_id = scene["ada"].id
    laptop = client_for(app, scene["ada"])
    ada_post_ids = set(db.session.scalars(select(Post.id).where(Post.author_id == ada_id)))
    response = delete(laptop, "remove")
    assert response.status_code == 302
    assert "Your posts are removed" in text_of(laptop.get("/"))
    assert not logged_in(laptop)
    assert_profile_erased(ada_id)

    db.session.expire_all()
    for post in db.session.scalars(select(Post).where(Post.id.in_(ada_post_ids))):
        assert post.author_id == ada_id  # the rows stay: replies keep their parent
        assert (post.body_source, post.body_html, post.title, post.details, post.appeal_note) == ("", "", None, None, None)
        expected = PostStatus.removed if post.id == scene["removed"].id else PostStatus.deleted
        assert post.status == expected, post.id
    assert db.session.scalar(select(func.count(Revision.id)).where(Revision.post_id.in_(ada_post_ids))) == 0
    # Bob's reply under Ada's comment stays, under a tombstone; Bob's own comment is untouched.
    bob_reply = fresh(Post, scene["bob_reply"].id)
    assert bob_reply.parent_id == scene["mine"].id and bob_reply.status == PostStatus.visible
    assert fresh(Post, scene["theirs"].id).body_source == BOB_TEXT
    page = text_of(app.test_client().get(f"/episodes/{scene['episode'].slug}"))
    assert BOB_REPLY in page and BOB_TEXT in page
    for gone in (ADA_TEXT, "Ada's answer to Bob", "Ada's note on RAG", "How is the retriever trained"):
        assert gone not in page, gone
    # Bob's notification of Ada's (now removed) reply no longer quotes it.
    note = db.session.scalar(select(Notification).where(Notification.user_id == scene["bob"].id,
                                                        Notification.actor_id == ada_id))
    assert note.message == ""
    bob_page = text_of(client_for(app, scene["bob"]).get("/notifications/"))
    assert f"{DELETED_NAME} replied to your post" in bob_page and "Ada's answer to Bob" not in bob_page
    permalink = text_of(app.test_client().get(f"/posts/{scene['bob_reply'].id}"))
    assert BOB_REPLY in permalink and ADA_TEXT not in permalink
    hits = text_of(app.test_client().get("/search?q=memory"))
    assert ADA_TEXT not in hits
    # The moderation record about the removed post still reads right.
    log = text_of(app.test_client().get("/moderation/log"))
    assert f"post {scene['removed'].id} by {DELETED_NAME}" in log and MOD_NOTE in log
    assert db.session.scalar(select(ModerationAction.target_user_id).where(
        ModerationAction.id == scene["action"].id)) == ada_id


@pytest.mark.parametrize("form", [
    {"password": "not my password at all", "posts": "keep"},
    {"password": "", "posts": "remove"},
    {"password": Factories.PASSWORD},  # no choice made
    {"password": Factories.PASSWORD, "posts": "everything"},
])
def test_a_wrong_password_or_no_choice_changes_nothing(app, scene, form):
    laptop = client_for(app, scene["ada"])
    before = snapshot()
    response = laptop.post("/settings/delete", data=form)
    assert response.status_code == 422
    assert not written(before, snapshot())
    assert logged_in(laptop)
    user = fresh(User, scene["ada"].id)
    assert user.username == "ada" and user.deleted_at is None
    if form.get("posts") == "keep":
        assert "not your current password" in text_of(response)


def test_deleting_needs_a_csrf_token(app, scene):
    laptop = client_for(app, scene["ada"])
    before = snapshot()
    response = laptop.post("/settings/delete", data={"password": Factories.PASSWORD, "posts": "remove"}, csrf=False)
    assert response.status_code == 400
    assert not written(before, snapshot()) and logged_in(laptop)


def test_a_suspended_user_may_still_delete_and_the_suspension_stays_on_record(app, scene):
    ada = fresh(User, scene["ada"].id)
    ada.suspended_until, ada.suspension_reason = utcnow() + timedelta(days=3), "Spam"
    db.session.commit()
    laptop = client_for(app, ada)
    assert delete(laptop, "keep").status_code == 302
    user = assert_profile_erased(ada.id)
    assert user.suspension_reason == "Spam"


def test_a_moderator_who_leaves_stays_in_the_log_as_deleted_user(app, scene):
    marta = client_for(app, scene["marta"])
    assert delete(marta, "keep").status_code == 302
    log = text_of(app.test_client().get("/moderation/log"))
    assert DELETED_NAME in log and "mod_marta" not in log and MOD_NOTE in log
    assert fresh(User, scene["marta"].id).role == Role.member  # no rights left on the row
    # The post kinds survive: a deleted moderator's action still names its post.
    assert db.session.scalar(select(ModerationAction.post_id).where(ModerationAction.id == scene["action"].id)) \
        == scene["removed"].id
    assert PostKind.comment == fresh(Post, scene["removed"].id).kind


def test_the_password_cannot_be_guessed_through_the_delete_form(app, scene):
    laptop = client_for(app, scene["ada"])
    statuses = [delete(laptop, "keep", password=f"guess number {i}").status_code for i in range(11)]
    assert statuses == [422] * 10 + [429]
    assert delete(laptop, "keep").status_code == 429  # even the right one, for the rest of the hour
    assert fresh(User, scene["ada"].id).deleted_at is None and logged_in(laptop)


def test_a_deleted_author_has_no_profile_link_and_hears_nothing_more(app, scene):
    ada, bob, episode = scene["ada"], scene["bob"], scene["episode"]
    assert delete(client_for(app, ada), "keep").status_code == 302
    page = app.test_client().get(f"/episodes/{episode.slug}").get_data(as_text=True)
    assert DELETED_NAME in page and "/u/[deleted user]" not in page and "/u/%5Bdeleted" not in page
    before = db.session.scalar(select(func.count()).select_from(Notification).where(Notification.user_id == ada.id))
    bob_browser = client_for(app, bob)
    assert bob_browser.post(f"/posts/{scene['mine'].id}/reply", data={"body": "A reply to a kept post"}).status_code == 302
    after = db.session.scalar(select(func.count()).select_from(Notification).where(Notification.user_id == ada.id))
    assert after == before == 0
