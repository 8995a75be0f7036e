"""Guest invitations over HTTP: who may use the console's routes, CSRF, the link's pages in
every state, coming back to the invitation after signing up, the invitation mail (a real
local SMTP server), and the guest's inbox: the header count, "For you", answering in one
step, and hearing of new questions as the guest chose (at once, in the digest, or not)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from community.extensions import db
from community.models import AdminLogEntry, Invitation, Notification, NotificationKind, Person, Post, Role
from community.models.base import utcnow
from community.services import invitations, questions
from tests.conftest import text_of
from tests.factories import Factories
from tests.views.test_smtp import free_port


@pytest.fixture
def app_config(smtp):
    return {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": smtp[0].port}


@pytest.fixture
def show(factories):
    """An episode with an invited-to-be guest (no account yet) and one already linked."""
    episode = factories.episode(7, "Kelvin Guu on retrieval", guests=[("Kelvin Guu", "Google AI")])
    other = factories.episode(8, "Sarah Hong on rendering", guests=[("Sarah Hong", "Latent Space")])
    sarah = factories.user("sarah", role=Role.guest)
    db.session.scalar(select(Person).where(Person.name == "Sarah Hong")).user_id = sarah.id
    db.session.commit()
    kelvin = db.session.scalar(select(Person).where(Person.name == "Kelvin Guu"))
    return episode, other, kelvin, sarah


def admin_user():
    from community.models import User

    return db.session.scalar(select(User).where(User.username == "the_admin")) or \
        Factories().user("the_admin", role=Role.admin)


def invite(person, email=None) -> str:
    """A committed invitation by an admin; returns its path (/invite/<token>)."""
    _, link = invitations.create(admin_user(), person, email, lambda token: f"http://localhost/invite/{token}")
    db.session.commit()
    return link.split("localhost", 1)[1]


def text_of_html(body: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", body).split())


def rows() -> tuple[int, int]:
    db.session.commit()
    counts = (db.session.scalar(select(func.count(Invitation.id))), db.session.scalar(select(func.count(AdminLogEntry.id))))
    db.session.commit()
    return counts


# ---------------------------------------------------------------- who may use the console's routes

ROLES = ("anonymous", "member", "researcher", "guest", "moderator", "host", "admin")
ALLOWED = {"host", "admin"}


def routes(invitation_id: int, person_id: int):
    """(method, path, form) of every console route for invitations."""
    return [
        ("GET", "/admin/invitations", None),
        ("GET", "/admin/invitations/new", None),
        ("GET", f"/admin/invitations/new?person={person_id}", None),
        ("GET", "/admin/invitations/new?episode=7-kelvin-guu-on-retrieval", None),
        ("POST", "/admin/invitations/new", {"person": str(person_id), "email": ""}),
        ("GET", f"/admin/invitations/{invitation_id}", None),
        ("POST", f"/admin/invitations/{invitation_id}/revoke", {}),
    ]


@pytest.mark.parametrize("role", ROLES)
def test_console_routes_role_by_role(app, factories, login, show, role):
    _, _, kelvin, sarah = show
    invite(kelvin)
    invitation_id = db.session.scalar(select(Invitation.id))
    browser = app.test_client()
    if role == "guest":
        login(sarah, the_client=browser)  # a guest of the show, linked to Sarah Hong
    elif role != "anonymous":
        login(factories.user(f"{role}_user", role=Role(role)), the_client=browser)
    for method, path, form in routes(invitation_id, kelvin.id):
        before = rows()
        response = browser.get(path) if method == "GET" else browser.post(path, data=form)
        where = f"{method} {path} as {role}"
        if role == "anonymous":
            assert response.status_code == 302 and "/auth/login" in response.headers["Location"], where
        elif role in ALLOWED:
            assert response.status_code == (200 if method == "GET" else 302), where
        else:
            assert response.status_code == 403, where
        if role not in ALLOWED:
            assert rows() == before, f"{where} wrote something"
    if role in ALLOWED:  # the allowed POSTs did their work: one made, one revoked, each logged once
        states = sorted(i.state() for i in db.session.scalars(select(Invitation)))
        assert states == ["pending", "revoked"]
        actions = sorted(db.session.scalars(select(AdminLogEntry.action)))
        assert actions == ["invitation.create", "invitation.create", "invitation.revoke"]


def test_console_posts_refuse_a_missing_csrf_token(app, factories, login, show):
    _, _, kelvin, _ = show
    token_path = invite(kelvin)
    invitation_id = db.session.scalar(select(Invitation.id))
    admin = login(factories.user("boss", role=Role.admin), the_client=app.test_client())
    member = login(factories.user("kelvin_account"), the_client=app.test_client())
    before = rows()
    for browser, path, form in ((admin, "/admin/invitations/new", {"person": str(kelvin.id), "email": ""}),
                                (admin, f"/admin/invitations/{invitation_id}/revoke", {}),
                                (member, f"{token_path}/accept", {})):
        response = browser.post(path, data=form, csrf=False)
        assert response.status_code == 400 and "CSRF" in text_of(response), path
    assert rows() == before
    db.session.expire_all()
    assert db.session.get(Person, kelvin.id).user_id is None


# ---------------------------------------------------------------- the console's pages

def test_create_shows_the_link_once_and_mails_it(app, factories, login, show, smtp):
    _, inbox = smtp
    _, _, kelvin, _ = show
    host = login(factories.user("producer", role=Role.host), the_client=app.test_client())
    form = host.get(f"/admin/invitations/new?person={kelvin.id}").get_data(as_text=True)
    assert f'<option selected value="{kelvin.id}">Kelvin Guu</option>' in form
    response = host.post("/admin/invitations/new", data={"person": str(kelvin.id), "email": "kelvin@example.org"})
    assert response.status_code == 302
    page = host.get(response.headers["Location"]).get_data(as_text=True)
    shown = re.search(r'<input id="invitation-link" type="text" readonly value="http://localhost(/invite/[\w-]+)"',
                      page).group(1)
    assert "Shown this once" in text_of_html(page) and "mailed to kelvin@example.org" in text_of_html(page)
    assert "/invite/" not in host.get(response.headers["Location"]).get_data(as_text=True)  # only once
    assert len(inbox.messages) == 1 and inbox.messages[0]["To"] == "kelvin@example.org"
    mailed = re.search(r"http://localhost(/invite/[\w-]+)", inbox.messages[0].get_payload(decode=True).decode()).group(1)
    assert mailed == shown
    assert "Kelvin Guu" in text_of(app.test_client().get(mailed))
    listing = text_of(host.get("/admin/invitations"))
    assert "Kelvin Guu pending kelvin@example.org" in listing


def test_create_without_an_address_mails_nothing_and_a_bad_address_is_kept(app, factories, login, show, smtp):
    _, inbox = smtp
    _, _, kelvin, _ = show
    admin = login(factories.user("boss", role=Role.admin), the_client=app.test_client())
    bad = admin.post("/admin/invitations/new", data={"person": str(kelvin.id), "email": "kelvin at example"})
    assert bad.status_code == 422 and 'value="kelvin at example"' in bad.get_data(as_text=True)
    assert rows() == (0, 0)
    assert admin.post("/admin/invitations/new", data={"person": str(kelvin.id), "email": ""}).status_code == 302
    assert inbox.messages == [] and rows() == (1, 1)


def test_an_unreachable_mail_server_leaves_the_invitation_and_its_mail_waiting(app, factories, login, show):
    """Mail is a job of the invitation's transaction: the invitation stands, its mail is retried."""
    from community.models import Job, JobStatus

    _, _, kelvin, _ = show
    app.config["MAIL_PORT"] = free_port()  # nobody listens there
    admin = login(factories.user("boss", role=Role.admin), the_client=app.test_client())
    response = admin.post("/admin/invitations/new", data={"person": str(kelvin.id), "email": "kelvin@example.org"})
    assert response.status_code == 302
    assert rows() == (1, 1)
    [job] = db.session.scalars(select(Job).where(Job.name == "mail.send")).all()
    assert job.status == JobStatus.queued and job.attempts == 1 and "refused" in (job.last_error or "")


def test_the_team_finds_the_invite_link_on_a_persons_page(app, factories, login, show):
    _, _, kelvin, _ = show
    host = login(factories.user("producer", role=Role.host), the_client=app.test_client())
    assert f'href="/admin/invitations/new?person={kelvin.id}"' in host.get(f"/people/{kelvin.id}").get_data(as_text=True)
    member = login(factories.user("listener"), the_client=app.test_client())
    assert "/admin/invitations" not in member.get(f"/people/{kelvin.id}").get_data(as_text=True)


# ---------------------------------------------------------------- the link

def test_anonymous_signs_up_comes_back_and_accepts(app, client, show):
    episode, _, kelvin, _ = show
    path = invite(kelvin, "kelvin@example.org")
    page = client.get(path)
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and "An invitation for Kelvin Guu" in text_of(page)
    assert episode.title in text_of(page) and "Accept as" not in text_of(page)
    signup = re.search(r'href="(/auth/register\?next=[^"]+)"', body).group(1).replace("&amp;", "&")
    assert re.search(r'href="/auth/login\?next=[^"]+"', body)
    password = "a long and unusual passphrase"
    response = client.post(signup, data={"username": "kelvin", "email": "kelvin@example.org",
                                         "password": password, "confirm": password})
    assert response.status_code == 302 and response.headers["Location"] == path
    assert "Accept as kelvin" in text_of(client.get(path))
    accepted = client.post(f"{path}/accept")
    assert accepted.status_code == 302 and accepted.headers["Location"] == "/questions/?state=for-you"
    db.session.expire_all()
    from community.models import User

    user = db.session.get(User, db.session.get(Person, kelvin.id).user_id)
    assert user.username == "kelvin" and user.role == Role.member
    assert user.email_confirmed_at is not None  # signed up with the address the invitation was mailed to


def test_an_unconfirmed_account_with_another_address_may_accept_but_still_confirms(app, client, show):
    episode, _, kelvin, _ = show
    path = invite(kelvin, "kelvin@example.org")
    password = "a long and unusual passphrase"
    client.post(f"/auth/register?next={path}", data={"username": "kelvin", "email": "kelvin.home@example.net",
                                                     "password": password, "confirm": password})
    assert client.post(f"{path}/accept").status_code == 302
    question = questions.ask(Factories().user("asker"), episode, "Still there?")
    db.session.commit()
    refused = client.post(f"/questions/{question.id}/answer", data={"body": "Yes."})
    assert refused.status_code == 303  # back to the question, the answer kept in its box (issue 21)
    assert "Confirm your email address first" in text_of(client.get(refused.headers["Location"]))


def test_logging_in_comes_back_to_the_invitation(app, client, factories, show):
    _, _, kelvin, _ = show
    path = invite(kelvin)
    factories.user("kelvin")
    body = client.get(path).get_data(as_text=True)
    login_path = re.search(r'href="(/auth/login\?next=[^"]+)"', body).group(1).replace("&amp;", "&")
    response = client.post(login_path, data={"login": "kelvin", "password": factories.PASSWORD})
    assert response.headers["Location"] == path


def _use_up(kind, person, factories):
    path = invite(person)
    token = path.rsplit("/", 1)[1]
    if kind == "used":
        invitations.accept(factories.user("first"), token)
    elif kind == "revoked":
        invitations.revoke(admin_user(), invitations.find(token))
    elif kind == "expired":  # the clock moved on: made 15 days ago
        db.session.execute(update(Invitation).values(created_at=utcnow() - timedelta(days=15),
                                                     expires_at=utcnow() - timedelta(days=1)))
    elif kind == "tampered":
        path = path[:-3] + ("abc" if not path.endswith("abc") else "xyz")
    db.session.commit()
    return path


@pytest.mark.parametrize("kind, status, reason", [
    ("used", 410, "already used"), ("revoked", 410, "withdrawn"), ("expired", 410, "expired on"),
    ("tampered", 404, "not valid"),
])
def test_an_unusable_link_says_why_and_offers_nothing(app, factories, login, show, kind, status, reason):
    _, _, kelvin, _ = show
    path = _use_up(kind, kelvin, factories)
    linked_before = db.session.get(Person, kelvin.id).user_id
    before = rows()
    anonymous, late = app.test_client(), login(factories.user("late"), the_client=app.test_client())
    for browser in (anonymous, late):
        page = browser.get(path)
        main = page.get_data(as_text=True).split('<main', 1)[1].split('</main>', 1)[0]
        assert page.status_code == status and reason in text_of(page)
        assert "<form" not in main and "/accept" not in main and "/auth/register" not in main  # never a way on
    assert "/auth/login" in anonymous.post(f"{path}/accept").headers["Location"]
    refused = late.post(f"{path}/accept")
    assert refused.status_code == status and reason in text_of(refused)
    assert rows() == before
    db.session.expire_all()
    assert db.session.get(Person, kelvin.id).user_id == linked_before


def test_an_account_linked_to_another_person_is_told_why(app, factories, login, show):
    _, _, kelvin, sarah = show
    path = invite(kelvin)
    browser = login(sarah, the_client=app.test_client())
    page = text_of(browser.get(path))
    assert "Your account is already linked to Sarah Hong" in page and "Accept as" not in page
    response = browser.post(f"{path}/accept")
    assert response.status_code == 409 and "already linked to Sarah Hong" in text_of(response)
    db.session.expire_all()
    assert db.session.get(Person, kelvin.id).user_id is None
    assert invitations.find(path.rsplit("/", 1)[1]).state() == "pending"


# ---------------------------------------------------------------- the guest's inbox

def test_a_linked_guest_keeps_their_role_and_opens_questions_on_theirs(app, factories, login, show):
    episode, other, kelvin, _ = show
    asker = factories.user("asker")
    questions.ask(asker, episode, "How is the retriever trained without labels?")
    questions.ask(asker, other, "What about rendering at scale?")
    db.session.commit()
    researcher = factories.user("kelvin", role=Role.researcher)
    browser = login(researcher, the_client=app.test_client())
    assert "waiting for you" not in text_of(browser.get("/"))
    browser.post(f"{invite(kelvin)}/accept")

    home = browser.get("/").get_data(as_text=True)
    assert '<a href="/questions/?state=for-you" class="waiting-link">1 question waiting for you</a>' in home
    inbox = text_of(browser.get("/questions/"))
    assert "Open questions for you" in inbox and "retriever trained" in inbox and "rendering at scale" not in inbox
    assert "Researcher" in text_of(browser.get("/u/kelvin"))  # still a researcher
    # Everyone else opens on the open questions of every episode.
    other_browser = login(factories.user("listener"), the_client=app.test_client())
    listing = text_of(other_browser.get("/questions/"))
    assert "Open questions for you" not in listing and "rendering at scale" in listing
    assert "Open questions for you" not in text_of(other_browser.get("/questions/?state=for-you"))


def test_answering_from_the_inbox_takes_one_step(app, factories, login, show):
    episode, _, kelvin, _ = show
    asker = factories.user("asker")
    question = questions.ask(asker, episode, "How is the retriever trained without labels?")
    db.session.commit()
    guest = factories.user("kelvin")
    browser = login(guest, the_client=app.test_client())
    browser.post(f"{invite(kelvin)}/accept")
    inbox = browser.get("/questions/").get_data(as_text=True)
    form = re.search(r'<form method="post" action="(/questions/\d+/answer)".*?</form>', inbox, re.S)
    assert form.group(1) == f"/questions/{question.id}/answer" and 'name="next" value="/questions/?state=for-you"' in form.group(0)
    answered = browser.post(form.group(1), data={"body": "End to end.", "next": "/questions/?state=for-you"})
    assert answered.status_code == 302 and answered.headers["Location"] == "/questions/?state=for-you"
    page = text_of(browser.get("/questions/?state=for-you"))
    assert "Answer posted" in page and "No question is waiting for you" in page
    assert "waiting for you</a>" not in browser.get("/").get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Post, question.id).stage == "answered"
    notified = db.session.scalars(select(Notification.user_id).where(Notification.kind == NotificationKind.answer))
    assert list(notified) == [asker.id]
    # An address elsewhere is not followed after answering.
    other = questions.ask(asker, episode, "And the index refresh?")
    db.session.commit()
    away = browser.post(f"/questions/{other.id}/answer", data={"body": "Nightly.", "next": "https://evil.example/"})
    assert away.headers["Location"].startswith(f"/episodes/{episode.slug}")


@pytest.mark.parametrize("mode", ["immediately", "daily", "none"])
def test_a_new_question_reaches_the_guest_as_they_chose(app, factories, login, show, smtp, mode):
    _, inbox = smtp
    episode, _, kelvin, _ = show
    guest = factories.user("kelvin", email="kelvin@example.org")
    guest_browser = login(guest, the_client=app.test_client())
    guest_browser.post(f"{invite(kelvin)}/accept")
    settings = guest_browser.get("/notifications/settings").get_data(as_text=True)
    assert "New questions on episodes you were a guest on" in settings
    assert guest_browser.post("/notifications/settings", data={"question": mode}).status_code == 302

    asker = login(factories.user("asker"), the_client=app.test_client())
    assert asker.post(f"/episodes/{episode.slug}/questions", data={"body": "Why retrieval, not memory?"}).status_code == 302
    notes = list(db.session.scalars(select(Notification).where(Notification.user_id == guest.id)))
    assert [n.kind for n in notes] == [NotificationKind.question]
    assert "asker asked you a question on #7 Kelvin Guu on retrieval" in notes[0].message
    to_guest = lambda: [m for m in inbox.messages if m["To"] == "kelvin@example.org"]  # noqa: E731
    assert len(to_guest()) == (1 if mode == "immediately" else 0)
    db.session.expire_all()  # the digest run shares this session: let it read what the requests wrote
    app.test_cli_runner().invoke(args=["notifications", "send-digests"])
    assert len(to_guest()) == (0 if mode == "none" else 1)
    if mode != "none":
        text = next(p.get_payload(decode=True).decode() for p in to_guest()[0].walk() if p.get_content_type() == "text/plain")
        assert "asked you a question" in text and "Why retrieval, not memory?" in text
    # A member who is no guest is not offered the setting.
    assert "New questions on episodes you were a guest on" not in asker.get("/notifications/settings").get_data(as_text=True)


def test_a_question_held_for_a_moderator_reaches_the_guest_when_let_through(app, factories, login, show):
    from community.models import PostStatus
    from community.services import moderation

    episode, _, kelvin, _ = show
    guest = factories.user("kelvin")
    login(guest, the_client=app.test_client()).post(f"{invite(kelvin)}/accept")
    app.config["PREMODERATION_FIRST_POSTS"] = 1  # a new member's first post waits for a moderator
    question = questions.ask(factories.user("newcomer"), episode, "A first question, held?")
    db.session.commit()
    assert question.status == PostStatus.pending
    told = lambda: list(db.session.scalars(select(Notification.kind).where(Notification.user_id == guest.id)))  # noqa: E731
    assert told() == []
    moderation.act(factories.user("mod", role=Role.moderator), question, "restore", "Fine")
    db.session.commit()
    assert told() == [NotificationKind.question]


def test_starting_from_an_episode_offers_its_guests(app, factories, login, show):
    episode, _, kelvin, _ = show
    admin = login(factories.user("boss", role=Role.admin), the_client=app.test_client())
    form = admin.get(f"/admin/invitations/new?episode={episode.slug}").get_data(as_text=True)
    assert ">Kelvin Guu</option>" in form and "Sarah Hong" not in form
    assert admin.get("/admin/invitations/new?episode=no-such-episode").status_code == 404


def test_a_linked_guest_lands_on_their_questions_after_logging_in(app, client, factories, login, show):
    _, _, kelvin, _ = show
    researcher = factories.user("kelvin", role=Role.researcher)
    login(researcher).post(f"{invite(kelvin)}/accept")
    client.post("/auth/logout")
    response = client.post("/auth/login", data={"login": "kelvin", "password": factories.PASSWORD})
    assert response.headers["Location"] == "/questions/"
