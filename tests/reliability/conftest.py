"""Reliability tests: real gunicorn servers on 127.0.0.1, real HTTP, real databases.

Every module here carries `requires_gunicorn` (a skip with a reason when gunicorn is not
importable) and the `reliability` marker (registered in pyproject.toml), so
`pytest -m "not reliability"` leaves them out.
"""

from __future__ import annotations

