"""What cached pages may still be served: a version counter per episode page, one for
the list pages (home, episodes, papers, questions, suggestions), and one for everything.

Writes bump the counters inside their own transaction, so a page cached under the new
version can only have been rendered from committed data, on any worker or host. A cached
page is looked up under the versions current at request time: one small query."""

from __future__ import annotations

from functools import wraps

from flask import current_app, make_response, request, session
from flask_login import current_user
from sqlalchemy import select, update

from community.extensions import cache, db
from community.models import ContentVersion, Episode
from community.services import upsert

EVERYTHING, LISTS = "all", "lists"


def _bump(keys: list[str]) -> None:
    for key in sorted(keys):  # a fixed order: two writers never wait on each other crosswise
        result = db.session.execute(update(ContentVersion).where(ContentVersion.key == key)
                                    .values(version=ContentVersion.version + 1))
        if result.rowcount == 0:
            db.session.execute(upsert(ContentVersion, {"key": key, "version": 1}, ["key"], ["version"]))


def touch(*episode_ids: int | None) -> None:
    """This transaction changes what these episodes' pages (and the list pages) show."""
    ids = {i for i in episode_ids if i}
    slugs = db.session.scalars(select(Episode.slug).where(Episode.id.in_(ids))).all() if ids else []
    _bump([LISTS] + [episode_key(slug) for slug in slugs])


def episode_key(slug: str) -> str:
    return f"episode:{slug}"[:40]


def touch_everything() -> None:
    """Names, badges, affiliations: shown on every page."""
    _bump([EVERYTHING])


def versions(*keys: str) -> str:
    rows = dict(db.session.execute(select(ContentVersion.key, ContentVersion.version)
                                   .where(ContentVersion.key.in_((EVERYTHING,) + keys))).all())
    return ".".join(str(rows.get(k, 0)) for k in (EVERYTHING,) + keys)


def _cacheable() -> bool:
    """Only what every anonymous reader sees alike: no account, no flashed message."""
    return (current_app.config.get("PAGE_CACHE", True) and request.method == "GET"
            and not session.get("_flashes") and "_user_id" not in session and not current_user.is_authenticated)


def cached_for_anonymous(keys):
    """Serve anonymous readers a cached copy while `keys(**view_args)` versions hold.

    Entries also expire after PAGE_CACHE_SECONDS so that "3 minutes ago" stays roughly
    true for readers without JavaScript."""

    def decorator(view):
        @wraps(view)
        def wrapper(**kwargs):
            if not _cacheable():
                return view(**kwargs)
            key = f"page:{request.full_path}:{versions(*keys(**kwargs))}"
            hit = cache.get(key)
            if hit is not None:
                body, etag, content_type = hit
                response = make_response(body, 200)
                response.content_type = content_type
                response.set_etag(etag)  # stored with the body: no rehashing half a megabyte per hit
                response.headers["X-Cache"] = "hit"
                return response
            response = make_response(view(**kwargs))
            if response.status_code == 200 and not response.direct_passthrough:
                response.add_etag()
                cache.set(key, (response.get_data(), response.get_etag()[0], response.content_type),
                          timeout=current_app.config["PAGE_CACHE_SECONDS"])
            response.headers["X-Cache"] = "miss"
            return response

        return wrapper

    return decorator
