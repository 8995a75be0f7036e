"""Read-only JSON under /api/v1 (CORS open for GET: the data is public)."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api/v1")


@bp.after_request
def allow_cross_origin_reads(response):
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Access-Control-Allow-Methods"] = "GET, OPTIONS"
    response.headers["Vary"] = "Origin"
    return response


from community.api import discussion, episodes, papers, questions, search  # noqa: E402,F401  (routes register on bp)
