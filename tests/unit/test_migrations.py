"""The migrations build exactly the schema the models describe, on both databases,
and go down to nothing and up again."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect, text

from community.extensions import db
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
        context = MigrationContext.configure(conn, opts={"compare_type": True})
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
