"""Accounts through the real pages: register, log in/out, profile, password reset."""

from __future__ import annotations

import re
import time

import pytest
from sqlalchemy import func, select

from community.extensions import db
from community.models import User, UserSession
from community.services import accounts
from tests.conftest import DEPLOYED_PASSWORD_HASH, text_of

GOOD = "a long and unusual passphrase"


def register(client, username="ada_l", email="ada@example.org", password=GOOD, confirm=None):
    return client.post("/auth/register", data={
        "username": username, "email": email, "password": password, "confirm": confirm or password,
    })


def user_count() -> int:
    return db.session.scalar(select(func.count(User.id)))


@pytest.mark.parametrize("app_config", [DEPLOYED_PASSWORD_HASH], ids=["deployed argon2 cost"])
def test_register_logs_in_and_lands_on_profile_editing(client):
    response = register(client)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/settings/profile")
    user = db.session.scalar(select(User))
    assert user.username == "ada_l" and user.email_key == "ada@example.org"
    assert user.password_hash.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    page = client.get("/settings/profile")
    assert page.status_code == 200 and "Edit your profile" in text_of(page)


@pytest.mark.parametrize("fields, message", [
    ({"username": "Taken"}, "That username is taken."),
    ({"email": "TAKEN@example.org"}, "An account with this email already exists."),
    ({"confirm": "something else entirely"}, "The passwords do not match."),
    ({"password": "short", "confirm": "short"}, "Use at least 10 characters."),
    ({"password": "1234567890", "confirm": "1234567890"}, "among the 10,000 most common"),
    ({"username": "a b"}, "3 to 30 letters, digits, _ or -."),
    ({"username": "ab"}, "3 to 30 letters, digits, _ or -."),
    ({"username": "ad\u200bmin"}, "3 to 30 letters, digits, _ or -."),
    ({"email": "not-an-email"}, "Invalid email address."),
])
def test_bad_registration_rerenders_with_message_and_changes_nothing(client, factories, fields, message):
    factories.user("taken", email="taken@example.org")
    data = {"username": "newbie", "email": "new@example.org", "password": GOOD, "confirm": GOOD} | fields
    response = client.post("/auth/register", data=data)
    assert response.status_code == 422
    assert message in text_of(response)
    assert user_count() == 1
    assert 'value="newbie"' in response.get_data(as_text=True) or fields.get("username")


def test_login_by_username_or_email_and_logout(client, factories):
    user = factories.user("grace", email="Grace@Example.org")
    for login in ("GRACE", "grace@example.org"):
        response = client.post("/auth/login", data={"login": login, "password": factories.PASSWORD})
        assert response.status_code == 302
        assert "grace" in text_of(client.get("/"))
        assert client.post("/auth/logout").status_code == 302
        assert "Log in" in text_of(client.get("/"))
    assert db.session.scalar(select(func.count(UserSession.id))) == 0
    assert user.id


def test_wrong_password_and_unknown_user_get_the_same_message(client, factories):
    factories.user("grace")
    wrong = client.post("/auth/login", data={"login": "grace", "password": "not the password"})
    unknown = client.post("/auth/login", data={"login": "nobody", "password": "not the password"})
    for response in (wrong, unknown):
        assert response.status_code == 422
        assert "Wrong username/email or password." in text_of(response)


def test_login_redirects_to_local_next_only(client, factories):
    factories.user("grace")
    ok = client.post("/auth/login?next=/u/grace", data={"login": "grace", "password": factories.PASSWORD})
    assert ok.headers["Location"] == "/u/grace"
    client.post("/auth/logout")
    for evil in ("https://evil.example/", "//evil.example/", "/\\evil.example", "javascript:alert(1)"):
        response = client.post(f"/auth/login?next={evil}", data={"login": "grace", "password": factories.PASSWORD})
        assert response.headers["Location"] == "/", evil
        client.post("/auth/logout")


def test_cookie_copied_before_logout_is_dead_after_it(app, client, factories, login):
    login(factories.user("grace"))
    stolen = client.get_cookie("session").value
    assert client.post("/auth/logout").status_code == 302
    thief = app.test_client()
    thief.set_cookie("session", stolen, domain="localhost")
    response = thief.get("/settings/profile")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


def test_remember_me_cookie_is_revoked_by_logout(app, client, factories):
    factories.user("grace")
    client.post("/auth/login", data={"login": "grace", "password": factories.PASSWORD, "remember": "y"})
    remember = client.get_cookie("remember_token").value
    client.post("/auth/logout")
    thief = app.test_client()
    thief.set_cookie("remember_token", remember, domain="localhost")
    assert thief.get("/settings/profile").status_code == 302


def test_remember_me_cookie_logs_in_a_new_browser(app, client, factories):
    factories.user("grace")
    client.post("/auth/login", data={"login": "grace", "password": factories.PASSWORD, "remember": "y"})
    other = app.test_client()
    other.set_cookie("remember_token", client.get_cookie("remember_token").value, domain="localhost")
    assert other.get("/settings/profile").status_code == 200


def test_edit_profile_renders_markdown_bio_and_links(client, factories, login):
    user = factories.user("grace")
    login(user)
    response = client.post("/settings/profile", data={
        "display_name": "Grace H.", "affiliation": "Mila", "bio": "I work on $\\nabla_\\theta J$ <script>alert(1)</script>",
        "links": "https://example.org/grace\nhttps://scholar.example.org/g",
    })
    assert response.status_code == 302
    page = client.get("/u/GRACE")
    html = page.get_data(as_text=True)
    assert "Grace H." in html and "Mila" in html and "<math" in html
    assert "<script>alert" not in html
    assert 'href="https://example.org/grace"' in html


def test_profile_with_bad_link_rerenders_and_changes_nothing(client, factories, login):
    user = factories.user("grace", affiliation="Before")
    login(user)
    response = client.post("/settings/profile", data={"affiliation": "After", "links": "javascript:alert(1)"})
    assert response.status_code == 422
    assert "Not an http(s) link" in text_of(response)
    db.session.expire_all()
    assert db.session.get(User, user.id).affiliation == "Before"


def test_profile_of_unknown_user_is_404(client):
    assert client.get("/u/nobody").status_code == 404


def test_change_password_logs_out_other_sessions(app, client, factories, login):
    user = factories.user("grace")
    login(user)
    other = login(user, the_client=app.test_client())
    response = client.post("/settings/password", data={
        "current": factories.PASSWORD, "password": GOOD, "confirm": GOOD})
    assert response.status_code == 302
    assert client.get("/settings/profile").status_code == 200  # this browser stays in
    assert other.get("/settings/profile").status_code == 302  # the other one is out
    db.session.expire_all()
    accounts.authenticate("grace", GOOD)


def test_change_password_with_wrong_current_changes_nothing(client, factories, login):
    user = factories.user("grace")
    login(user)
    before = user.password_hash
    response = client.post("/settings/password", data={"current": "wrong one!!", "password": GOOD, "confirm": GOOD})
    assert response.status_code == 422 and "current password is not right" in text_of(response)
    db.session.expire_all()
    assert db.session.get(User, user.id).password_hash == before


def _reset_link(caplog) -> str:
    match = re.search(r"http://localhost(/auth/reset/\S+)", caplog.text)
    assert match, caplog.text
    return match.group(1)


def test_password_reset_through_logged_mail(client, factories, caplog):
    user = factories.user("grace", email="grace@example.org")
    caplog.set_level("INFO")
    response = client.post("/auth/reset", data={"email": "grace@example.org"})
    assert response.status_code == 302
    link = _reset_link(caplog)
    assert client.get(link).status_code == 200
    assert client.post(link, data={"password": "short", "confirm": "short"}).status_code == 422
    assert client.post(link, data={"password": GOOD, "confirm": GOOD}).status_code == 302
    db.session.expire_all()
    assert accounts.authenticate("grace", GOOD).id == user.id
    # Single use: the same link is refused now.
    again = client.post(link, data={"password": "another long passphrase", "confirm": "another long passphrase"})
    assert again.status_code == 302 and again.headers["Location"].endswith("/auth/reset")
    assert "already been used" in text_of(client.get("/auth/reset"))


def test_reset_for_unknown_address_says_the_same_and_sends_nothing(client, caplog):
    caplog.set_level("INFO")
    response = client.post("/auth/reset", data={"email": "nobody@example.org"}, follow_redirects=True)
    assert "If an account uses that address" in text_of(response)
    assert "/auth/reset/" not in caplog.text


def test_expired_reset_token_is_refused(app, client, factories, monkeypatch):
    user = factories.user("grace")
    token = accounts.make_reset_token(user)
    app.config["RESET_TOKEN_MAX_AGE"] = 1
    real_time = time.time
    monkeypatch.setattr(time, "time", lambda: real_time() + 5)
    response = client.get(f"/auth/reset/{token}", follow_redirects=True)
    assert "expired" in text_of(response)


def test_tampered_reset_token_is_refused(client, factories):
    user = factories.user("grace")
    token = accounts.make_reset_token(user)
    response = client.get(f"/auth/reset/{token[:-2]}xx", follow_redirects=True)
    assert "not valid" in text_of(response)


def test_logged_in_user_pages_require_login(client):
    for path in ("/settings/profile", "/settings/password"):
        response = client.get(path)
        assert response.status_code == 302 and "/auth/login?next=" in response.headers["Location"]
