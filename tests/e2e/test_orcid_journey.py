"""Sign in with ORCID in a real browser (JavaScript on and off), against the local OpenID
provider of tests/oidc_provider.py: the login page's button, the redirects through the
provider, the short create-your-account step, the profile with the verified iD, then
linking from settings for another member. The new pages pass axe (no serious or critical
violation)."""

from __future__ import annotations

import threading

import pytest
from playwright.sync_api import expect
from sqlalchemy import select
from werkzeug.serving import make_server

from community.extensions import db
from community.models import User
from tests.conftest import make_test_app
from tests.e2e.conftest import log_in
from tests.e2e.scenario import axe_script, describe_violations, run_axe  # noqa: F401 (axe_script: a fixture)
from tests.factories import Factories
from tests.oidc_provider import oidc_app_config, oidc_provider  # noqa: F401 (a fixture)

JOSIAH = "0000-0002-1825-0097"


@pytest.fixture
def orcid_site(tmp_path, oidc_provider):
    app = make_test_app("sqlite", tmp_path, SERVER_NAME=None, **oidc_app_config(oidc_provider))
    with app.app_context():
        db.create_all()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    app.base_url = f"http://127.0.0.1:{server.server_port}"
    oidc_provider.client.redirect_uris = [f"{app.base_url}/auth/orcid/callback"]
    try:
        yield app
    finally:
        server.shutdown()
        with app.app_context():
            db.engine.dispose()


def no_serious_violations(page, script: str) -> None:
    results = run_axe(page, script)
    serious = [v for v in results["violations"] if v["impact"] in ("serious", "critical")]
    assert not serious, describe_violations(serious)


@pytest.mark.parametrize("js", [True, False], ids=["js", "nojs"])
def test_sign_in_with_orcid_creates_an_account_shown_as_verified(browser, orcid_site, axe_script, js):
    context = browser.new_context(java_script_enabled=js, base_url=orcid_site.base_url)
    context.set_default_timeout(10_000)
    try:
        page = context.new_page()
        page.goto("/auth/login")
        page.get_by_role("button", name="Sign in with ORCID").click()
        expect(page.get_by_role("heading", name="Create your account")).to_be_visible()
        expect(page.get_by_role("link", name=f"https://orcid.org/{JOSIAH}")).to_be_visible()
        expect(page.get_by_label("Display name")).to_have_value("Josiah Carberry")
        if js:  # axe is a script: it runs where scripts do
            no_serious_violations(page, axe_script)
        page.get_by_label("Username").fill("josiah")
        page.get_by_label("Email").fill("josiah@example.org")
        page.get_by_role("button", name="Create account").click()
        expect(page.get_by_text(f"Your ORCID iD {JOSIAH} is linked and verified.")).to_be_visible()

        page.goto("/u/josiah")
        link = page.get_by_role("link", name=f"https://orcid.org/{JOSIAH}")
        expect(link).to_have_attribute("href", f"https://orcid.org/{JOSIAH}")
        expect(page.get_by_text("verified through ORCID sign-in")).to_be_visible()
        with orcid_site.app_context():
            assert db.session.scalar(select(User.orcid_id).where(User.username == "josiah")) == JOSIAH
    finally:
        context.close()


def test_a_member_links_orcid_from_settings(browser, orcid_site, axe_script):
    with orcid_site.app_context():
        Factories().user("grace")
        db.session.commit()
    context = browser.new_context(base_url=orcid_site.base_url)
    context.set_default_timeout(10_000)
    try:
        page = context.new_page()
        log_in(page, "grace")
        page.goto("/settings/profile")
        page.get_by_role("navigation", name="Settings").get_by_role("link", name="ORCID").click()
        no_serious_violations(page, axe_script)
        page.get_by_role("button", name="Link your ORCID iD").click()
        expect(page.get_by_text(f"Your ORCID iD {JOSIAH} is linked and verified.")).to_be_visible()
        expect(page.get_by_role("button", name="Unlink your ORCID iD")).to_be_visible()
        no_serious_violations(page, axe_script)
    finally:
        context.close()
