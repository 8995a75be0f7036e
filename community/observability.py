"""What an operator reads: one logging configuration, a request id on every line and every
response, an access line per request, and Prometheus metrics at /metrics.

- Logs are JSON lines in production (LOG_FORMAT=json, the default outside debug) and
  readable lines in development; every line carries the request id of the request it was
  written in ("-" outside one).
- The request id is the proxy's `X-Request-ID` when the request came through a trusted
  proxy (TRUSTED_PROXIES > 0: deploy/nginx.conf sets it from $request_id, overwriting a
  client's), else a new one; it is returned in `X-Request-ID`. The middleware wraps every
  other one, so page-cache answers carry it too.
- /metrics answers only addresses in METRICS_ALLOW (CIDRs) or a request with
  `Authorization: Bearer METRICS_TOKEN`; to everyone else it does not exist (404)."""

from __future__ import annotations

import contextvars
import hmac
import ipaddress
import logging
import re
import sys
import time
import uuid

from flask import Flask, Response, abort, g, has_app_context, request
from sqlalchemy import event

from community import metrics

REQUEST_ID = contextvars.ContextVar("request_id", default="-")
_VALID_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
ACCESS = logging.getLogger("community.access")


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = REQUEST_ID.get()
        return True


def log_formatter(kind: str) -> logging.Formatter:
    if kind == "json":
        from pythonjsonlogger.json import JsonFormatter

        return JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s %(request_id)s",
                             rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
                             datefmt="%Y-%m-%dT%H:%M:%S%z")
    return logging.Formatter("%(asctime)s %(levelname)-7s [%(request_id)s] %(name)s: %(message)s", "%H:%M:%S")


def configure_logging(app: Flask) -> None:
    """One handler on the root logger (stderr), so the app, SQLAlchemy, gunicorn's error
    log (deploy/gunicorn.conf.py hands it here) and the access log share one format. Tests
    keep pytest's own capture unless they ask for a format."""
    kind = app.config.get("LOG_FORMAT") or ("text" if app.debug or app.testing else "json")
    if app.testing and not app.config.get("LOG_FORMAT"):
        return
    root = logging.getLogger()
    for handler in [h for h in root.handlers if getattr(h, "community", False)]:
        root.removeHandler(handler)
    handler = logging.StreamHandler(app.config.get("LOG_STREAM") or sys.stderr)
    handler.community = True
    handler.setFormatter(log_formatter(kind))
    handler.addFilter(RequestIdFilter())
    root.addHandler(handler)
    root.setLevel(app.config.get("LOG_LEVEL") or "INFO")
    app.logger.handlers.clear()  # Flask's default handler would print every line twice
    app.logger.propagate = True


class RequestIdMiddleware:
    """Outermost: names the request, times it, counts it and writes its access line."""

    def __init__(self, wsgi_app, trust_header: bool, access_log: bool):
        self.wsgi_app, self.trust_header, self.access_log = wsgi_app, trust_header, access_log

    def __call__(self, environ, start_response):
        offered = environ.get("HTTP_X_REQUEST_ID", "") if self.trust_header else ""
        request_id = offered if _VALID_ID.fullmatch(offered) else uuid.uuid4().hex
        token = REQUEST_ID.set(request_id)
        started = time.perf_counter()
        seen = {}

        def start(status, headers, exc_info=None):
            seen["status"] = status.split(" ", 1)[0]
            headers = [(k, v) for k, v in headers if k.lower() != "x-request-id"] + [("X-Request-ID", request_id)]
            return start_response(status, headers, exc_info)

        try:
            body = self.wsgi_app(environ, start)
            sent = 0
            for chunk in body:
                sent += len(chunk)
                yield chunk
            if hasattr(body, "close"):
                body.close()
        finally:
            elapsed = time.perf_counter() - started
            endpoint = environ.get(metrics.ENDPOINT) or "unmatched"
            status = seen.get("status", "500")
            metrics.REQUEST_SECONDS.labels(endpoint, environ.get("REQUEST_METHOD", ""), status).observe(elapsed)
            if "community.queries" in environ:
                metrics.SQL_QUERIES.labels(endpoint).observe(environ["community.queries"])
            if self.access_log:
                ACCESS.info("%s %s %s %.1fms", environ.get("REQUEST_METHOD"), _path(environ), status, elapsed * 1000,
                            extra={"method": environ.get("REQUEST_METHOD"), "path": _path(environ),
                                   "status": int(status), "duration_ms": round(elapsed * 1000, 1),
                                   "endpoint": endpoint, "remote_addr": environ.get("REMOTE_ADDR")})
            try:
                REQUEST_ID.reset(token)
            except ValueError:  # closed from another context than it began in: nothing to undo
                pass


def _path(environ) -> str:
    query = environ.get("QUERY_STRING")
    return environ.get("PATH_INFO", "") + (f"?{query}" if query else "")


def _metrics_allowed(app: Flask) -> bool:
    token = app.config.get("METRICS_TOKEN") or ""
    offered = request.headers.get("Authorization", "")
    if token and hmac.compare_digest(offered.encode(), f"Bearer {token}".encode()):
        return True
    try:
        address = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        return False
    networks = [n.strip() for n in (app.config.get("METRICS_ALLOW") or "").split(",") if n.strip()]
    return any(address in ipaddress.ip_network(n, strict=False) for n in networks)


class JobQueueCollector:
    """The job queue's depth and failures, read from the outbox table when Prometheus scrapes
    (it lives in the database, not in any one process)."""

    def describe(self):  # what it will report, without a database (asked when it is registered)
        from prometheus_client.core import GaugeMetricFamily

        return [GaugeMetricFamily("gi_jobs", "Background jobs by status.", labels=["status"]),
                GaugeMetricFamily("gi_jobs_retried", "Jobs that needed more than one attempt.")]

    def collect(self):
        from prometheus_client.core import GaugeMetricFamily

        from community.services import jobs

        if not has_app_context():
            return

        overview = jobs.overview(limit=0)
        by_status = GaugeMetricFamily("gi_jobs", "Background jobs by status.", labels=["status"])
        for status, count in overview.counts.items():
            by_status.add_metric([status.value], count)
        yield by_status
        yield GaugeMetricFamily("gi_jobs_retried", "Jobs that needed more than one attempt.", value=overview.retried)


JOB_QUEUE = JobQueueCollector()


def init_app(app: Flask) -> None:
    from community.extensions import db

    configure_logging(app)
    metrics.register_collector(JOB_QUEUE)

    @app.before_request
    def name_the_endpoint():
        request.environ[metrics.ENDPOINT] = request.endpoint or "unmatched"

    with app.app_context():
        engine = db.engine

    @event.listens_for(engine, "before_cursor_execute")
    def count_query(*_args):
        if has_app_context():
            g.sql_queries = g.get("sql_queries", 0) + 1

    @app.teardown_request
    def remember_queries(_error=None):
        if "sql_queries" in g:
            request.environ["community.queries"] = g.sql_queries

    @app.get("/metrics")
    def prometheus_metrics():
        if not _metrics_allowed(app):
            abort(404)
        body, content_type = metrics.exposition()
        return Response(body, content_type=content_type)


def wrap(app: Flask) -> None:
    """Installed last, so it is the outermost middleware."""
    app.wsgi_app = RequestIdMiddleware(app.wsgi_app, trust_header=bool(app.config.get("TRUSTED_PROXIES")),
                                       access_log=app.config.get("ACCESS_LOG", not (app.debug or app.testing)))
