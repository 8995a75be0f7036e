"""A vote and the score it moves are one unit: a request that fails before its commit
leaves neither behind.

The contract (DESIGN.md): services flush, never commit; the view commits once. When
anything fails before that commit (a database error turns into the 503 page, whose
handler rolls back; a worker is killed) nothing of the request may stay. Votes are where
a half-done request shows: a vote row whose +1 never reached the score is a lost update
the voter cannot repair (voting again is a no-op; un-voting takes the score below the
truth).

Found by the crash measurements (bench/reliability/crash_votes.py): on SQLite, SIGKILL
under voting load sometimes leaves a post whose score is one below its number of vote
rows. This is the deterministic form of that finding, in-process: the service runs as
in a request, the request then fails, the session is rolled back.
"""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select

from community.extensions import db
from community.models import Post, User, Vote
from community.services import discussion
from tests.conftest import make_test_app
from tests.factories import Factories
from tests.reliability.support import PG_URL, PgDatabase, app_env, prepare_database, requires_gunicorn

pytestmark = [requires_gunicorn, pytest.mark.reliability]


@pytest.fixture(params=["sqlite", "postgresql"])
def app(request, tmp_path):
    pg = None
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'atomicity.sqlite'}"
    else:
        if not PG_URL:
            pytest.skip("TEST_DATABASE_URL is unset: no PostgreSQL server to test against")
        pg = PgDatabase("atomicity")
        url = pg.url
    try:
        prepare_database(app_env(tmp_path, url), tmp_path)  # the migrated schema, as deployed
        app = make_test_app("sqlite", tmp_path, SQLALCHEMY_DATABASE_URI=url)
        with app.app_context():
            yield app
            db.session.remove()
            db.engine.dispose()
    finally:
        if pg is not None:
            pg.drop()


def test_a_vote_is_undone_with_the_request_that_failed(app):
    factories = Factories()
    run = uuid.uuid4().hex[:6]
    author, voter = factories.user(f"author_{run}"), factories.user(f"voter_{run}")
    post = factories.comment(author, factories.episode(2))
    voter_id, post_id = voter.id, post.id

    with app.app_context():  # one request: its own session
        discussion.set_vote(db.session.get(User, voter_id), db.session.get(Post, post_id), up=True)
        db.session.rollback()  # ...which fails before the view's commit (what the 503 handler does)

    with app.app_context():
        vote_rows = db.session.scalar(select(func.count(Vote.id)).where(Vote.post_id == post_id))
        score = db.session.scalar(select(Post.score).where(Post.id == post_id))
    print(f"\n[reliability] vote atomicity {app.config['SQLALCHEMY_DATABASE_URI'].split(':')[0]}: "
          f"after a rolled-back vote: vote rows {vote_rows}, score {score}")
    assert (vote_rows, score) == (0, 0), (
        f"a vote whose request was rolled back left {vote_rows} vote row(s) and score {score}: "
        "the vote's INSERT was committed on its own (by RELEASE SAVEPOINT) while the score "
        "UPDATE was rolled back")
