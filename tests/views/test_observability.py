"""What an operator reads: request ids in responses and log lines, JSON access lines, and
/metrics that counts what happened and refuses outsiders."""

from __future__ import annotations

import io
import json
import re

import pytest

from tests.conftest import make_test_app, reset_database


@pytest.fixture
def log_stream():
    return io.StringIO()


@pytest.fixture
def app_config(log_stream):
    return {"LOG_FORMAT": "json", "LOG_STREAM": log_stream, "ACCESS_LOG": True,
            "METRICS_ALLOW": "10.0.0.0/8", "METRICS_TOKEN": "scrape-secret"}


def _lines(stream) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.startswith("{")]


def test_every_response_names_its_request_and_the_access_line_carries_the_same_id(client, log_stream):
    response = client.get("/episodes/")
    response.get_data()  # the access line is written once the body has been sent, as a server does
    request_id = response.headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", request_id)
    access = [line for line in _lines(log_stream) if line.get("logger") == "community.access"]
    mine = [line for line in access if line["request_id"] == request_id]
    assert len(mine) == 1
    assert mine[0]["path"] == "/episodes/" and mine[0]["status"] == 200 and mine[0]["level"] == "INFO"
    assert mine[0]["endpoint"] == "episodes.index" and mine[0]["duration_ms"] >= 0
    assert client.get("/episodes/").headers["X-Request-ID"] != request_id  # one per request


def test_a_log_line_written_inside_a_request_carries_its_id(app, client, log_stream):
    @app.get("/talks")
    def talks():
        app.logger.warning("something worth a look")
        return "ok"

    request_id = client.get("/talks").headers["X-Request-ID"]
    [line] = [line for line in _lines(log_stream) if line["message"] == "something worth a look"]
    assert line["request_id"] == request_id and line["level"] == "WARNING"


def test_a_clients_request_id_is_ignored_unless_a_trusted_proxy_set_it(client, database, tmp_path, log_stream):
    assert client.get("/healthz", headers={"X-Request-ID": "forged-by-client"}).headers["X-Request-ID"] != "forged-by-client"

    behind_proxy = make_test_app(database, tmp_path, TRUSTED_PROXIES=1, LOG_FORMAT="json", LOG_STREAM=log_stream,
                                 ACCESS_LOG=True)
    reset_database(behind_proxy, database)
    proxied = behind_proxy.test_client()
    assert proxied.get("/healthz", headers={"X-Request-ID": "nginx-7f3a"}).headers["X-Request-ID"] == "nginx-7f3a"
    # Even from the proxy, something that is not an id is replaced (it ends up in log lines).
    odd = proxied.get("/healthz", headers={"X-Request-ID": "a b; <script>" + "x" * 300}).headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", odd)


def test_page_cache_answers_carry_a_request_id_too(client, factories):
    factories.episode()
    first = client.get("/episodes/")
    second = client.get("/episodes/")
    assert second.headers.get("X-Cache") == "hit" or first.headers.get("X-Cache") == "miss"
    assert second.headers["X-Request-ID"] != first.headers["X-Request-ID"]


def _metric(text: str, name: str, **labels) -> float:
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        if all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_metrics_count_a_request_that_was_made(client):
    scrape = lambda: client.get("/metrics", environ_base={"REMOTE_ADDR": "10.1.2.3"})  # noqa: E731
    before = _metric(scrape().get_data(as_text=True), "gi_request_duration_seconds_count", endpoint="episodes.index")
    client.get("/episodes/")
    response = scrape()
    assert response.status_code == 200 and response.mimetype == "text/plain"
    after = _metric(response.get_data(as_text=True), "gi_request_duration_seconds_count", endpoint="episodes.index")
    assert after == before + 1
    assert "gi_sql_queries_per_request_bucket" in response.get_data(as_text=True)
    assert "gi_page_cache_requests_total" in response.get_data(as_text=True)


def test_metrics_count_login_failures(client, factories):
    user = factories.user()
    scrape = lambda: client.get("/metrics", headers={"Authorization": "Bearer scrape-secret"})  # noqa: E731
    before = _metric(scrape().get_data(as_text=True), "gi_login_failures_total", reason="bad_credentials")
    client.post("/auth/login", data={"login": user.username, "password": "not the password"})
    after = _metric(scrape().get_data(as_text=True), "gi_login_failures_total", reason="bad_credentials")
    assert after == before + 1


@pytest.mark.parametrize("how", [
    {"environ_base": {"REMOTE_ADDR": "203.0.113.9"}},
    {"environ_base": {"REMOTE_ADDR": "203.0.113.9"}, "headers": {"Authorization": "Bearer wrong"}},
    {"environ_base": {"REMOTE_ADDR": "203.0.113.9"}, "headers": {"Authorization": "scrape-secret"}},
    {"environ_base": {"REMOTE_ADDR": "127.0.0.1"}},  # loopback is not in METRICS_ALLOW here
])
def test_metrics_do_not_exist_for_outsiders(client, how):
    response = client.get("/metrics", **how)
    assert response.status_code == 404
    assert "gi_" not in response.get_data(as_text=True)


def test_metrics_answer_the_token_from_anywhere(client):
    response = client.get("/metrics", environ_base={"REMOTE_ADDR": "203.0.113.9"},
                          headers={"Authorization": "Bearer scrape-secret"})
    assert response.status_code == 200 and "gi_request_duration_seconds" in response.get_data(as_text=True)


def test_metrics_report_the_job_queue(client, factories):
    from community.models import Job, JobStatus
    from community.extensions import db

    db.session.add_all([Job(name="mail.send", args={}, status=JobStatus.failed, attempts=6),
                        Job(name="mail.send", args={}, status=JobStatus.queued, attempts=1)])
    db.session.commit()
    text = client.get("/metrics", headers={"Authorization": "Bearer scrape-secret"}).get_data(as_text=True)
    assert _metric(text, "gi_jobs", status="failed") == 1 and _metric(text, "gi_jobs", status="queued") == 1
    assert _metric(text, "gi_jobs_retried") == 2
