"""Limits count what was accepted: refused submissions never spend a writer's budget, and a
spent budget shows the same form again with the text and when it may be sent (issue 21)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from community.extensions import db
from community.models import Post, PostKind, Role
from community.models.base import utcnow
from tests.conftest import text_of


@pytest.fixture
def episode(factories):
    return factories.episode(1, "Kelvin Guu on retrieval")


@pytest.fixture
def ada(factories, login):
    user = factories.user("ada", created_at=utcnow() - timedelta(days=30))
    login(user)
    return user


def count(kind: PostKind) -> int:
    return db.session.scalar(select(func.count()).select_from(Post).where(Post.kind == kind))


def test_empty_comments_do_not_spend_the_budget(client, episode, ada):
    for _ in range(6):
        assert client.post(f"/episodes/{episode.slug}/comments", data={"body": "  "}).status_code == 422
    statuses = [client.post(f"/episodes/{episode.slug}/comments", data={"body": f"comment {i}"}).status_code
                for i in range(5)]
    assert statuses == [302] * 5 and count(PostKind.comment) == 5


def test_a_spent_budget_shows_the_form_again_with_the_text_and_the_wait(client, episode, ada):
    for i in range(5):
        client.post(f"/episodes/{episode.slug}/comments", data={"body": f"comment {i}"})
    response = client.post(f"/episodes/{episode.slug}/comments", data={"body": "My carefully written sixth thought"})
    page = response.get_data(as_text=True)
    assert response.status_code == 429 and int(response.headers["Retry-After"]) > 0
    assert "My carefully written sixth thought</textarea>" in page
    assert "you can send it in" in text_of(response) and 'id="comment-body"' in page
    assert "Back to the front page" not in page and count(PostKind.comment) == 5


def test_six_invalid_papers_then_a_valid_one_is_accepted(client, episode, ada):
    for _ in range(6):
        response = client.post(f"/episodes/{episode.slug}/papers", data={"link": "not a link", "title": ""})
        assert response.status_code == 422 and 'value="not a link"' in response.get_data(as_text=True)
    response = client.post(f"/episodes/{episode.slug}/papers",
                           data={"link": "https://arxiv.org/abs/2005.11401", "title": "RAG"})
    assert response.status_code == 302 and count(PostKind.paper) == 1


def test_a_reading_list_of_twenty_papers_goes_in_one_sitting(client, episode, ada):
    statuses = [client.post(f"/episodes/{episode.slug}/papers",
                            data={"link": f"https://arxiv.org/abs/2005.{11400 + i:05d}", "title": f"Paper {i}"}).status_code
                for i in range(20)]
    assert statuses == [302] * 20 and count(PostKind.paper) == 20


def test_refused_questions_and_suggestions_keep_the_budget(client, episode, ada):
    for _ in range(6):
        assert client.post(f"/episodes/{episode.slug}/questions", data={"body": ""}).status_code == 422
        response = client.post("/guests/suggestions/new", data={"name": "Ada Lovelace", "why": ""})
        assert response.status_code == 422 and 'value="Ada Lovelace"' in response.get_data(as_text=True)
    assert client.post(f"/episodes/{episode.slug}/questions", data={"body": "What next?"}).status_code == 302


def test_the_paper_limit_is_the_consoles_setting(app, client, episode, ada, factories, login):
    """An admin tightens the paper limit at /admin/settings: the next paper past it is refused
    with the text kept, and only the accepted ones are stored."""
    admin = login(factories.user("root", role=Role.admin), the_client=app.test_client())
    assert admin.post("/admin/settings/PAPER_RATE_LIMIT",
                      data={"PAPER_RATE_LIMIT-value": "2 per 10 minutes"}).status_code == 302
    assert "Paper rate limit" in text_of(admin.get("/admin/settings"))
    statuses = [client.post(f"/episodes/{episode.slug}/papers",
                            data={"link": f"https://arxiv.org/abs/2005.{11400 + i:05d}", "title": f"Paper {i}"}).status_code
                for i in range(3)]
    assert statuses == [302, 302, 429] and count(PostKind.paper) == 2
