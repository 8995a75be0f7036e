"""What the app does when PostgreSQL stops answering without closing anything.

The outage test (tests/reliability/test_database_outage.py) covers a database that
resets or refuses connections: the app answers 503 at once and recovers. This measures
the other kind of outage, a network partition: packets are dropped, no RST ever comes.
Through the same proxy (support.FlakyProxy.stall()), in a database of its own on the
PostgreSQL server of --server-url (`gi_reliability_stall_*`, dropped afterwards):

1. gunicorn (4 workers) serves through the proxy; every worker has a pooled connection;
2. the proxy stalls; four requests are sent at once (/healthz, /, /episodes/, /healthz);
   for each: status (or the connection error) and how long it took;
3. the proxy forwards again: how long until /healthz is 200, and were workers replaced?

    .venv/bin/python bench/reliability/stalled_database.py
    .venv/bin/python bench/reliability/stalled_database.py --server-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres

Exits 1 when a stalled request did not get the friendly 503 within --expect seconds.
Not part of `make test`: with the current settings every stalled request waits for
gunicorn's 30 s worker timeout.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.reliability.support import (  # noqa: E402
    Client, run_in_threads, site_behind_flaky_proxy,
)


def timed_get(port: int, path: str) -> tuple[str, object, float]:
    started = time.monotonic()
    try:
        r = Client(port, timeout=120).get(path)
        friendly = r.status == 503 and "database cannot be reached" in r.text or path == "/healthz" and r.status == 503
        return path, f"{r.status}{' (friendly 503)' if friendly else ''}", time.monotonic() - started
    except OSError as error:
        return path, f"no answer: {error}", time.monotonic() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--server-url", default=os.environ.get("TEST_DATABASE_URL")
                        or "postgresql+psycopg://postgres@127.0.0.1:5432/postgres",
                        help="any database URL on the server; only its host, port and credentials are used")
    parser.add_argument("--expect", type=float, default=10.0, help="seconds within which a 503 is expected")
    args = parser.parse_args()
    ok = True
    with tempfile.TemporaryDirectory(prefix="gi-stall-") as tmp:
        with site_behind_flaky_proxy("stall", Path(tmp), args.server_url) as (_, proxy, server):
            run_in_threads([lambda: Client(server.port).get("/healthz") for _ in range(12)], max_workers=4)
            workers_before = server.worker_pids()

            proxy.stall()
            print("while stalled (4 requests at once):")
            for path, status, took in run_in_threads(
                    [lambda p=p: timed_get(server.port, p) for p in ("/healthz", "/", "/episodes/", "/healthz")]):
                print(f"  {path:12} {status}  after {took:.1f} s")
                ok &= "friendly 503" in status and took <= args.expect

            proxy.forward()
            restored = time.monotonic()
            while Client(server.port).get("/healthz").status != 200 and time.monotonic() - restored < 60:
                time.sleep(0.2)
            print(f"after forwarding again: /healthz 200 after {time.monotonic() - restored:.1f} s; "
                  f"/ {Client(server.port).get('/').status}; "
                  f"workers replaced: {len(workers_before - server.worker_pids())} of {len(workers_before)}")
            timeouts = server.log_text().count("WORKER TIMEOUT")
            print(f"gunicorn log: {timeouts} WORKER TIMEOUT line(s)")
            server.stop()
    print("as expected" if ok else f"NOT as expected: a stalled database should give the 503 page within {args.expect:.0f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
