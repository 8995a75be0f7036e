"""The operator console (/admin): who may open each page, that every change writes exactly
one admin-log row, that no form works without its CSRF token, and what each page does."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
from flask import url_for
from sqlalchemy import func, select

from community.extensions import db
from community.models import (
    AdminLogEntry, Appearance, AppearanceRole, Episode, ModerationAction, Notification, Person, Role, SiteSetting, User,
)
from community.models.base import utcnow
from community.services import episodes as episode_service, site_settings
from tests.conftest import text_of
from tests.security.world import snapshot, written

ROLES = ("anonymous", "member", "researcher", "guest", "moderator", "host", "admin")
SHOW, ADMINS = "show", "admins"


@dataclass
class Console:
    users: dict[str, User]
    episode: Episode
    person: Person
    other_person: Person


@pytest.fixture
def console(factories) -> Console:
    users = {role: factories.user(f"{role}_user", role=Role(role)) for role in ROLES if role != "anonymous"}
    users["target"] = factories.user("target_user")
    episode = factories.episode(7, "Retrieval at scale", guests=[("Ada Guest", "Lab A")], hosts=["Kanjun Host"])
    person = db.session.scalar(select(Person).where(Person.name == "Ada Guest"))
    other = Person(name="Grace Other", name_key="grace other", affiliation="Lab B", links=[])
    db.session.add(other)
    db.session.commit()
    return Console(users, episode, person, other)


# Every GET page of the console: (endpoint, who may, url values).
PAGES = [
    ("admin.dashboard", SHOW, lambda c: {}),
    ("admin.episodes", SHOW, lambda c: {}),
    ("admin.new_episode", SHOW, lambda c: {}),
    ("admin.edit_episode", SHOW, lambda c: {"episode_id": c.episode.id}),
    ("admin.people", SHOW, lambda c: {}),
    ("admin.new_person", SHOW, lambda c: {}),
    ("admin.edit_person", SHOW, lambda c: {"person_id": c.person.id}),
    ("admin.users", ADMINS, lambda c: {}),
    ("admin.user", ADMINS, lambda c: {"user_id": c.users["target"].id}),
    ("admin.settings", ADMINS, lambda c: {}),
    ("admin.log", ADMINS, lambda c: {}),
]

# Every state-changing route: (endpoint, who may, url values, a valid form).
CHANGES = [
    ("admin.new_episode", SHOW, lambda c: {}, lambda c: {"title": "A new one", "number": "99", "duration": "1:02:03",
                                                         "show_notes": "At 12:34 we talk.",
                                                         "listen_links": "Spotify | https://open.spotify.com/x"}),
    ("admin.edit_episode", SHOW, lambda c: {"episode_id": c.episode.id},
     lambda c: {"title": "Retrieval at scale, renamed", "number": "7", "published_on": "2021-01-08"}),
    ("admin.set_episode_people", SHOW, lambda c: {"episode_id": c.episode.id},
     lambda c: {"guests": "Ada Guest\nGrace Other", "hosts": "Kanjun Host"}),
    ("admin.unpublish_episode", SHOW, lambda c: {"episode_id": c.episode.id}, lambda c: {}),
    ("admin.publish_episode", SHOW, lambda c: {"episode_id": c.episode.id}, lambda c: {}),  # after unpublish
    ("admin.new_person", SHOW, lambda c: {}, lambda c: {"name": "Brand New Person", "affiliation": "Somewhere"}),
    ("admin.edit_person", SHOW, lambda c: {"person_id": c.person.id},
     lambda c: {"name": "Ada Guest", "affiliation": "Lab A2", "links": "https://ada.example/"}),
    ("admin.link_person", SHOW, lambda c: {"person_id": c.person.id}, lambda c: {"username": "target_user"}),
    ("admin.unlink_person", SHOW, lambda c: {"person_id": c.person.id}, lambda c: {}),  # after link
    ("admin.merge_person", SHOW, lambda c: {"person_id": c.person.id}, lambda c: {"other": str(c.other_person.id)}),
    ("admin.set_role", ADMINS, lambda c: {"user_id": c.users["target"].id}, lambda c: {"role": "researcher"}),
    ("admin.suspension", ADMINS, lambda c: {"user_id": c.users["target"].id},
     lambda c: {"action": "suspend", "reason": "Spam", "days": "3"}),
    ("admin.change_setting", ADMINS, lambda c: {"name": "FLAG_THRESHOLD"}, lambda c: {"FLAG_THRESHOLD-value": "4.5"}),
]


def expected(who: str, role: str) -> object:
    if role == "anonymous":
        return "login"
    allowed = ("host", "admin") if who == SHOW else ("admin",)
    return "ok" if role in allowed else 403


def outcome(response) -> object:
    if response.status_code == 302 and "/auth/login" in response.headers.get("Location", ""):
        return "login"
    return "ok" if response.status_code in (200, 302) else response.status_code


def _url(app, endpoint, values) -> str:
    with app.test_request_context():
        return url_for(endpoint, **values)


def _browser(app, login, console, role):
    client = app.test_client()
    return client if role == "anonymous" else login(console.users[role], the_client=client)


def test_every_console_route_is_in_these_tables(app):
    rules = {r.endpoint for r in app.url_map.iter_rules() if r.endpoint.startswith("admin.")}
    assert rules == {e for e, *_ in PAGES} | {e for e, *_ in CHANGES}


@pytest.mark.parametrize("role", ROLES)
def test_role_by_page(app, console, login, role):
    browser = _browser(app, login, console, role)
    problems = []
    for endpoint, who, values in PAGES:
        response = browser.get(_url(app, endpoint, values(console)))
        if outcome(response) != expected(who, role):
            problems.append(f"GET {endpoint} as {role}: {response.status_code}, expected {expected(who, role)}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("role", ROLES)
def test_role_by_change(app, console, login, role):
    """Refused roles change nothing at all; allowed ones get through (post/redirect/get)."""
    browser = _browser(app, login, console, role)
    problems = []
    for endpoint, who, values, form in CHANGES:
        before = snapshot()
        response = browser.post(_url(app, endpoint, values(console)), data=form(console))
        got = outcome(response)
        if got != expected(who, role):
            problems.append(f"POST {endpoint} as {role}: {response.status_code}, expected {expected(who, role)}")
        if expected(who, role) != "ok" and written(before, snapshot()):
            problems.append(f"POST {endpoint} as {role} was refused but wrote {written(before, snapshot())}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("endpoint", [c[0] for c in CHANGES])
def test_every_change_writes_exactly_one_admin_log_row(app, console, login, endpoint):
    admin = login(console.users["admin"])
    for name, _, values, form in CHANGES:  # the earlier changes first (unpublish before publish...)
        before = db.session.scalar(select(func.count(AdminLogEntry.id)))
        response = admin.post(_url(app, name, values(console)), data=form(console))
        assert response.status_code == 302, (name, text_of(response))
        db.session.commit()
        if name == endpoint:
            entries = list(db.session.scalars(select(AdminLogEntry).order_by(AdminLogEntry.id.desc()).limit(2)))
            assert db.session.scalar(select(func.count(AdminLogEntry.id))) == before + 1
            assert entries[0].actor_id == console.users["admin"].id and entries[0].after
            break


@pytest.mark.parametrize("endpoint", [c[0] for c in CHANGES])
def test_every_console_form_refuses_a_missing_csrf_token(app, console, login, endpoint):
    admin = login(console.users["admin"])
    _, _, values, form = next(c for c in CHANGES if c[0] == endpoint)
    before = snapshot()
    response = admin.post(_url(app, endpoint, values(console)), data=form(console), csrf=False)
    assert response.status_code == 400 and "CSRF" in text_of(response)
    assert not written(before, snapshot())


# ---------------------------------------------------------------- what the pages do


def test_an_episode_written_in_the_console(app, console, login):
    host = login(console.users["host"])
    response = host.post("/admin/episodes/new", data={
        "title": "Scaling laws", "number": "42", "published_on": "2024-05-01", "summary": "A summary.",
        "show_notes": "We start at 1:02:03 and **then** 12:34.", "audio_url": "https://cdn.example/42.mp3",
        "duration": "1:10:00", "image_url": "https://cdn.example/42.jpg",
        "listen_links": "Spotify | https://open.spotify.com/42\nApple Podcasts | https://podcasts.apple.com/42"})
    assert response.status_code == 302
    episode = db.session.scalar(select(Episode).where(Episode.number == 42))
    assert not episode.is_published  # new episodes wait for "Publish"
    assert episode.duration_seconds == 4200 and episode.show_notes_source.startswith("We start")
    assert 'href="?t=3723#player"' in episode.show_notes_html and "<strong>then</strong>" in episode.show_notes_html
    assert episode.listen_links == [{"label": "Spotify", "url": "https://open.spotify.com/42"},
                                    {"label": "Apple Podcasts", "url": "https://podcasts.apple.com/42"}]
    # The team sees it, with a banner; the public gets a 404 until it is published.
    page = host.get(f"/episodes/{episode.slug}")
    assert page.status_code == 200 and "Unpublished" in text_of(page)
    assert app.test_client().get(f"/episodes/{episode.slug}").status_code == 404
    host.post(f"/admin/episodes/{episode.id}/publish")
    assert app.test_client().get(f"/episodes/{episode.slug}").status_code == 200


def test_bad_episode_input_is_refused_with_what_was_typed(app, console, login):
    host = login(console.users["host"])
    before = snapshot()
    response = host.post("/admin/episodes/new", data={"title": "Kept title", "duration": "soon",
                                                      "listen_links": "Spotify without address"})
    assert response.status_code == 422
    page = text_of(response)
    assert "Write it as 1:02:03" in page and "write a label, a | and an address" in page
    assert 'value="Kept title"' in response.get_data(as_text=True)
    assert not written(before, snapshot())
    clash = host.post("/admin/episodes/new", data={"title": "Another seven", "number": "7"})
    assert clash.status_code == 422 and "already" in text_of(clash)


def test_appearances_with_roles_and_order_tell_new_guests_followers(app, console, login, factories):
    fan = factories.user("fan")
    from community.models import Follow

    db.session.add(Follow(user_id=fan.id, person_id=console.other_person.id))
    db.session.commit()
    host = login(console.users["host"])
    response = host.post(f"/admin/episodes/{console.episode.id}/people",
                         data={"guests": "grace other\nAda Guest", "hosts": "", "cohosts": "Kanjun Host"})
    assert response.status_code == 302
    rows = db.session.execute(select(Person.name, Appearance.role, Appearance.position).join(Appearance)
                              .where(Appearance.episode_id == console.episode.id).order_by(Appearance.position)).all()
    assert rows == [("Grace Other", AppearanceRole.guest, 0), ("Ada Guest", AppearanceRole.guest, 1),
                    ("Kanjun Host", AppearanceRole.cohost, 2)]
    assert db.session.scalar(select(func.count(Notification.id)).where(Notification.user_id == fan.id)) == 1
    unknown = host.post(f"/admin/episodes/{console.episode.id}/people", data={"guests": "Nobody Known"})
    assert unknown.status_code == 422 and "No person named Nobody Known" in text_of(unknown)


def test_a_duplicate_or_look_alike_person_is_refused(app, console, login):
    host = login(console.users["host"])
    for name in ("ada guest", "Adá Guest", "Ada  Guest"):
        before = snapshot()
        response = host.post("/admin/people/new", data={"name": name})
        assert response.status_code == 422 and "already here" in text_of(response), name
        assert not written(before, snapshot())


def test_users_search_role_and_suspension_through_moderation(app, console, login):
    admin = login(console.users["admin"])
    found = text_of(admin.get("/admin/users/?q=target"))
    assert "@target_user" in found and "@member_user" not in found
    assert "target_user@example.org" in text_of(admin.get("/admin/users/?q=target_user@example"))
    target = console.users["target"]
    admin.post(f"/admin/users/{target.id}/suspension", data={"action": "suspend", "reason": "Spam", "days": "3"})
    db.session.refresh(target)
    assert target.is_suspended()
    action = db.session.scalar(select(ModerationAction).where(ModerationAction.target_user_id == target.id))
    assert action.action == "suspend" and action.post_id is None
    assert "target_user" in text_of(app.test_client().get("/moderation/log"))
    refused = admin.post(f"/admin/users/{console.users['moderator'].id}/suspension",
                         data={"action": "suspend", "reason": "Spam", "days": "3"})
    assert refused.status_code == 422 and "cannot be suspended" in text_of(refused)
    own = admin.post(f"/admin/users/{console.users['admin'].id}/role", data={"role": "member"})
    assert own.status_code == 422 and "your own admin role" in text_of(own)


def test_site_settings_are_validated_logged_and_read(app, console, login):
    admin = login(console.users["admin"])
    for bad, message in (("lots", "is not a number"), ("0", "choose a value from"), ("", "Enter a value")):
        before = snapshot()
        response = admin.post("/admin/settings/FLAG_THRESHOLD", data={"FLAG_THRESHOLD-value": bad})
        assert response.status_code == 422 and message in text_of(response), bad
        assert not written(before, snapshot())
    rate = admin.post("/admin/settings/FLAG_RATE_LIMIT", data={"FLAG_RATE_LIMIT-value": "often"})
    assert rate.status_code == 422 and "5 per minute" in text_of(rate)
    assert admin.post("/admin/settings/FLAG_THRESHOLD", data={"FLAG_THRESHOLD-value": "5"}).status_code == 302
    db.session.commit()
    assert db.session.get(SiteSetting, "FLAG_THRESHOLD").value == 5.0
    assert site_settings.value("FLAG_THRESHOLD") == 5.0
    entry = db.session.scalar(select(AdminLogEntry).where(AdminLogEntry.target_id == "FLAG_THRESHOLD"))
    assert entry.before == {"value": 3.0} and entry.after == {"value": 5.0}
    assert admin.post("/admin/settings/NOPE", data={"NOPE-value": "1"}).status_code == 404


def test_a_setting_changes_what_the_rules_do(app, console, login, factories):
    """Pre-moderation from the console: the next member post waits for a moderator."""
    from community.models import PostStatus
    from community.services import discussion

    login(console.users["admin"]).post("/admin/settings/PREMODERATION_FIRST_POSTS",
                                       data={"PREMODERATION_FIRST_POSTS-value": "1"})
    db.session.commit()
    post = discussion.create_post(console.users["member"], episode=console.episode, body="My first post.")
    assert post.status == PostStatus.pending


def test_admin_log_is_newest_first_and_filtered_by_target(app, console, login):
    admin = login(console.users["admin"])
    admin.post(f"/admin/episodes/{console.episode.id}/unpublish")
    admin.post(f"/admin/people/{console.person.id}", data={"name": "Ada Guest", "affiliation": "Lab Z"})
    page = text_of(admin.get("/admin/log"))
    assert page.index("Edited Ada Guest") < page.index("Unpublished #7")
    only = text_of(admin.get(f"/admin/log?target_type=episode&target_id={console.episode.id}"))
    assert "Unpublished #7" in only and "Edited Ada Guest" not in only


def test_unpublished_episode_is_absent_from_every_public_surface(app, console, login, factories):
    from community.services import discussion, questions

    shown = factories.episode(8, "A published neighbour")
    hidden = console.episode
    discussion.create_post(console.users["member"], episode=hidden, body="Zanzibar retrieval thoughts.")
    questions.ask(console.users["member"], hidden, "Zanzibar question for the guest?")
    db.session.commit()
    login(console.users["host"]).post(f"/admin/episodes/{hidden.id}/unpublish")
    public = app.test_client()
    for url in ("/", "/episodes/", "/feeds/episodes.atom", "/api/v1/episodes", "/questions/?state=all",
                f"/people/{console.person.id}" if "episodes.person" in app.view_functions else "/"):
        page = text_of(public.get(url))
        assert "Retrieval at scale" not in page and "Zanzibar" not in page, url
    assert "A published neighbour" in text_of(public.get("/episodes/"))
    assert public.get(f"/episodes/{hidden.slug}").status_code == 404
    assert public.get(f"/api/v1/episodes/{hidden.slug}").status_code == 404
    assert public.get(f"/episodes/{hidden.slug}/discussion.atom").status_code == 404
    search = text_of(public.get("/search?q=Zanzibar")) + text_of(public.get("/search?q=Retrieval"))
    assert "Zanzibar retrieval thoughts" not in search and "Retrieval at scale" not in search
    assert episode_service.get_by_slug(hidden.slug, include_unpublished=True) is not None


def test_suspension_lift_and_ban(app, console, login):
    admin = login(console.users["admin"])
    target = console.users["target"]
    refused = admin.post(f"/admin/users/{target.id}/suspension", data={"action": "unsuspend", "reason": "ok"})
    assert refused.status_code == 422 and "not suspended" in text_of(refused)
    admin.post(f"/admin/users/{target.id}/suspension", data={"action": "ban", "reason": "Spam"})
    db.session.refresh(target)
    assert target.suspended_until > utcnow() + timedelta(days=3000)
    admin.post(f"/admin/users/{target.id}/suspension", data={"action": "unsuspend", "reason": "Appeal accepted"})
    db.session.refresh(target)
    assert not target.is_suspended()


def test_followers_hear_of_an_unpublished_episode_only_when_it_is_published(app, console, login, factories):
    from community.models import Follow

    fan = factories.user("fan")
    db.session.add(Follow(user_id=fan.id, person_id=console.other_person.id))
    db.session.commit()
    host = login(console.users["host"])
    host.post(f"/admin/episodes/{console.episode.id}/unpublish")
    host.post(f"/admin/episodes/{console.episode.id}/people", data={"guests": "Grace Other"})
    heard = select(func.count(Notification.id)).where(Notification.user_id == fan.id)
    assert db.session.scalar(heard) == 0
    host.post(f"/admin/episodes/{console.episode.id}/publish")
    host.post(f"/admin/episodes/{console.episode.id}/unpublish")
    host.post(f"/admin/episodes/{console.episode.id}/publish")
    assert db.session.scalar(heard) == 1


def test_merge_in_the_console_refuses_a_wrong_number_or_a_clash_beside_the_field(app, console, login, factories):
    host = login(console.users["host"])
    before = snapshot()
    wrong = host.post(f"/admin/people/{console.person.id}/merge", data={"other": "999999"})
    assert wrong.status_code == 422 and "no person with the number 999999" in text_of(wrong)
    console.person.user_id = factories.user("one").id
    console.other_person.user_id = factories.user("two").id
    db.session.commit()
    before = snapshot()
    clash = host.post(f"/admin/people/{console.person.id}/merge", data={"other": str(console.other_person.id)})
    assert clash.status_code == 422 and "different accounts" in text_of(clash)
    assert not written(before, snapshot())
