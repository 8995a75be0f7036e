"""Sign in with ORCID and link ORCID, end to end over HTTP against a real OpenID provider.

The provider (tests/oidc_provider.py: Authlib's server side, RS256 ID tokens, a JWKS
endpoint, a discovery document) and the site are both served on 127.0.0.1; a `requests`
session plays the browser and walks every redirect itself: our /auth/orcid/login ->
the provider's authorize endpoint (which approves at once) -> our callback with the code
-> the site exchanges it at the token endpoint over HTTP and verifies the signed ID token.
Nothing of ours is patched. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import re
import threading
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import pytest
import requests
from sqlalchemy import func, select
from werkzeug.serving import make_server

from community.extensions import db
from community.models import User, UserSession
from community.services import orcid, verification
from tests.conftest import make_test_app, reset_database, text_of
from tests.factories import Factories
from tests.oidc_provider import CLIENT_ID, CLIENT_SECRET, FAULTS, oidc_app_config, oidc_provider  # noqa: F401 (a fixture)
from tests.views.test_smtp import free_port

JOSIAH = "0000-0002-1825-0097"  # ORCID's own fictional test researcher, Josiah Carberry


@pytest.fixture
def provider(oidc_provider):
    return oidc_provider


@pytest.fixture
def app_config(provider):
    return {**oidc_app_config(provider), "SERVER_NAME": None}


@pytest.fixture
def site(app, provider):
    """The app served for real on 127.0.0.1; the provider accepts its callback address."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    provider.client.redirect_uris = [f"{base}/auth/orcid/callback"]
    try:
        yield base
    finally:
        server.shutdown()


class Browser:
    """A cookie-keeping HTTP client that follows redirects one at a time, so the test
    sees (and may meddle with) each hop between the site and the provider."""

    def __init__(self, base: str):
        self.base = base
        self.http = requests.Session()
        self.hops: list[str] = []

    def url(self, path: str) -> str:
        return path if path.startswith("http") else self.base + path

    def get(self, path: str) -> requests.Response:
        return self.http.get(self.url(path), allow_redirects=False, timeout=30)

    def post(self, path: str, data: dict) -> requests.Response:
        return self.http.post(self.url(path), data=data, allow_redirects=False, timeout=30)

    def token(self, path: str) -> str:
        page = self.get(path)
        assert page.status_code == 200, (path, page.status_code)
        return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text).group(1)

    def follow(self, response: requests.Response, meddle=None) -> requests.Response:
        """Follow redirects to the end; `meddle(url) -> url` may change the callback hop."""
        while response.status_code in (301, 302, 303):
            location = response.headers["Location"]
            target = requests.compat.urljoin(response.url, location)
            if meddle and "/auth/orcid/callback" in target:
                target = meddle(target)
            self.hops.append(target)
            response = self.get(target)
        return response

    def sign_in_with_orcid(self, start_page: str = "/auth/login", meddle=None) -> requests.Response:
        token = self.token(start_page)
        return self.follow(self.post("/auth/orcid/login", {"csrf_token": token}), meddle)

    def logged_in_as(self) -> str | None:
        page = self.get("/settings/profile")
        if page.status_code != 200:
            return None
        return re.search(r'href="/u/([^"]+)"', page.text).group(1)


def page_text(response: requests.Response) -> str:
    class Shim:
        def get_data(self, as_text=True):
            return response.text

    return text_of(Shim())


def count(model) -> int:
    db.session.rollback()  # see what the server threads committed
    return db.session.scalar(select(func.count()).select_from(model))


def a_valid_id(base15: str) -> str:
    digits = base15 + orcid.checksum_digit(base15)
    return "-".join(digits[i:i + 4] for i in range(0, 16, 4))


# ----------------------------------------------------------------------------- sign-in


def test_sign_in_creates_an_account_then_logs_into_the_same_one(site, provider):
    browser = Browser(site)
    login_page = browser.get("/auth/login")
    assert "Sign in with ORCID" in page_text(login_page)
    # The button is a form whose answer redirects to the provider: the CSP lets it go there.
    assert f"form-action 'self' {provider.issuer};" in login_page.headers["Content-Security-Policy"]

    step = browser.sign_in_with_orcid()
    # The hops: the provider's authorize endpoint with state and nonce, then our callback.
    authorize = urlsplit(browser.hops[0])
    assert f"{authorize.scheme}://{authorize.netloc}" == provider.issuer
    query = parse_qs(authorize.query)
    assert query["response_type"] == ["code"] and query["scope"] == ["openid"]
    assert query["client_id"] == [CLIENT_ID] and query["state"][0] and query["nonce"][0]
    assert query["redirect_uri"] == [f"{site}/auth/orcid/callback"]
    assert browser.hops[1].startswith(f"{site}/auth/orcid/callback?code=")
    assert provider.token_requests == 1  # the code was exchanged over HTTP
    # The provider writes `amr` as ORCID does ("pwd", a string where the spec has a list):
    # accepted, where Authlib's default claims class refuses it.

    # An iD nobody holds: the short "create your account" step, name prefilled from the claims.
    assert step.status_code == 200 and step.url.endswith("/auth/orcid/new")
    text = page_text(step)
    assert f"https://orcid.org/{JOSIAH}" in text and "Create your account" in text
    assert 'value="Josiah Carberry"' in step.text
    assert "Log in with your password" in text  # the way to link it to an existing account instead
    assert count(User) == 0 and count(UserSession) == 0  # nothing yet

    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', step.text).group(1)
    done = browser.post("/auth/orcid/new", {"csrf_token": token, "username": "josiah", "email": "josiah@example.org",
                                           "display_name": "Josiah Carberry"})
    assert done.status_code == 302 and done.headers["Location"].endswith("/settings/profile")
    assert browser.logged_in_as() == "josiah"
    user = db.session.scalar(select(User).where(User.username == "josiah"))
    assert user.orcid_id == JOSIAH and user.orcid_verified_at is not None and user.display_name == "Josiah Carberry"
    assert count(UserSession) == 1  # a server-side session, as for a password login
    # A researcher verified by ORCID (services.verification), and an address still to confirm.
    assert [(v.kind.value, v.detail) for v in verification.verifications_of(user)] == [("orcid", JOSIAH)]
    assert user.verified_via == "orcid" and user.email_confirmed_at is None
    assert "gi_device" in {c.name for c in browser.http.cookies}  # and a known device, as for a password login

    # The profile shows the iD as verified, linked to orcid.org.
    profile = browser.get("/u/josiah")
    assert f'href="https://orcid.org/{JOSIAH}"' in profile.text
    assert "verified through ORCID sign-in" in page_text(profile)

    # Logged out, then signed in again from a new browser: the same account, no new one.
    again = Browser(site)
    landed = again.sign_in_with_orcid()
    assert landed.status_code == 200 and urlsplit(landed.url).path == "/"
    assert again.logged_in_as() == "josiah"
    assert "Logged in as josiah with ORCID" in page_text(landed)
    assert count(User) == 1 and count(UserSession) == 2
    assert provider.token_requests == 2


def test_the_create_account_step_keeps_what_was_typed_and_says_what_is_wrong(site, factories):
    factories.user("taken_name", email="taken@example.org")
    db.session.commit()
    browser = Browser(site)
    step = browser.sign_in_with_orcid()
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', step.text).group(1)
    refused = browser.post("/auth/orcid/new", {"csrf_token": token, "username": "taken_name",
                                              "email": "taken@example.org", "display_name": "taken_name"})
    assert refused.status_code == 422
    text = page_text(refused)
    assert "That username is taken." in text and "An account with this email already exists." in text
    assert "That display name is too close to an existing name: taken_name." in text
    assert 'value="taken_name"' in refused.text
    assert count(User) == 1 and browser.logged_in_as() is None


def test_the_login_page_passes_next_through_orcid(site, factories):
    user = factories.user("ada")
    user.orcid_id = JOSIAH
    db.session.commit()
    browser = Browser(site)
    token = browser.token("/auth/login?next=/notifications")
    landed = browser.follow(browser.post("/auth/orcid/login", {"csrf_token": token, "next": "/notifications"}))
    assert urlsplit(landed.url).path == "/notifications" and browser.logged_in_as() == "ada"


# ----------------------------------------------------------------------------- linking


def log_in(browser: Browser, username: str) -> None:
    token = browser.token("/auth/login")
    response = browser.post("/auth/login", {"csrf_token": token, "login": username, "password": Factories.PASSWORD})
    assert response.status_code == 302


def link(browser: Browser, meddle=None) -> requests.Response:
    token = browser.token("/settings/orcid")
    return browser.follow(browser.post("/settings/orcid/link", {"csrf_token": token}), meddle)


def test_a_member_links_their_orcid_from_settings_then_signs_in_with_it_and_unlinks_it(site, provider, factories):
    factories.user("grace")
    db.session.commit()
    browser = Browser(site)
    log_in(browser, "grace")
    settings = browser.get("/settings/orcid")
    assert "Link your ORCID iD" in page_text(settings)

    done = link(browser)
    assert urlsplit(done.url).path == "/settings/orcid"
    assert f"Your ORCID iD {JOSIAH} is linked and verified." in page_text(done)
    grace = db.session.scalar(select(User).where(User.username == "grace"))
    assert grace.orcid_id == JOSIAH and grace.verified_via == "orcid" and grace.verified_detail == JOSIAH
    assert f'href="https://orcid.org/{JOSIAH}"' in browser.get("/u/grace").text

    # Anyone's profile shows it, and the API's user objects carry it.
    assert f"https://orcid.org/{JOSIAH}" in page_text(Browser(site).get("/u/grace"))

    # A new browser signs in to grace's account with ORCID.
    other = Browser(site)
    other.sign_in_with_orcid()
    assert other.logged_in_as() == "grace"

    token = browser.token("/settings/orcid")
    unlinked = browser.follow(browser.post("/settings/orcid/unlink", {"csrf_token": token}))
    assert f"The ORCID iD {JOSIAH} is no longer linked to your account." in page_text(unlinked)
    db.session.rollback()
    assert db.session.get(User, grace.id).orcid_id is None
    assert db.session.get(User, grace.id).verified_via is None  # the verification went with it
    assert verification.verifications_of(db.session.get(User, grace.id)) == []
    assert "orcid.org" not in Browser(site).get("/u/grace").text


def test_an_id_linked_to_another_account_is_refused_with_the_reason(site, factories):
    holder = factories.user("holder")
    holder.orcid_id = JOSIAH
    factories.user("second")
    db.session.commit()
    browser = Browser(site)
    log_in(browser, "second")
    refused = link(browser)
    assert urlsplit(refused.url).path == "/settings/orcid"
    assert (f"The ORCID iD {JOSIAH} is already linked to another account on this site."
            in page_text(refused))
    db.session.rollback()
    assert db.session.scalar(select(User).where(User.username == "second")).orcid_id is None
    assert db.session.scalar(select(User).where(User.username == "holder")).orcid_id == JOSIAH


def test_an_account_with_an_id_cannot_link_a_second_one(site, provider, factories):
    user = factories.user("ada")
    user.orcid_id = a_valid_id("000000021234567")
    db.session.commit()
    browser = Browser(site)
    log_in(browser, "ada")
    assert "Unlink your ORCID iD" in page_text(browser.get("/settings/orcid"))
    # Pressed from an old tab: refused, the first iD stays.
    token = browser.token("/settings/profile")
    refused = browser.follow(browser.post("/settings/orcid/link", {"csrf_token": token}))
    assert f"Your account is linked to the ORCID iD {user.orcid_id}. Unlink it first" in page_text(refused)


def test_a_deleted_account_lets_go_of_its_id(site, factories):
    browser = Browser(site)
    factories.user("leaving")
    db.session.commit()
    log_in(browser, "leaving")
    link(browser)
    token = browser.token("/settings/delete")
    assert browser.post("/settings/delete", {"csrf_token": token, "password": Factories.PASSWORD,
                                             "posts": "keep"}).status_code == 302
    # The same iD now starts a new account.
    step = Browser(site).sign_in_with_orcid()
    assert urlsplit(step.url).path == "/auth/orcid/new"


# ----------------------------------------------------------------------------- refusals


REFUSALS = {
    "tampered": "did not carry a valid signature from ORCID's published keys",
    "forged": "did not carry a valid signature from ORCID's published keys",
    "audience": "it was issued for another application",
    "expired": "The ID token from ORCID has expired",
    "nonce": "it does not answer the sign-in this browser started (its nonce does not match)",
    "denied": "You did not allow the sign-in at ORCID",
}


@pytest.mark.parametrize("fault", FAULTS)
def test_a_bad_id_token_is_refused_with_the_reason_and_no_session(site, provider, factories, fault):
    """Each fault of tests/oidc_provider.py. "audience" is a token issued for another client
    with `azp` naming ours, which Authlib's default checks let through: the site pins the
    audience itself (views.orcid)."""
    # The account exists: a token that passed would log straight into it.
    user = factories.user("holder")
    user.orcid_id = JOSIAH
    db.session.commit()
    provider.fault = fault
    browser = Browser(site)
    refused = browser.sign_in_with_orcid()
    assert refused.status_code == (403 if fault == "denied" else 400)
    text = page_text(refused)
    assert "ORCID sign-in refused" in text and REFUSALS[fault] in text
    assert "Nobody was logged in and nothing was changed." in text
    assert browser.logged_in_as() is None
    assert count(UserSession) == 0 and count(User) == 1
    if fault != "denied":
        assert provider.token_requests == 1  # refused after the exchange, on what the token says


def test_a_bad_id_token_refused_while_linking_changes_nothing(site, provider, factories):
    factories.user("grace")
    db.session.commit()
    browser = Browser(site)
    log_in(browser, "grace")
    provider.fault = "tampered"
    refused = link(browser)
    assert refused.status_code == 400 and "may have been tampered with" in page_text(refused)
    db.session.rollback()
    assert db.session.scalar(select(User).where(User.username == "grace")).orcid_id is None


def _with_state(value: str):
    def meddle(url: str) -> str:
        parts = urlsplit(url)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        query["state"] = value
        return urlunsplit(parts._replace(query=urlencode(query)))
    return meddle


def test_a_wrong_state_is_refused_before_the_code_is_used(site, provider, factories):
    user = factories.user("holder")
    user.orcid_id = JOSIAH
    db.session.commit()
    browser = Browser(site)
    refused = browser.sign_in_with_orcid(meddle=_with_state("an-attackers-state"))
    assert refused.status_code == 400
    assert "does not match one started in this browser" in page_text(refused)
    assert provider.token_requests == 0 and browser.logged_in_as() is None and count(UserSession) == 0


def test_a_callback_from_another_browser_is_refused(site, provider, factories):
    """Login CSRF: an attacker's own code and state, replayed in the victim's browser."""
    user = factories.user("attacker")
    user.orcid_id = JOSIAH
    db.session.commit()
    captured = []
    attacker = Browser(site)
    attacker.sign_in_with_orcid(meddle=lambda url: captured.append(url) or url + "&dropped=1")
    victim = Browser(site)
    victim.get("/")
    refused = victim.get(captured[0])
    assert refused.status_code == 400 and victim.logged_in_as() is None


def test_a_callback_used_twice_is_refused_the_second_time(site, provider, factories):
    user = factories.user("holder")
    user.orcid_id = JOSIAH
    db.session.commit()
    browser = Browser(site)
    browser.sign_in_with_orcid()
    callback = next(hop for hop in browser.hops if "/auth/orcid/callback" in hop)
    token = browser.token("/settings/profile")
    browser.post("/auth/logout", {"csrf_token": token})
    replay = browser.get(callback)
    assert replay.status_code == 400 and "already used" in page_text(replay)
    assert browser.logged_in_as() is None


def test_an_unreachable_provider_is_said_plainly(database, tmp_path):
    closed = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    app = make_test_app(database, tmp_path, ORCID_CLIENT_ID=CLIENT_ID, ORCID_CLIENT_SECRET=CLIENT_SECRET,
                        ORCID_ISSUER=closed)
    reset_database(app, database)
    with app.app_context():
        client = app.test_client()
        response = client.post("/auth/orcid/login")
        assert response.status_code == 502
        assert "ORCID cannot be reached right now" in text_of(response)
        db.session.remove()
        db.engine.dispose()


def test_without_client_credentials_there_is_no_orcid_anywhere(database, tmp_path, factories):
    app = make_test_app(database, tmp_path)  # no ORCID_CLIENT_ID / ORCID_CLIENT_SECRET
    reset_database(app, database)
    with app.app_context():
        client = app.test_client()
        login_page = client.get("/auth/login")
        assert "ORCID" not in text_of(login_page)
        assert "form-action 'self';" in login_page.headers["Content-Security-Policy"]
        assert "ORCID" not in text_of(client.get("/auth/register"))
        assert client.post("/auth/orcid/login").status_code == 404
        assert client.get("/auth/orcid/callback?code=x&state=y").status_code == 404
        factories.user("ada")
        db.session.commit()
        client.post("/auth/login", data={"login": "ada", "password": Factories.PASSWORD})
        assert "ORCID" not in text_of(client.get("/settings/profile"))  # not in the settings menu either
        assert "not set up for ORCID sign-in" in text_of(client.get("/settings/orcid"))
        assert client.post("/settings/orcid/link").status_code == 404
        db.session.remove()
        db.engine.dispose()


# ----------------------------------------------------------------------------- the iD itself


def test_orcid_id_format_and_checksum():
    assert orcid.is_valid_orcid_id("0000-0002-1825-0097")
    assert orcid.is_valid_orcid_id("0000-0002-1694-233X")  # ORCID's documented example with an X check
    assert not orcid.is_valid_orcid_id("0000-0002-1825-0098")  # one digit off
    assert not orcid.is_valid_orcid_id("0000-0002-1694-2330")
    assert not orcid.is_valid_orcid_id("0000000218250097")
    assert not orcid.is_valid_orcid_id("0000-0002-1825-009")
    assert not orcid.is_valid_orcid_id("https://orcid.org/0000-0002-1825-0097")


def test_a_subject_that_is_not_a_valid_id_is_refused():
    assert orcid.identity_from_claims({"sub": f"https://orcid.org/{JOSIAH}"}).orcid_id == JOSIAH
    with pytest.raises(orcid.DomainError, match="did not name a valid ORCID iD"):
        orcid.identity_from_claims({"sub": "0000-0002-1825-0098"})
    with pytest.raises(orcid.DomainError):
        orcid.identity_from_claims({"sub": "12345"})


def test_the_api_shows_a_verified_orcid_on_user_objects(site, factories):
    from datetime import timezone

    from community.models.base import utcnow
    from community.services import discussion

    author = factories.user("ada")
    author.orcid_id, author.orcid_verified_at = JOSIAH, utcnow().astimezone(timezone.utc)
    plain = factories.user("bob")
    episode = factories.episode(1, "An episode")
    discussion.create_post(author, episode=episode, body="With an iD.")
    discussion.create_post(plain, episode=episode, body="Without.")
    db.session.commit()
    thread = requests.get(f"{site}/api/v1/episodes/{episode.slug}/thread", timeout=30).json()
    authors = {}

    def walk(nodes):
        for node in nodes:
            if node.get("author"):
                authors[node["author"]["username"]] = node["author"]
            walk(node.get("replies", []))

    walk(thread["posts"])
    assert authors["ada"]["orcid"]["id"] == JOSIAH
    assert authors["ada"]["orcid"]["url"] == f"https://orcid.org/{JOSIAH}"
    assert authors["ada"]["orcid"]["verified"] is True
    assert authors["bob"]["orcid"] is None
