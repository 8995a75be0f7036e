"""`flask demo`: the real episode list shipped in the package, plus a small sample community."""

from __future__ import annotations

import json
from importlib import resources

from community.services import episodes


def package_data() -> dict:
    text = resources.files("community").joinpath("data/episodes.json").read_text("utf-8")
    return json.loads(text)


def load() -> dict[str, int]:
    """Idempotent: running it again adds nothing. Returns new rows per kind."""
    data = package_data()
    return {"episodes": episodes.load_demo_episodes(data)}
