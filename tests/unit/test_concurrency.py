"""Votes under concurrent requests: exact counts, no duplicate rows."""

from __future__ import annotations

import threading

from sqlalchemy import func, select

from community.extensions import db
from community.models import Post, User, Vote
from community.services import discussion


def run_concurrently(app, jobs) -> list[BaseException]:
    """Each job runs in its own thread with its own app context and session, all released at once."""
    barrier = threading.Barrier(len(jobs))
    errors: list[BaseException] = []

    def worker(job):
        with app.app_context():
            try:
                barrier.wait()
                job()
                db.session.commit()
            except BaseException as error:  # reported below, never swallowed
                errors.append(error)
                db.session.rollback()

    threads = [threading.Thread(target=worker, args=(job,)) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return errors


def _vote(user_id: int, post_id: int):
    def job():
        discussion.set_vote(db.session.get(User, user_id), db.session.get(Post, post_id), up=True)
    return job


def test_one_user_voting_many_times_at_once_counts_once(app, factories):
    post = factories.comment(factories.user("ada"), factories.episode(1))
    bob = factories.user("bob")
    errors = run_concurrently(app, [_vote(bob.id, post.id) for _ in range(10)])
    assert errors == []
    db.session.expire_all()
    assert db.session.scalar(select(func.count(Vote.id))) == 1
    assert db.session.get(Post, post.id).score == 1


def test_many_users_voting_at_once_are_all_counted(app, factories):
    post = factories.comment(factories.user("ada"), factories.episode(1))
    voters = [factories.user(f"voter{i}") for i in range(20)]
    errors = run_concurrently(app, [_vote(v.id, post.id) for v in voters])
    assert errors == []
    db.session.expire_all()
    assert db.session.get(Post, post.id).score == 20
    assert db.session.scalar(select(func.count(Vote.id))) == 20
