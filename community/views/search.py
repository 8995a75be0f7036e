from flask import Blueprint, render_template, request
from flask_login import current_user

from community.models import PostKind
from community.services import search as search_service

bp = Blueprint("search", __name__)


@bp.get("/search")
def search():
    q = request.args.get("q", "")[:1000]
    page = max(request.args.get("page", 1, type=int), 1)
    filters = search_service.Filters.from_args(request.args)
    results = search_service.search(q, filters, current_user, page) if q.strip() else None
    return render_template("search/results.html", q=q, filters=filters, results=results, page=page, per_page=20,
                           kinds=PostKind)
