from flask import request, url_for
from flask_login import current_user

from community.api import bp
from community.services import search as search_service


@bp.get("/search")
def search():
    q = request.args.get("q", "")[:1000]
    page = max(request.args.get("page", 1, type=int), 1)
    results = search_service.search(q, search_service.Filters.from_args(request.args), current_user, page)
    return {
        "query": q,
        "total": results.total,
        "episodes": [{"slug": h.episode.slug, "title": h.episode.title, "snippet_html": h.snippet_html,
                      "url": url_for("episodes.show", slug=h.episode.slug, _external=True)} for h in results.episodes],
        "posts": [{"id": h.post.id, "kind": h.post.kind.value, "snippet_html": h.snippet_html,
                   "author": h.post.author.username, "episode": h.episode.slug if h.episode else None,
                   "created_at": h.post.created_at.isoformat(),
                   "url": url_for("discussion.permalink", post_id=h.post.id, _external=True)} for h in results.posts],
    }
