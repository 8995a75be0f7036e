"""Browser tests: the real app served on 127.0.0.1, driven by Playwright in Debian's chromium."""

from __future__ import annotations

import shutil
import threading

import pytest
from werkzeug.serving import make_server

from community.extensions import db
from tests.conftest import make_test_app
from tests.factories import Factories

CHROMIUM = shutil.which("chromium")
pytestmark = pytest.mark.e2e


@pytest.fixture(params=["sqlite"])
def database(request):
    """Browser journeys run on SQLite (the embedded default)."""
    return request.param


@pytest.fixture
def live_app(tmp_path):
    app = make_test_app("sqlite", tmp_path, SERVER_NAME=None)
    with app.app_context():
        db.create_all()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    app.base_url = f"http://127.0.0.1:{server.server_port}"
    try:
        yield app
    finally:
        server.shutdown()
        with app.app_context():
            db.engine.dispose()


@pytest.fixture
def data(live_app):
    """Factories bound to the live server's database."""
    with live_app.app_context():
        yield Factories()


@pytest.fixture(scope="session")
def browser():
    if CHROMIUM is None:
        pytest.skip("Debian's chromium is not installed (make test installs it with apt-get when it can)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--disable-gpu"],
        )
        yield browser
        browser.close()


@pytest.fixture(params=[True, False], ids=["js", "nojs"])
def javascript(request) -> bool:
    return request.param


@pytest.fixture
def new_page(browser, live_app):
    """new_page(js=True) -> a page in a fresh browser context (its own cookies)."""
    contexts = []

    def make(js: bool = True, **options):
        context = browser.new_context(java_script_enabled=js, base_url=live_app.base_url, **options)
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        page.dialogs = []
        page.on("dialog", lambda dialog: (page.dialogs.append(dialog.message), dialog.dismiss()))
        return page

    yield make
    for context in contexts:
        context.close()


def log_in(page, username: str, password: str = Factories.PASSWORD) -> None:
    page.goto("/auth/login")
    page.get_by_label("Username or email").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/auth/login" not in url)
