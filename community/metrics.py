"""What the site counts for its operators, in Prometheus' terms (served at /metrics by
observability.py). A leaf: anything may import it to count, it imports nothing of ours.

Under gunicorn each worker is a process: with PROMETHEUS_MULTIPROC_DIR set (the shipped
gunicorn.conf.py sets it), prometheus_client keeps the values in files there and
`exposition()` adds up every worker's, so a scrape sees the site, not one worker."""

from __future__ import annotations

import os

from prometheus_client import (
    CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest, multiprocess,
)
from prometheus_client.registry import REGISTRY, Collector

# Endpoint names label the series (bounded: one per route, plus "page_cache" for answers
# the cache middleware gives before Flask runs and "unmatched" for 404s).
REQUEST_SECONDS = Histogram(
    "gi_request_duration_seconds", "Time to answer a request, by endpoint.",
    ["endpoint", "method", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
SQL_QUERIES = Histogram(
    "gi_sql_queries_per_request", "SQL statements one request ran, by endpoint.", ["endpoint"],
    buckets=(0, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89),
)
PAGE_CACHE = Counter("gi_page_cache_requests", "Anonymous page cache lookups, by result.", ["result"])
LOGIN_FAILURES = Counter("gi_login_failures", "Refused logins (wrong password, unknown account, budget spent).",
                         ["reason"])

# The WSGI environ key that names the endpoint for the request's metrics (set by Flask,
# or by the page cache middleware when it answers).
ENDPOINT = "community.endpoint"

_collectors: list[Collector] = []


def register_collector(collector: Collector) -> None:
    """A collector read at scrape time (e.g. the job queue's depth, which lives in the
    database, not in any one process)."""
    if collector not in _collectors:
        _collectors.append(collector)
        REGISTRY.register(collector)


def exposition() -> tuple[bytes, str]:
    registry = REGISTRY
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        for collector in _collectors:
            registry.register(collector)
    return generate_latest(registry), CONTENT_TYPE_LATEST
