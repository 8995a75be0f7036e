"""The read API against its own description: schemathesis generates requests from
/api/v1/openapi.json (valid and invalid parameters) and checks every real answer of a
live server, loaded with the demo, against it. Then the conventions one by one:
pagination with totals and Link headers, 400 for what is not understood, problem+json,
ETags."""

from __future__ import annotations

import threading

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from werkzeug.serving import make_server

from community.api import OPENAPI
from community.extensions import db
from community.seed import demo
from tests.conftest import make_test_app


@pytest.fixture(scope="module")
def api_server(tmp_path_factory):
    app = make_test_app("sqlite", tmp_path_factory.mktemp("api"), SERVER_NAME=None, RATELIMIT_ENABLED=False)
    with app.app_context():
        db.create_all()
        demo.load()
        db.session.commit()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        with app.app_context():
            db.engine.dispose()


# The file the API serves (it fills in `servers` with the site's address when served).
schema = schemathesis.openapi.from_path(OPENAPI)


@schema.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_answer_matches_the_description(case, api_server):
    case.call_and_validate(base_url=f"{api_server}/api/v1")


def test_the_served_description_names_this_site(api_server):
    import requests

    served = requests.get(f"{api_server}/api/v1/openapi.json", timeout=10).json()
    assert served["openapi"] == "3.1.0"
    assert served["servers"] == [{"url": f"{api_server}/api/v1"}]


# ------------------------------------------------------------------ the conventions


def test_the_description_names_every_api_route(app):
    import json

    described = set(json.loads(OPENAPI.read_text())["paths"])
    routes = {rule.rule.removeprefix("/api/v1").replace("<", "{").replace(">", "}")
              for rule in app.url_map.iter_rules() if rule.rule.startswith("/api/v1/")}
    assert routes == described


def _link(response) -> dict[str, str]:
    links = {}
    for part in response.headers["Link"].split(","):
        url, rel = part.split(";")
        links[rel.strip().removeprefix('rel="').removesuffix('"')] = url.strip()[1:-1]
    return links


def test_lists_page_with_totals_and_link_headers(client, factories):
    author = factories.user()
    episode = factories.episode()
    from community.services import papers

    for n in range(7):
        papers.submit(author, episode, link=f"https://arxiv.org/abs/2101.0001{n}", title=f"Paper {n}")
    db.session.commit()
    first = client.get("/api/v1/papers?per_page=3")
    body = first.get_json()
    assert body["total"] == 7 and len(body["papers"]) == 3 and body["page"] == 1 and body["prev"] is None
    links = _link(first)
    assert links["next"] == body["next"] == "http://localhost/api/v1/papers?per_page=3&page=2"
    assert links["last"].endswith("page=3") and "prev" not in links
    seen = [p["canonical_id"] for p in body["papers"]]
    url = body["next"]
    while url:
        page = client.get(url.removeprefix("http://localhost")).get_json()
        seen += [p["canonical_id"] for p in page["papers"]]
        url = page["next"]
    assert len(seen) == len(set(seen)) == 7  # nothing stops silently at a cap, nothing twice


@pytest.mark.parametrize("url", [
    "/api/v1/episodes?page=abc", "/api/v1/episodes?page=0", "/api/v1/papers?per_page=1000",
    "/api/v1/papers?sort=random", "/api/v1/questions?state=closed", "/api/v1/guests/suggestions?status=maybe",
    "/api/v1/search?q=x&since=yesterday", "/api/v1/search?q=x&kind=tweet",
])
def test_a_parameter_not_understood_is_a_400_problem_that_says_which(client, factories, url):
    factories.episode()
    response = client.get(url)
    assert response.status_code == 400 and response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert problem["status"] == 400 and problem["title"] == "Bad Request"
    name = url.split("?")[1].split("=")[0] if "&" not in url else url.rsplit("&", 1)[1].split("=")[0]
    assert f"`{name}`" in problem["detail"]


def test_not_found_is_a_problem_too(client):
    response = client.get("/api/v1/episodes/no-such-episode")
    assert response.status_code == 404 and response.mimetype == "application/problem+json"
    assert response.get_json()["title"] == "Not Found"


def test_answers_carry_an_etag_and_a_match_costs_a_304(client, factories):
    factories.episode()
    first = client.get("/api/v1/episodes")
    assert first.headers["ETag"]
    again = client.get("/api/v1/episodes", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""
