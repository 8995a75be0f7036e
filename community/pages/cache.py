"""The anonymous page cache: what every reader without an account sees alike, rendered
once per content version and served many times.

A page is stored under its path and the versions of what it shows (services/freshness),
so an entry is never stale, only unused: every write that changes a page bumps a
version in its own transaction, on any worker or host.

Two ways in:
- `PageCacheMiddleware` answers a GET that carries no cookie at all (first visits,
  crawlers, feed readers, most anonymous traffic) before Flask runs: one URL match, one
  small query, a dictionary lookup. Without a cookie there is no session, so no account
  and no flashed message, and the answer can only be the anonymous page.
- `cached_for_anonymous` does the same inside Flask for anonymous readers who do carry a
  cookie (a CSRF token from a form they opened, say), and fills the cache on a miss.

Each entry keeps a gzip copy, compressed once when stored: a 500-comment page is
~530 KB of HTML and ~45 KB gzipped, and sending bytes is what limits a sync worker."""

from __future__ import annotations

import gzip
import time
from io import BytesIO
from urllib.parse import urlsplit
from dataclasses import dataclass
from functools import wraps

from flask import Flask, current_app, g, has_request_context, make_response, request, session
from flask_caching.backends import SimpleCache
from flask_login import current_user
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException
from werkzeug.http import HTTP_STATUS_CODES, parse_accept_header, parse_etags
from werkzeug.wrappers import Request, Response
from werkzeug.wsgi import ClosingIterator

from community import metrics
from community.extensions import cache, db
from community.services import freshness

VARY = "Accept-Encoding, Cookie"
KEY = "community.page_cache_key"  # set in the WSGI environ by the middleware
TAKEN = "community.page_cache_taken"  # and when it read the versions (wall clock)
DATABASE_DOWN = "community.database_down"  # set when the middleware could not reach it


@dataclass(frozen=True)
class CachedPage:
    body: bytes
    gzipped: bytes
    etag: str
    content_type: str


class Recent:
    """A few values kept as objects in this process: no unpickling (or Redis round trip)
    on the hot path. Keys carry content versions, so an entry is never stale, only old."""

    def __init__(self, size: int = 32):
        self.size, self.items = size, {}

    def get(self, key: str, timeout: float):
        found = self.items.get(key)
        return found[1] if found and time.monotonic() - found[0] < timeout else None

    def put(self, key: str, value) -> None:
        if len(self.items) >= self.size:
            self.items.pop(next(iter(self.items)))
        self.items[key] = (time.monotonic(), value)


def recent(app: Flask, name: str) -> Recent:
    return app.extensions.setdefault(name, Recent())


# ---------------------------------------------------------------- bounded staleness
#
# Under a stream of writes every version of a hot page would be rendered once per write.
# Instead, a value noted less than PAGE_STALE_SECONDS ago stands in for the current
# version: a burst of writes costs one rendering per window (per process), and every
# reader sees a write at most GRACE windows after its commit (one window plus one rendering
# on a page read often enough to be rebuilt after an answer). Not the writer: each
# request that commits notes in its session the versions it left behind (WROTE), and a
# value older than those is never served to them (read-your-writes). Anonymous readers
# cannot write.

WROTE = "wrote"  # session key: {content version key: version after this reader's last write}


def remember_writes(response):
    """after_request: the versions this request's commits left, in the writer's session."""
    wrote = freshness.written(db.session)
    if wrote and current_user.is_authenticated:
        mine = {**session.get(WROTE, {}), **wrote}
        keep = [k for k in mine if k != freshness.EVERYTHING][-10:]  # the latest few pages written to
        session[WROTE] = {k: mine[k] for k in (freshness.EVERYTHING, *keep) if k in mine}
    return response


def parse_versions(keys: tuple[str, ...], found: str) -> dict[str, int]:
    """freshness.versions(*keys) as {key: version}, EVERYTHING included."""
    return dict(zip((freshness.EVERYTHING, *keys), map(int, found.split("."))))


def owed(versions: dict[str, int]) -> bool:
    """The current reader wrote something newer than `versions` show."""
    wrote = session.get(WROTE)
    return bool(wrote) and any(versions.get(k, v) < v for k, v in wrote.items())


# A hot page's value older than the window may still stand in, up to GRACE windows old, for
# a reader who did not write, if it is rebuilt as soon as that reader has their answer
# (Refresher, below): the rebuild costs the process, not the reader waiting for a page.
GRACE = 3
REFRESH = "community.page_refresh"  # environ: the page whose stale value was served, to rebuild after the answer
REFRESHING = "community.page_refreshing"  # environ of that rebuild: no stale value may stand in


def latest(app: Flask, name: str, base: str, refresh: tuple[dict, str] | None = None):
    """The newest value noted under `base`, if it was noted (built or found current) within
    the staleness window and includes this reader's own writes; None otherwise.

    `refresh`: (the request's WSGI environ, the path of the page that shows the value, for
    an anonymous GET to rebuild). Then a value up to GRACE windows old stands in too, and
    that page is rebuilt right after this answer is sent (Refresher)."""
    window = app.config["PAGE_STALE_SECONDS"]
    found = app.extensions.get(name, {}).get(base) if window > 0 else None
    if found is None or (has_request_context() and owed(found[1])):
        return None
    age = time.time() - found[3]
    if age < window:
        return found[2]
    if refresh is not None and age < window * GRACE and not refresh[0].get(REFRESHING):
        refresh[0].setdefault(REFRESH, refresh[1])
        return found[2]
    return None


def note_latest(app: Flask, name: str, base: str, taken: float, versions: dict[str, int], value) -> None:
    """`value` holds every write committed before `taken` (wall clock, as cache entries are
    shared across processes): the newest stand-in for `base`."""
    noted = app.extensions.setdefault(name, {})
    if len(noted) > 256:
        noted.clear()
    found = noted.get(base)
    if found is None or found[0] < taken:
        noted[base] = (taken, versions, value, time.time())


def _base(request: Request) -> str:
    """Host included: a page names its own address (canonical and og links), and an entry
    must never be served for a host other than the one it was rendered for."""
    return f"page:{request.host}{request.full_path}"


def _key(request: Request, keys: tuple[str, ...], connection=None) -> str:
    return f"{_base(request)}:{freshness.versions(*keys, connection=connection)}"


def _note(app: Flask, key: str, taken: float, keys: tuple[str, ...], page: CachedPage) -> None:
    base, found = key.rsplit(":", 1)
    note_latest(app, "latest_pages", base, taken, parse_versions(keys, found), page)


def remembered(app: Flask, name: str, key: str, build=None, memo_is_enough: bool = False):
    """The value under `key`: from this process's memo `name`, else from the shared cache,
    else from `build()` (stored in both). None when absent and there is nothing to build.
    `memo_is_enough`: when the cache is this process's memory too (no Redis), a value built
    here is kept in the memo alone: a second copy, pickled, would serve no other process
    (a 2,000-comment thread's sections: 5 ms to pickle and 3 MB a version)."""
    timeout = app.config["PAGE_CACHE_SECONDS"]
    memo = recent(app, name)
    value = memo.get(key, timeout)
    if value is None:
        value = cache.get(key)
        if value is None and build is not None:
            value = build()
            if not (memo_is_enough and isinstance(cache.cache, SimpleCache)):
                cache.set(key, value, timeout=timeout)
        if value is not None:
            memo.put(key, value)
    return value


def _store(app: Flask, key: str, response: Response) -> CachedPage:
    body = response.get_data()
    response.add_etag()
    page = CachedPage(body, gzip.compress(body, 6, mtime=0), response.get_etag()[0], response.content_type)
    cache.set(key, page, timeout=app.config["PAGE_CACHE_SECONDS"])
    recent(app, "recent_pages").put(key, page)
    return page


def _answer(page: CachedPage, environ: dict) -> tuple[int, list[tuple[str, str]], bytes]:
    """Status, headers and body for this request: gzip when the client takes it (a
    different representation, so a different ETag), 304 when it already has it."""
    zipped = parse_accept_header(environ.get("HTTP_ACCEPT_ENCODING")).quality("gzip") > 0
    etag = page.etag + ("-gz" if zipped else "")
    headers = [("Content-Type", page.content_type), ("ETag", f'"{etag}"'), ("Vary", VARY), ("X-Cache", "hit"),
               ("Cache-Control", "no-cache")]  # as Flask's hook says for anonymous pages: revalidate each time
    if parse_etags(environ.get("HTTP_IF_NONE_MATCH")).contains(etag):
        return 304, headers, b""
    body = page.gzipped if zipped else page.body
    if zipped:
        headers.append(("Content-Encoding", "gzip"))
    headers.append(("Content-Length", str(len(body))))
    return 200, headers, b"" if environ["REQUEST_METHOD"] == "HEAD" else body


def _cacheable() -> bool:
    """Only what every anonymous reader sees alike: no account, no flashed message."""
    return (current_app.config["PAGE_CACHE"] and request.method in ("GET", "HEAD")
            and not session.get("_flashes") and "_user_id" not in session and not current_user.is_authenticated)


def cached_for_anonymous(keys):
    """Serve anonymous readers a cached copy while the versions of `keys(**view_args)` hold.

    Entries also expire after PAGE_CACHE_SECONDS so that "3 minutes ago" stays roughly
    true for readers without JavaScript."""

    def decorator(view):
        @wraps(view)
        def wrapper(**kwargs):
            if not _cacheable():
                return view(**kwargs)
            # A miss in the middleware already read the versions (before rendering, so
            # the page can't be older than its key).
            taken, page_keys = request.environ.get(TAKEN) or time.time(), keys(**kwargs)
            key = request.environ.get(KEY) or _key(request, page_keys)
            page = remembered(current_app, "recent_pages", key)
            if page is not None:
                _note(current_app, key, taken, page_keys, page)
            else:
                page = latest(current_app, "latest_pages", _base(request), (request.environ, request.script_root + request.full_path))
            metrics.PAGE_CACHE.labels("miss" if page is None else "hit").inc()
            if page is not None:
                status, headers, body = _answer(page, request.environ)
                return Response(body, status, headers)
            response = make_response(view(**kwargs))
            if response.status_code == 200 and not response.direct_passthrough:
                _note(current_app, key, taken, page_keys, _store(current_app, key, response))
            response.headers["X-Cache"] = "miss"
            response.vary.add("Accept-Encoding")
            return response

        wrapper.page_cache_keys = keys
        return wrapper

    return decorator


class PageCacheMiddleware:
    """Answers cookie-less GET and HEAD requests for cached pages before Flask runs."""

    def __init__(self, app: Flask, wsgi_app, headers: list[tuple[str, str]]):
        """`headers`: what Flask's after_request hooks add to every page (security headers)."""
        self.app, self.wsgi_app, self.headers = app, wsgi_app, headers
        self.keys = {endpoint: view.page_cache_keys for endpoint, view in app.view_functions.items()
                     if hasattr(view, "page_cache_keys")}

    def __call__(self, environ, start_response):
        if (environ["REQUEST_METHOD"] in ("GET", "HEAD") and "HTTP_COOKIE" not in environ
                and self.app.config["PAGE_CACHE"]):
            with self.app.app_context():
                page = self._find(environ)
                if page is not None:
                    status, headers, body = _answer(page, environ)
                    headers += self.headers
                    if "query_count" in g:
                        headers.append(("X-Query-Count", str(g.query_count)))
            if page is not None:
                metrics.PAGE_CACHE.labels("hit").inc()
                environ[metrics.ENDPOINT] = "page_cache"
                start_response(f"{status} {HTTP_STATUS_CODES[status]}", headers)
                return [body]
        return self.wsgi_app(environ, start_response)

    def _find(self, environ) -> CachedPage | None:
        if "\x00" in environ.get("PATH_INFO", ""):
            return None  # Flask's input guard answers 400 (PostgreSQL would refuse the key)
        try:
            endpoint, args = self.app.url_map.bind_to_environ(environ).match()
        except HTTPException:  # 404s and redirects: Flask's business
            return None
        keys = self.keys.get(endpoint)
        if keys is None:
            return None
        page_keys = keys(**args)
        taken = environ[TAKEN] = time.time()
        try:
            with db.engine.connect() as connection:  # no ORM session: nothing to load
                key = environ[KEY] = _key(Request(environ), page_keys, connection)
        except OperationalError:
            # The database is down: Flask answers with its 503 page, without trying again.
            environ[DATABASE_DOWN] = True
            return None
        page = remembered(self.app, "recent_pages", key)
        if page is not None:
            _note(self.app, key, taken, page_keys, page)
            return page
        # Without a cookie there is no session, so no write of this reader's to wait for.
        return latest(self.app, "latest_pages", key.rsplit(":", 1)[0], (environ, _path(environ)))


def _path(environ) -> str:
    query = environ.get("QUERY_STRING")
    return environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "") + (f"?{query}" if query else "")


class Refresher:
    """WSGI middleware: after a stale value of a page stood in for a reader (`latest`),
    once their answer is sent, build the page's current version in this process: an
    anonymous GET of it, whose `latest` accepts nothing stale. A sync worker does it
    before taking its next request, so no reader waits on a rebuild that they did not
    cause by writing; the next readers of this process get the new version. Runs inside
    CanonicalHost: the environ's host is the site's own."""

    # What the rebuild's request keeps of the reader's: where it went, and how; never a cookie.
    KEPT = ("SCRIPT_NAME", "SERVER_NAME", "SERVER_PORT", "SERVER_PROTOCOL", "HTTP_HOST", "REMOTE_ADDR",
            "wsgi.url_scheme", "wsgi.version", "wsgi.errors", "wsgi.multithread", "wsgi.multiprocess", "wsgi.run_once")

    def __init__(self, app: Flask, wsgi_app):
        self.app, self.wsgi_app = app, wsgi_app
        self.pending: set[str] = set()  # pages being rebuilt now (threaded servers): once each

    def __call__(self, environ, start_response):
        answer = self.wsgi_app(environ, start_response)
        if REFRESH not in environ:
            return answer
        return ClosingIterator(answer, lambda: self.refresh(environ))

    def refresh(self, environ) -> None:
        path = environ.pop(REFRESH)
        if path in self.pending:
            return
        self.pending.add(path)
        try:
            target = urlsplit(path)
            replay = {key: environ[key] for key in self.KEPT if key in environ}
            replay.update({"REQUEST_METHOD": "GET", "PATH_INFO": target.path[len(replay.get("SCRIPT_NAME", "")):],
                           "QUERY_STRING": target.query, "wsgi.input": BytesIO(), REFRESHING: True})
            answer = self.wsgi_app(replay, lambda status, headers, exc_info=None: None)
            try:
                for _ in answer:
                    pass
            finally:
                if hasattr(answer, "close"):
                    answer.close()
        except Exception:  # the reader has their answer; the next one rebuilds as before
            self.app.logger.exception("rebuilding %s after a stale answer failed", path)
        finally:
            self.pending.discard(path)
