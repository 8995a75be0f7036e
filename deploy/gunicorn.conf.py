"""gunicorn settings for deploy/gi-community.service (gunicorn --config deploy/gunicorn.conf.py wsgi:app).

Logging: gunicorn's own error log goes through the app's format (JSON lines with a
request id, community/observability.py); the access lines are written by the app itself
(one per request, the same format, page-cache answers included), so gunicorn's access log
stays off rather than saying everything twice.

Metrics: each worker is a process; prometheus_client keeps their values in files under
PROMETHEUS_MULTIPROC_DIR, emptied when gunicorn starts, and /metrics adds them up."""

import os
import shutil

# Before anything imports prometheus_client: it picks its storage when imported.
_metrics_dir = os.environ.setdefault(
    "PROMETHEUS_MULTIPROC_DIR", os.path.join(os.environ.get("XDG_RUNTIME_DIR") or "/tmp", "gi-community-metrics"))

from community.observability import RequestIdFilter, log_formatter  # noqa: E402

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", "4"))
graceful_timeout = 30  # TimeoutStopSec in the unit must stay above it
accesslog = None

logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": RequestIdFilter}},
    "formatters": {"app": {"()": log_formatter, "kind": os.environ.get("LOG_FORMAT") or "json"}},
    "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "app", "filters": ["request_id"],
                            "stream": "ext://sys.stderr"}},
    "root": {"handlers": [], "level": "INFO"},  # the app adds its own handler (observability.configure_logging)
    "loggers": {"gunicorn.error": {"handlers": ["stderr"], "level": "INFO", "propagate": False, "qualname": "gunicorn.error"},
                "gunicorn.access": {"handlers": [], "level": "INFO", "propagate": False, "qualname": "gunicorn.access"}},
}


def on_starting(server):
    shutil.rmtree(_metrics_dir, ignore_errors=True)  # values of a previous run would be added in
    os.makedirs(_metrics_dir, mode=0o700, exist_ok=True)


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
