"""The deployed logging and metrics, from outside: gunicorn started with the shipped
deploy/gunicorn.conf.py writes one JSON access line per request carrying the id the
response names, and /metrics adds up what every worker counted."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

from tests.reliability.support import ROOT, Client, Server, app_env, prepare_database, requires_gunicorn

pytestmark = [requires_gunicorn, pytest.mark.reliability]


def _count(metrics: str, name: str, **labels) -> float:
    return sum(float(line.rsplit(" ", 1)[1]) for line in metrics.splitlines()
               if line.startswith(name + "{") and all(f'{k}="{v}"' in line for k, v in labels.items()))


def _served(text: str) -> float:
    return (_count(text, "gi_request_duration_seconds_count", endpoint="episodes.index")
            + _count(text, "gi_request_duration_seconds_count", endpoint="page_cache"))


def test_json_access_lines_with_request_ids_and_metrics_from_every_worker(tmp_path: Path):
    env = app_env(tmp_path, f"sqlite:///{tmp_path / 'observed.sqlite'}")
    env.update(METRICS_ALLOW="127.0.0.0/8", XDG_RUNTIME_DIR=str(tmp_path))  # where the unit's runtime dir would be
    prepare_database(env, tmp_path)
    server = Server(env, tmp_path / "gunicorn.log", workers=2, config=ROOT / "deploy" / "gunicorn.conf.py").start()
    try:
        ids = [Client(server.port).get("/episodes/").headers["X-Request-ID"] for _ in range(12)]
        # A request is counted once its body has gone out, just after the client has it:
        # scrape until the last one is in (bounded), as Prometheus's next scrape would see it.
        deadline = time.monotonic() + 10
        while True:
            metrics = Client(server.port).get("/metrics")
            if _served(metrics.text) >= 12 or time.monotonic() > deadline:
                break
            time.sleep(0.1)
    finally:
        server.stop()
    assert metrics.status == 200
    # Twelve reads of the episode list, answered by two workers (a miss each at most, then
    # hits from the page cache), counted once each in the sum over both workers.
    served = _served(metrics.text)
    assert served == 12, [l for l in metrics.text.splitlines() if l.startswith("gi_request_duration_seconds_count")]

    lines = [json.loads(line) for line in server.log_text().splitlines() if line.startswith("{")]
    access = {line["request_id"]: line for line in lines if line["logger"] == "community.access"}
    for request_id in ids:
        assert re.fullmatch(r"[0-9a-f]{32}", request_id)
        assert access[request_id]["path"] == "/episodes/" and access[request_id]["status"] == 200
    assert any(line["logger"] == "gunicorn.error" and "Booting worker" in line["message"] for line in lines)
    assert not server.tracebacks()
