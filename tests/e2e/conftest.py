"""Browser tests: the real app served on 127.0.0.1, driven by Playwright in Debian's chromium."""

from __future__ import annotations

import pytest

from tests.factories import Factories

@pytest.fixture(params=["sqlite"])
def database(request):
    """Browser journeys run on SQLite (the embedded default)."""
    return request.param


def log_in(page, username: str, password: str = Factories.PASSWORD) -> None:
    page.goto("/auth/login")
    page.get_by_label("Username or email").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/auth/login" not in url)
