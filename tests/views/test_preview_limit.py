"""Previews render as much as a post does, so they have a rate limit of their own: the
live preview and the Preview button draw on one budget per user, apart from posting."""

from __future__ import annotations

import pytest


@pytest.fixture
def app_config():
    return {"RATELIMIT_ENABLED": True, "PREVIEW_RATE_LIMIT": "5 per minute"}


def test_live_preview_and_preview_button_share_one_budget(app, factories, login):
    episode = factories.episode(1, "Kelvin Guu on retrieval")
    browser = login(factories.user("ada"), the_client=app.test_client())
    for i in range(3):
        response = browser.post("/markup/preview", data={"body": f"$x^{i}$"})
        assert response.status_code == 200 and "<math" in response.get_json()["html"]
    for _ in range(2):
        assert browser.post(f"/episodes/{episode.slug}/comments", data={"body": "draft", "preview": "Preview"}).status_code == 200
    assert browser.post("/markup/preview", data={"body": "one more"}).status_code == 429
    refused = browser.post(f"/episodes/{episode.slug}/comments", data={"body": "draft", "preview": "Preview"})
    assert refused.status_code == 429
    # Posting has its own budget: previews spent it not.
    assert browser.post(f"/episodes/{episode.slug}/comments", data={"body": "the real comment"}).status_code == 302
    # Another user's budget is untouched.
    other = login(factories.user("grace"), the_client=app.test_client())
    assert other.post("/markup/preview", data={"body": "hello"}).status_code == 200
