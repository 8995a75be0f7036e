"""Authentication hardening: login rate limits, timing, session rotation and revocation,
password change and reset, single-use reset tokens, open redirects, remember-me cookies."""

from __future__ import annotations

import statistics
import time
from urllib.parse import quote, urljoin, urlsplit

import pytest
from sqlalchemy import select

from community.extensions import db
from community.models import User, UserSession
from community.services import accounts
from tests.conftest import DEPLOYED_PASSWORD_HASH, text_of
from tests.factories import Factories

PASSWORD = Factories.PASSWORD
NEW_PASSWORD = "a new and rather long passphrase"
OTHER_PASSWORD = "yet another long passphrase here"


@pytest.fixture
def app_config():
    # Limits on whatever the environment says; the numbers below assume these.
    return {"RATELIMIT_ENABLED": True, "LOGIN_RATE_LIMIT": "10 per 15 minutes", "PROPAGATE_EXCEPTIONS": False}


def attempt(app, login: str, password: str, ip: str = "10.0.0.1", client=None, **extra):
    client = client or app.test_client()
    data = {"login": login, "password": password} | extra
    return client.post("/auth/login", data=data, environ_base={"REMOTE_ADDR": ip})


def logged_in(client) -> bool:
    response = client.get("/settings/profile")
    if response.status_code == 302:
        assert "/auth/login" in response.headers["Location"]
        return False
    assert response.status_code == 200
    return True


def assert_rate_limited(response):
    assert response.status_code == 429, response.status_code
    text = text_of(response)
    assert "Too many" in text and "try again" in text, text[:300]
    assert "10 per 15 minute" in text  # the limit is named, so the reader knows how long to wait
    assert int(response.headers["Retry-After"]) > 0


# --------------------------------------------------------------------------- rate limits


def test_eleventh_failed_attempt_on_an_account_is_refused_from_any_ip(app, factories):
    factories.user("grace")
    for i in range(10):
        assert attempt(app, "grace", f"wrong password {i}", ip="10.0.0.1").status_code == 422, i
    assert_rate_limited(attempt(app, "grace", "wrong password 11", ip="10.0.0.1"))
    # The account is the key, not the address: another IP, and the same name written
    # differently, are limited too.
    assert_rate_limited(attempt(app, "grace", "wrong again", ip="10.9.9.9"))
    assert_rate_limited(attempt(app, "  GRACE ", "wrong again", ip="10.9.9.10"))
    # An unrelated account from a fresh address is not.
    factories.user("hopper")
    assert attempt(app, "hopper", "wrong", ip="10.9.9.11").status_code == 422


def test_account_limit_also_covers_logging_in_by_email(app, factories):
    """One account, two login names: the username and the email address. Both must draw on
    the same per-account budget, or an attacker gets twice the guesses per account."""
    user = factories.user("grace")
    for i in range(10):
        assert attempt(app, "grace", f"wrong password {i}", ip=f"10.1.0.{i}").status_code == 422
    assert_rate_limited(attempt(app, user.email, "wrong again", ip="10.1.1.1"))
    assert_rate_limited(attempt(app, user.email.upper(), "wrong again", ip="10.1.1.2"))


def test_eleventh_failed_attempt_from_one_ip_is_refused_whatever_the_account(app, factories):
    for i in range(10):
        assert attempt(app, f"nobody{i}", "wrong password", ip="10.0.0.2").status_code == 422, i
    assert_rate_limited(attempt(app, "nobody-else", "wrong password", ip="10.0.0.2"))
    # X-Forwarded-For is not trusted: rotating it does not buy more attempts.
    for forwarded in ("203.0.113.7", "203.0.113.8, 10.0.0.2"):
        assert_rate_limited(app.test_client().post(
            "/auth/login", data={"login": "another", "password": "wrong"},
            environ_base={"REMOTE_ADDR": "10.0.0.2"}, headers={"X-Forwarded-For": forwarded, "X-Real-IP": "203.0.113.9"}))
    # Another address is not affected.
    factories.user("ada")
    assert attempt(app, "ada", PASSWORD, ip="10.0.0.3").status_code == 302


def test_successful_logins_do_not_count(app, factories):
    factories.user("ada")
    for i in range(9):
        assert attempt(app, "ada", f"wrong {i}", ip="10.0.0.4").status_code == 422
    for _ in range(5):  # five good logins in between, same account, same address
        assert attempt(app, "ada", PASSWORD, ip="10.0.0.4").status_code == 302
    assert attempt(app, "ada", "wrong 10", ip="10.0.0.4").status_code == 422  # the 10th failure
    assert_rate_limited(attempt(app, "ada", "wrong 11", ip="10.0.0.4"))


# --------------------------------------------------------------------------- timing


@pytest.mark.parametrize("app_config", [{"RATELIMIT_ENABLED": False, **DEPLOYED_PASSWORD_HASH}])
def test_unknown_user_and_wrong_password_take_about_as_long(app, factories):
    """Both paths verify an argon2 hash (a dummy one for an unknown user), so the answer time
    does not tell whether an account exists. Compared to each other, never to a clock."""
    factories.user("grace")

    def timed(login: str) -> tuple[float, str]:
        client = app.test_client()
        client.get("/auth/login")
        start = time.perf_counter()
        response = client.post("/auth/login", data={"login": login, "password": "not the password"})
        elapsed = time.perf_counter() - start
        assert response.status_code == 422
        return elapsed, text_of(response)

    timed("grace"), timed("nobody-here")  # warm-up
    unknown, wrong = [], []
    for i in range(7):
        unknown.append(timed(f"nobody-{i}")[0])
        wrong.append(timed("grace")[0])
    u, w = statistics.median(unknown), statistics.median(wrong)
    print(f"login timing: unknown user median {u * 1000:.1f} ms, wrong password median {w * 1000:.1f} ms")
    assert max(u, w) / min(u, w) < 3, (u, w)
    # And the answers read the same.
    assert "Wrong username/email or password." in timed("grace")[1]
    assert "Wrong username/email or password." in timed("nobody-at-all")[1]


# --------------------------------------------------------------------------- sessions


def test_session_is_rotated_at_login(app, factories):
    factories.user("grace")
    browser = app.test_client()
    browser.get("/auth/login")
    before = browser.get_cookie("session").value
    pre_login_token = browser.csrf_token()
    assert browser.post("/auth/login", data={"login": "grace", "password": PASSWORD}).status_code == 302
    after = browser.get_cookie("session").value
    assert before != after
    assert logged_in(browser)
    # A cookie planted before the login (session fixation) carries nothing of it.
    planted = app.test_client()
    planted.set_cookie("session", before)
    assert not logged_in(planted)
    # The CSRF token of the anonymous page is void once logged in (the session was cleared).
    response = browser.post("/notifications/read-all", data={"csrf_token": pre_login_token}, csrf=False)
    assert response.status_code == 400


def test_session_cookie_replayed_after_logout_is_refused(app, factories, login):
    user = factories.user("grace")
    victim = login(user, the_client=app.test_client())
    stolen = victim.get_cookie("session").value
    thief = app.test_client()
    thief.set_cookie("session", stolen)
    assert logged_in(thief)  # control: a copied cookie works while the session lives
    assert victim.post("/auth/logout").status_code == 302
    assert not logged_in(victim)
    replay = app.test_client()
    replay.set_cookie("session", stolen)
    assert not logged_in(replay)
    assert not logged_in(thief)
    assert db.session.scalar(select(UserSession.id).where(UserSession.user_id == user.id)) is None


def test_remember_me_cookie_is_revoked_at_logout(app, factories):
    factories.user("grace")
    browser = app.test_client()
    assert browser.post("/auth/login", data={"login": "grace", "password": PASSWORD, "remember": "y"}).status_code == 302
    remember = browser.get_cookie("remember_token")
    assert remember is not None and remember.http_only
    other_device = app.test_client()
    other_device.set_cookie("remember_token", remember.value)
    assert logged_in(other_device)  # control: the cookie alone logs in
    assert browser.post("/auth/logout").status_code == 302
    replay = app.test_client()
    replay.set_cookie("remember_token", remember.value)
    assert not logged_in(replay)
    assert not logged_in(other_device)


def test_password_change_ends_every_other_session(app, factories, login):
    user = factories.user("grace")
    here = login(user, the_client=app.test_client())
    elsewhere = login(user, the_client=app.test_client())
    remembered = app.test_client()
    remembered.post("/auth/login", data={"login": "grace", "password": PASSWORD, "remember": "y"})
    remember_cookie = remembered.get_cookie("remember_token").value
    response = here.post("/settings/password", data={"current": PASSWORD, "password": NEW_PASSWORD,
                                                     "confirm": NEW_PASSWORD})
    assert response.status_code == 302
    assert logged_in(here)  # the browser that changed it stays in, on a fresh session
    assert not logged_in(elsewhere)
    assert not logged_in(remembered)
    replay = app.test_client()
    replay.set_cookie("remember_token", remember_cookie)
    assert not logged_in(replay)
    assert db.session.scalar(select(UserSession.id).where(UserSession.user_id == user.id)) is not None
    assert attempt(app, "grace", PASSWORD, ip="10.2.0.1").status_code == 422
    assert attempt(app, "grace", NEW_PASSWORD, ip="10.2.0.2").status_code == 302


def test_password_reset_ends_every_session_and_the_link_works_once(app, factories, login):
    user = factories.user("grace")
    one, two = login(user, the_client=app.test_client()), login(user, the_client=app.test_client())
    token = accounts.make_reset_token(user)
    stranger = app.test_client()
    assert stranger.get(f"/auth/reset/{token}").status_code == 200
    response = stranger.post(f"/auth/reset/{token}", data={"password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 302
    assert not logged_in(one) and not logged_in(two)
    assert logged_in(stranger)  # the browser that reset it is logged in
    db.session.expire_all()
    hash_after_reset = db.session.get(User, user.id).password_hash

    # Second use of the same link: refused, and the password stays as the first use set it.
    again = app.test_client()
    response = again.get(f"/auth/reset/{token}")
    assert response.status_code == 302 and "/auth/reset" in response.headers["Location"]
    follow = again.get(response.headers["Location"])
    assert "already been used" in text_of(follow)
    response = again.post(f"/auth/reset/{token}", data={"password": OTHER_PASSWORD, "confirm": OTHER_PASSWORD})
    assert response.status_code == 302 and not logged_in(again)
    db.session.expire_all()
    assert db.session.get(User, user.id).password_hash == hash_after_reset
    assert attempt(app, "grace", OTHER_PASSWORD, ip="10.3.0.1").status_code == 422
    assert attempt(app, "grace", NEW_PASSWORD, ip="10.3.0.2").status_code == 302


def test_reset_link_dies_when_the_password_changes_and_when_it_expires(app, factories, login):
    user = factories.user("grace")
    token = accounts.make_reset_token(user)
    browser = login(user, the_client=app.test_client())
    browser.post("/settings/password", data={"current": PASSWORD, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    response = app.test_client().post(f"/auth/reset/{token}", data={"password": OTHER_PASSWORD, "confirm": OTHER_PASSWORD})
    assert response.status_code == 302 and "/auth/reset" in response.headers["Location"]
    fresh = accounts.make_reset_token(db.session.get(User, user.id))
    app.config["RESET_TOKEN_MAX_AGE"] = -1  # every token is older than that
    response = app.test_client().get(f"/auth/reset/{fresh}")
    assert response.status_code == 302 and "/auth/reset" in response.headers["Location"]
    app.config["RESET_TOKEN_MAX_AGE"] = 3600
    tampered = fresh[:-2] + ("AA" if not fresh.endswith("AA") else "BB")
    response = app.test_client().get(f"/auth/reset/{tampered}")
    assert response.status_code == 302 and "/auth/reset" in response.headers["Location"]
    assert attempt(app, "grace", NEW_PASSWORD, ip="10.4.0.1").status_code == 302


def test_reset_request_does_not_reveal_whether_an_account_exists(app, factories):
    factories.user("grace")
    known = app.test_client().post("/auth/reset", data={"email": "grace@example.org"}, environ_base={"REMOTE_ADDR": "10.5.0.1"})
    unknown = app.test_client().post("/auth/reset", data={"email": "nobody@example.org"}, environ_base={"REMOTE_ADDR": "10.5.0.2"})
    assert known.status_code == unknown.status_code == 302
    assert known.headers["Location"] == unknown.headers["Location"]


# --------------------------------------------------------------------------- open redirects

# What an attacker puts after ?next= (already URL-encoded, as it travels).
NEXT_VARIANTS = [
    "//evil.example",
    quote("//evil.example", safe=""),            # %2F%2Fevil.example
    quote("%2F%2Fevil.example", safe=""),        # double-encoded
    "/%5Cevil.example",                          # /\evil.example
    quote("/\\evil.example", safe=""),
    "%5C%5Cevil.example",                        # \\evil.example
    "/%5C/evil.example",
    "///evil.example",
    "////evil.example",
    "https:evil.example",
    "https:/evil.example",
    "https://evil.example/",
    "http://localhost@evil.example/",
    "http://evil.example%23@localhost/",
    "//localhost@evil.example",
    "/%09/evil.example",                         # a tab: browsers drop it, leaving //evil.example
    "/%0a/evil.example",
    "%20//evil.example",
    "javascript:alert(1)",
    "JaVaScRiPt%3Aalert(1)",
    "%0Ajavascript:alert(1)",
    "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "/%0d%0aSet-Cookie:%20evil=1",               # header injection through the Location
    "/%00evil.example",
]


def browser_target(location: str) -> urlsplit:
    """Where a browser goes for this Location: browsers drop tabs and newlines, strip leading
    control characters and spaces, and read backslashes as slashes in http(s) URLs."""
    cleaned = "".join(ch for ch in location if ch not in "\t\n\r").lstrip("".join(map(chr, range(33))))
    cleaned = cleaned.replace("\\", "/")
    return urlsplit(urljoin("http://localhost/auth/login", cleaned))


@pytest.mark.parametrize("app_config", [{"RATELIMIT_ENABLED": False, "PROPAGATE_EXCEPTIONS": False}])
@pytest.mark.parametrize("raw_next", NEXT_VARIANTS)
def test_login_next_never_leaves_the_site(app, factories, raw_next):
    factories.user("grace")
    browser = app.test_client()
    try:
        response = browser.post(f"/auth/login?next={raw_next}", data={"login": "grace", "password": PASSWORD})
    except Exception as error:  # an escaping exception is a bare 500 in production
        pytest.fail(f"?next={raw_next}: unhandled {type(error).__name__}: {error}")
    if "%00" in raw_next:  # NUL is refused before any view runs: nowhere to go at all
        assert response.status_code == 400
        return
    assert response.status_code == 302, f"?next={raw_next}: {response.status_code}"
    location = response.headers["Location"]
    target = browser_target(location)
    assert target.scheme in ("http", "https") and target.hostname == "localhost", f"?next={raw_next} -> {location!r}"
    assert "javascript" not in location.lower(), location
    assert not any(h.startswith("evil=") for h in response.headers.getlist("Set-Cookie"))


@pytest.mark.parametrize("referrer", [
    "http://evil.example/page", "http://localhost.evil.example/", "http://localhost//evil.example/",
    "http://localhost/\\evil.example", "https://localhost@evil.example/", "javascript:alert(1)//http://localhost/",
])
def test_vote_redirect_back_ignores_a_foreign_referrer(app, factories, login, referrer):
    episode = factories.episode(1)
    post = factories.comment(factories.user("author"), episode)
    browser = login(factories.user("voter"))
    response = browser.post(f"/posts/{post.id}/vote", data={"up": "1"}, headers={"Referer": referrer})
    assert response.status_code == 302
    target = browser_target(response.headers["Location"])
    assert target.hostname == "localhost" and "evil" not in response.headers["Location"], response.headers["Location"]
