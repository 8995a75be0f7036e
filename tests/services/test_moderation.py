"""Flags and moderator decisions: who weighs how much, when a post hides itself, and what
a moderator, an author and a new account may do."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from community.extensions import db
from community.models import FlagReason, ModerationAction, PostStatus, Role
from community.models.base import utcnow
from community.services import DomainError, PermissionDenied, moderation


def test_flag_weights_follow_role_and_account_age(app, factories):
    threshold = app.config["FLAG_THRESHOLD"]
    young = factories.user(created_at=utcnow() - timedelta(days=2))
    assert moderation.flag_weight(factories.user()) == 1.0
    assert moderation.flag_weight(young) == 0.5
    assert moderation.flag_weight(factories.user(role=Role.researcher)) == 1.5
    assert moderation.flag_weight(factories.user(role=Role.moderator)) == threshold


def test_the_post_hides_itself_when_the_weights_reach_the_threshold(app, factories, episode):
    post = factories.comment(factories.user(), episode)
    flaggers = [factories.user() for _ in range(int(app.config["FLAG_THRESHOLD"]))]
    for flagger in flaggers[:-1]:
        moderation.flag(flagger, post, FlagReason.spam)
    assert post.status == PostStatus.visible
    moderation.flag(flaggers[-1], post, FlagReason.spam)
    assert post.status == PostStatus.hidden and post.status_reason.startswith("hidden until a moderator reviews it")
    logged = db.session.scalar(select(ModerationAction).where(ModerationAction.post_id == post.id))
    assert logged.action == "auto_hide" and logged.moderator_id is None


def test_one_moderator_flag_is_enough_and_a_citation_request_weighs_nothing(factories, episode):
    asked = factories.comment(factories.user(), episode)
    moderation.flag(factories.user(role=Role.researcher), asked, FlagReason.citation)
    assert (asked.status, asked.flag_weight) == (PostStatus.visible, 0)
    flagged = factories.comment(factories.user(), episode)
    moderation.flag(factories.user(role=Role.moderator), flagged, FlagReason.unkind)
    assert flagged.status == PostStatus.hidden


def test_a_withdrawn_flag_takes_its_weight_back(factories, episode):
    post, flagger = factories.comment(factories.user(), episode), factories.user(role=Role.researcher)
    moderation.flag(flagger, post, FlagReason.off_topic)
    moderation.withdraw_flag(flagger, post)
    db.session.refresh(post)
    assert (post.flag_count, post.flag_weight) == (0, 0)
    with pytest.raises(DomainError, match="no open flag"):
        moderation.withdraw_flag(flagger, post)


def test_who_may_not_flag(factories, episode):
    author = factories.user()
    post = factories.comment(author, episode)
    with pytest.raises(DomainError, match="your own post"):
        moderation.flag(author, post, FlagReason.spam)
    with pytest.raises(PermissionDenied, match="after their first day"):
        moderation.flag(factories.user(created_at=utcnow() - timedelta(hours=3)), post, FlagReason.spam)
    twice = factories.user()
    moderation.flag(twice, post, FlagReason.spam)
    with pytest.raises(DomainError, match="already flagged"):
        moderation.flag(twice, post, FlagReason.spam)
    with pytest.raises(DomainError, match="short note"):
        moderation.flag(factories.user(), post, FlagReason.other)


def test_a_moderator_decision_needs_the_role_and_a_reason(factories, episode):
    post = factories.comment(factories.user(), episode)
    with pytest.raises(PermissionDenied):
        moderation.act(factories.user(), post, "remove", "Spam")
    moderator = factories.user(role=Role.moderator)
    with pytest.raises(DomainError, match="needs a reason"):
        moderation.act(moderator, post, "remove", "  ")
    moderation.act(moderator, post, "remove", "Spam")
    assert (post.status, post.status_reason) == (PostStatus.removed, "Spam")


def test_suspensions_have_a_length_and_a_ban_lasts_for_good(factories, episode):
    moderator = factories.user(role=Role.moderator)
    post = factories.comment(factories.user(), episode)
    with pytest.raises(DomainError, match="how many days"):
        moderation.act(moderator, post, "suspend", "Spam")
    moderation.act(moderator, post, "suspend", "Spam", days=3)
    assert post.author.is_suspended() and not post.author.is_suspended(utcnow() + timedelta(days=3, minutes=1))
    moderation.act(moderator, post, "ban", "Spam again")
    assert post.author.suspended_until == moderation.FOREVER


def test_an_author_appeals_a_hidden_post_once(factories, episode):
    author = factories.user()
    post = factories.comment(author, episode)
    with pytest.raises(DomainError, match="Only hidden or removed"):
        moderation.appeal(author, post, "Please look again.")
    moderation.act(factories.user(role=Role.moderator), post, "hide", "Off-topic")
    with pytest.raises(PermissionDenied, match="Only the author"):
        moderation.appeal(factories.user(), post, "Not mine, but still.")
    moderation.appeal(author, post, "It was on topic: see the episode at 12:00.")
    with pytest.raises(DomainError, match="already appealed"):
        moderation.appeal(author, post, "Again.")
