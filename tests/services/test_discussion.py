"""Posting, replying, editing and voting: what the discussion rules allow and refuse."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from community.extensions import db
from community.models import PostStatus, Revision, Role
from community.models.base import utcnow
from community.services import DomainError, PermissionDenied, discussion


def test_a_reply_sits_one_level_below_its_parent_in_the_same_thread(factories, episode):
    top = factories.comment(factories.user(), episode)
    reply = discussion.create_post(factories.user(), episode=None, body="Agreed.", parent=top)
    db.session.refresh(top)
    assert (top.depth, top.root_id) == (0, top.id)
    assert (reply.depth, reply.root_id, reply.episode_id, top.reply_count) == (1, top.id, episode.id, 1)


def test_replies_go_deeper_than_the_page_shows_and_the_permalink_holds_them(factories, episode):
    author = factories.user()
    chain = [factories.comment(author, episode, body="depth 0")]
    for depth in range(1, discussion.MAX_DEPTH + 2):
        chain.append(factories.comment(author, parent=chain[-1], body=f"depth {depth}"))
    assert chain[-1].depth == discussion.MAX_DEPTH + 1
    capped = chain[discussion.MAX_DEPTH]
    ancestors, roots = discussion.post_context(capped, author, "oldest")
    assert len(ancestors) == discussion.MAX_DEPTH and [n.post.id for n in roots] == [capped.id]
    assert [n.post.id for n in roots[0].children] == [chain[-1].id]


def test_a_locked_thread_takes_no_replies_anywhere_in_it(factories, episode):
    top = factories.comment(factories.user(), episode)
    reply = factories.comment(factories.user(), parent=top)
    top.locked = True
    db.session.commit()
    with pytest.raises(DomainError, match="locked"):
        discussion.create_post(factories.user(), episode=None, body="One more thing.", parent=reply)


@pytest.mark.parametrize("status, reason", [(PostStatus.deleted, "it is deleted"),
                                            (PostStatus.removed, "a moderator removed it"),
                                            (PostStatus.hidden, "it is hidden")])
def test_only_a_visible_post_takes_replies_and_the_refusal_says_why(factories, episode, status, reason):
    top = factories.comment(factories.user(), episode, status=status)
    with pytest.raises(DomainError, match=f"You cannot reply to this post: {reason}"):
        discussion.create_post(factories.user(), episode=None, body="Hello?", parent=top)


def test_the_author_edits_for_two_hours_and_the_earlier_text_is_kept(factories, episode):
    ada = factories.user()
    post = factories.comment(ada, episode, body="First.", created_at=utcnow() - timedelta(minutes=119))
    discussion.edit_post(ada, post, "Second.")
    assert post.body_source == "Second." and post.edited_at is not None
    assert db.session.scalars(select(Revision.body_source).where(Revision.post_id == post.id)).all() == ["First."]


def test_after_the_window_the_refusal_names_the_time_of_posting(factories, episode):
    ada = factories.user()
    post = factories.comment(ada, episode, created_at=datetime(2026, 1, 5, 9, 30, tzinfo=timezone.utc))
    assert not discussion.can_edit(ada, post)
    with pytest.raises(PermissionDenied, match="The edit window closed at 11:30 UTC on 2026-01-05"):
        discussion.edit_post(ada, post, "Too late.")


def test_moderators_edit_any_time_but_nobody_edits_a_tombstone(factories, episode):
    moderator = factories.user(role=Role.moderator)
    old = factories.comment(factories.user(), episode, created_at=utcnow() - timedelta(days=30))
    assert discussion.can_edit(moderator, old) and not discussion.can_edit(factories.user(), old)
    removed = factories.comment(factories.user(), episode, status=PostStatus.removed)
    assert not discussion.can_edit(moderator, removed)
    with pytest.raises(PermissionDenied, match="a moderator removed it"):
        discussion.edit_post(moderator, removed, "Rewritten.")


def test_a_suspended_account_reads_but_does_not_write(factories, episode):
    troll = factories.user(suspended_until=utcnow() + timedelta(days=2))
    with pytest.raises(PermissionDenied, match="suspended until"):
        discussion.create_post(troll, episode=episode, body="Let me in.")
    with pytest.raises(PermissionDenied, match="suspended"):
        discussion.set_vote(troll, factories.comment(factories.user(), episode), up=True)


def test_votes_are_idempotent_and_never_your_own(factories, episode):
    ada, bob = factories.user(), factories.user()
    post = factories.comment(ada, episode)
    assert [discussion.set_vote(bob, post, up) for up in (True, True, False, False)] == [1, 1, 0, 0]
    with pytest.raises(DomainError, match="your own post"):
        discussion.set_vote(ada, post, up=True)


def test_pending_and_hidden_posts_show_to_their_author_and_moderators_only(factories, episode):
    ada = factories.user()
    for status in (PostStatus.pending, PostStatus.hidden):
        post = factories.comment(ada, episode, status=status)
        assert discussion.visible_to(ada, post) and discussion.visible_to(factories.user(role=Role.moderator), post)
        assert not discussion.visible_to(factories.user(), post) and not discussion.visible_to(None, post)


def test_new_accounts_may_not_post_many_links(factories, episode):
    newbie = factories.user(created_at=utcnow() - timedelta(hours=1))
    links = " ".join(f"https://example.org/{i}" for i in range(5))
    with pytest.raises(DomainError, match="New accounts"):
        discussion.create_post(newbie, episode=episode, body=links)
    assert discussion.create_post(factories.user(), episode=episode, body=links).id
