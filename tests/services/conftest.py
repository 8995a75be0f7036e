"""Domain rules without HTTP: the services are called directly, in the app context of the
`app` fixture (tests/conftest.py), on SQLite and on PostgreSQL when TEST_DATABASE_URL is set."""

from __future__ import annotations

import pytest


@pytest.fixture
def episode(factories):
    return factories.episode(21, "Chelsea Finn on meta-learning")


@pytest.fixture(autouse=True)
def _in_app_context(app):
    """Every rule here reads the app's settings and database: each test runs inside `app`."""
    return app
