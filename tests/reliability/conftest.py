"""Reliability tests: real gunicorn servers on 127.0.0.1, real HTTP, real databases.

Every module here carries `requires_gunicorn` (a skip with a reason when gunicorn is not
importable) and the `reliability` marker, so `pytest -m "not reliability"` leaves them out.
"""

from __future__ import annotations


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "reliability: starts real gunicorn servers (tests/reliability, figures in bench/reliability)"
    )
