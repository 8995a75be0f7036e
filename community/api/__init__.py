"""Read-only JSON under /api/v1 (CORS open for GET: the data is public), described by
OpenAPI 3.1 at /api/v1/openapi.json (community/data/openapi.json, written by hand and
checked against every real response by schemathesis in tests/views/test_openapi.py).

Conventions every route keeps: lists are paginated (`page`, `per_page` up to 100) with
`total`, `next`/`prev` and the same links in a `Link` header (RFC 8288); a parameter that
is not understood is a 400, never silently read as a default; errors are
application/problem+json (RFC 9457); answers carry an ETag and honour If-None-Match."""

import json
from functools import cache
from pathlib import Path

from flask import Blueprint, abort, jsonify, request, url_for

bp = Blueprint("api", __name__, url_prefix="/api/v1")
PER_PAGE_MAX = 100
OPENAPI = Path(__file__).resolve().parent.parent / "data" / "openapi.json"


@bp.after_request
def allow_cross_origin_reads(response):
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Access-Control-Allow-Methods"] = "GET, OPTIONS"
    response.headers["Access-Control-Expose-Headers"] = "Link, ETag, X-Request-ID"
    response.headers["Vary"] = "Origin"
    return response


def whole_number(name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit() and low <= int(raw) <= high):
        abort(400, description=f"`{name}` must be a whole number from {low} to {high} (got {raw[:40]!r}).")
    return int(raw)


def choice(name: str, allowed, default: str) -> str:
    raw = request.args.get(name, default)
    if raw not in allowed:
        abort(400, description=f"`{name}` must be one of: {', '.join(allowed)} (got {raw[:40]!r}).")
    return raw


def page_args(default_per_page: int = 30) -> tuple[int, int]:
    return whole_number("page", 1, 1, 100_000), whole_number("per_page", default_per_page, 1, PER_PAGE_MAX)


def paginated(key: str, items: list, total: int, page: int, per_page: int, **extra):
    """`items` under `key`, with the total and the neighbouring pages, as fields and as a
    Link header; a page past the last is an empty list that still links back."""
    last = max(1, -(-total // per_page))
    args = {**(request.view_args or {}), **request.args.to_dict()}  # per_page stays as the client gave it

    def url(number: int) -> str:
        return url_for(request.endpoint, **{**args, "page": number}, _external=True)

    links = {"first": 1, "last": last}
    if page > 1:
        links["prev"] = min(page - 1, last)
    if page < last:
        links["next"] = page + 1
    response = jsonify({**extra, key: items, "total": total, "page": page, "per_page": per_page,
                        "next": url(links["next"]) if "next" in links else None,
                        "prev": url(links["prev"]) if "prev" in links else None})
    response.headers["Link"] = ", ".join(f'<{url(number)}>; rel="{rel}"' for rel, number in links.items())
    return response


@cache
def _description() -> str:
    return OPENAPI.read_text(encoding="utf-8")


@bp.get("/openapi.json")
def openapi():
    description = json.loads(_description())
    description["servers"] = [{"url": url_for("api.openapi", _external=True).rsplit("/openapi.json", 1)[0]}]
    return jsonify(description)


from community.api import discussion, episodes, papers, questions, search  # noqa: E402,F401  (routes register on bp)
