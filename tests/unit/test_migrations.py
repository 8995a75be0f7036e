"""The migrations build exactly the schema the models describe, on both databases,
and go down to nothing and up again."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect, text

from community.extensions import db
from community.models.search import SQLITE_TRIGGERS, is_search_object
from tests.conftest import PG_URL, make_test_app

SCHEMA = "migration_check"


@pytest.fixture
def empty_app(database, tmp_path):
    """An app on an empty database: a new SQLite file, or a fresh PostgreSQL schema."""
    if database == "sqlite":
        app = make_test_app("sqlite", tmp_path)
    else:
        admin = create_engine(PG_URL)
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
            conn.execute(text(f"CREATE SCHEMA {SCHEMA}"))
        app = make_test_app("postgresql", tmp_path, SQLALCHEMY_ENGINE_OPTIONS={
            "connect_args": {"options": f"-c search_path={SCHEMA}"}})
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()
    if database != "sqlite":
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE"))
        admin.dispose()


def _differences():
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={
            "compare_type": True, "include_object": lambda obj, name, *rest: not is_search_object(name)})
        return compare_metadata(context, db.metadata)


def test_migrations_match_models(empty_app):
    upgrade()
    assert _differences() == []


def test_downgrade_to_base_and_up_again(empty_app):
    upgrade()
    downgrade(revision="base")
    tables = set(inspect(db.engine).get_table_names()) - {"alembic_version"}
    assert tables == set()
    upgrade()
    assert _differences() == []


def test_upgrade_keeps_data_written_under_an_older_schema(empty_app):
    """Later migrations rebuild the posts table on SQLite: votes pointing at posts must
    survive that (foreign keys off during the rebuild, not cascade-deleted)."""
    upgrade(revision="6b9a1aeacfe1")  # accounts, episodes and discussion only
    with db.engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO users (id, username, username_key, email, email_key, password_hash, display_name, affiliation,"
            " bio_source, bio_html, links, role, created_at) VALUES (1, 'ada', 'ada', 'a@x.org', 'a@x.org', 'h', '', '',"
            " '', '', '[]', 'member', '2024-01-01 00:00:00'), (2, 'bob', 'bob', 'b@x.org', 'b@x.org', 'h', '', '', '', '',"
            " '[]', 'member', '2024-01-01 00:00:00')"))
        conn.execute(text("INSERT INTO episodes (id, slug, title, summary, show_notes_html, created_at, updated_at)"
                          " VALUES (1, 'ep', 'Ep', '', '', '2024-01-01 00:00:00', '2024-01-01 00:00:00')"))
        conn.execute(text(
            "INSERT INTO posts (id, kind, author_id, episode_id, root_id, depth, body_source, body_html, status, score,"
            " flag_count, reply_count, created_at) VALUES (1, 'comment', 1, 1, 1, 0, 'hi', '<p>hi</p>', 'visible', 1, 0, 0,"
            " '2024-01-01 00:00:00')"))
        conn.execute(text("INSERT INTO votes (id, user_id, post_id, value, created_at) VALUES (1, 2, 1, 1, '2024-01-01 00:00:00')"))
    upgrade()
    with db.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM votes")).scalar() == 1
        assert conn.execute(text("SELECT body_html, locked FROM posts")).one() == ("<p>hi</p>", False)
    assert _differences() == []


def test_search_structures_exist_at_head(empty_app, database):
    """A batch rebuild of posts/episodes in a later migration would drop the SQLite
    triggers silently; this catches it."""
    upgrade()
    with db.engine.connect() as conn:
        if database == "sqlite":
            triggers = set(conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'trigger'")).scalars())
            assert SQLITE_TRIGGERS <= triggers
        else:
            indexes = set(conn.execute(text("SELECT indexname FROM pg_indexes")).scalars())
            assert {"ix_posts_search", "ix_episodes_search"} <= indexes


def test_upgrade_gives_existing_accounts_their_look_alike_keys(empty_app):
    """Accounts from before the look-alike rule get their keys (and lose invisible
    characters in display names), so a look-alike of them is refused after the upgrade."""
    from community import identity

    upgrade(revision="19199a36b0c3")
    with db.engine.begin() as conn:
        conn.execute(text(
            "INSERT INTO users (id, username, username_key, email, email_key, password_hash, display_name, affiliation,"
            " bio_source, bio_html, links, role, created_at) VALUES (1, 'mod_marta', 'mod_marta', 'm@x.org', 'm@x.org',"
            " 'h', :name, '', '', '', '[]', 'moderator', '2024-01-01 00:00:00')"), {"name": "Marta\u200b \u202eK"})
    upgrade()
    with db.engine.connect() as conn:
        row = conn.execute(text("SELECT username_skeleton, display_name, display_name_skeleton, deleted_at FROM users")).one()
    assert row == (identity.name_key("m0d_rnarta"), "Marta K", identity.name_key("Marta K"), None)
