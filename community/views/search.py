from datetime import datetime, timedelta, timezone

from flask import Blueprint, render_template, request
from flask_login import current_user

from community.models import PostKind
from community.services import search as search_service

bp = Blueprint("search", __name__)


def _date(name: str) -> datetime | None:
    try:
        return datetime.strptime(request.args.get(name, ""), "%Y-%m-%d").replace(tzinfo=timezone.utc)
    except ValueError:
        return None


def filters_from_request() -> search_service.Filters:
    until = _date("until")
    return search_service.Filters(
        kind=request.args.get("kind") or None,
        episode=request.args.get("episode") or None,
        author=request.args.get("author") or None,
        since=_date("since"),
        until=until + timedelta(days=1) if until else None,  # the whole "until" day is included
        sort="newest" if request.args.get("sort") == "newest" else "relevance",
    )


@bp.get("/search")
def search():
    q = request.args.get("q", "")[:1000]
    page = max(request.args.get("page", 1, type=int), 1)
    filters = filters_from_request()
    results = search_service.search(q, filters, current_user, page) if q.strip() else None
    return render_template("search/results.html", q=q, filters=filters, results=results, page=page, per_page=20,
                           kinds=PostKind)
