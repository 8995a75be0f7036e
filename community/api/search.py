import re

from flask import abort, request, url_for
from flask_login import current_user

from community.api import bp, choice, page_args, paginated
from community.services import search as search_service


def _checked_filters():
    """The page's filters, but a value that does not parse is a 400 here, not "no filter"."""
    choice("sort", ("relevance", "newest"), "relevance")
    choice("kind", ("", "comment", "paper", "question", "suggestion"), "")
    for name in ("since", "until"):
        value = request.args.get(name)
        if value and not _full_date(value):
            abort(400, description=f"`{name}` must be a date like 2024-05-31 (got {value[:40]!r}).")
    return search_service.Filters.from_args(request.args)


def _full_date(value: str) -> bool:
    """RFC 3339 full-date, as the OpenAPI description's `format: date` says: year 0000
    included (which Python's datetime cannot hold: such a bound filters nothing)."""
    match = re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})", value)
    if not match:
        return False
    year, month, day = map(int, match.groups())
    if not 1 <= month <= 12:
        return False
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    return 1 <= day <= (31, 29 if leap else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)[month - 1]


@bp.get("/search")
def search():
    q = request.args.get("q", "")
    if len(q) > 1000:
        abort(400, description=f"`q` is at most 1,000 characters (got {len(q):,}).")
    filters = _checked_filters()
    page, per_page = page_args(20)
    results = search_service.search(q, filters, current_user, page, per_page)
    posts = [{"id": h.post.id, "kind": h.post.kind.value, "snippet_html": h.snippet_html,
              "author": h.post.author.username, "episode": h.episode.slug if h.episode else None,
              "created_at": h.post.created_at.isoformat(),
              "url": url_for("discussion.permalink", post_id=h.post.id, _external=True)} for h in results.posts]
    # `posts` is the list that pages; the episodes that match (a handful) come whole on the first page.
    episodes = [{"slug": h.episode.slug, "title": h.episode.title, "snippet_html": h.snippet_html,
                 "url": url_for("episodes.show", slug=h.episode.slug, _external=True)} for h in results.episodes]
    # Words said in episodes (their current transcript), each landing on its moment.
    moments = [{"episode": h.episode.slug, "start_time": h.start, "speaker": h.speaker, "snippet_html": h.snippet_html,
                "url": url_for("episodes.show", slug=h.episode.slug, t=h.seconds, _anchor=f"m-{h.position}",
                               _external=True)} for h in results.moments]
    return paginated("posts", posts, results.total, page, per_page, query=q, episodes=episodes, moments=moments)
