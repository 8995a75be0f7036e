"""The web plumbing around the views: security headers, the input guard, Cache-Control and
conditional GET, error pages (DomainError included), the query-count header for benchmarks
and the WSGI middleware stack. Only the factory imports this module; each register_*
function is called once per app, in the order create_app lists them."""

from __future__ import annotations

import hashlib
import os
from urllib.parse import urlsplit

from flask import Flask, abort, g, has_app_context, jsonify, render_template, request, session
from werkzeug.http import HTTP_STATUS_CODES
from sqlalchemy import event
from sqlalchemy.exc import OperationalError

from community import config

# The CSP has no 'unsafe-inline' anywhere: injected markup can neither run script nor
# restyle the page; media may stream from the podcast host.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "media-src 'self' https: http:; connect-src 'self'; font-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)

# Answers anyone may keep for a minute: feeds, the JSON API, the reading-list exports.
PUBLIC_PREFIXES = ("/api/", "/feeds/")
PUBLIC_SUFFIXES = (".atom", ".bib", ".md")

# What an error page says when nothing more precise is known (a DomainError brings its own).
MESSAGES = {
    400: "The request could not be understood.",
    403: "You do not have permission to see this page.",
    404: "There is nothing at this address.",
    405: "That method is not allowed here.",
    413: "That was too large to accept.",
    429: "Too many requests: slow down and try again in a little while.",
    500: "Something went wrong on our side. It has been logged.",
    503: "The site is briefly unavailable (the database cannot be reached). Try again in a minute.",
}


def content_security_policy(app: Flask) -> str:
    """The CSP; with ORCID sign-in set up, a form may also lead to the ORCID issuer:
    "Sign in with ORCID" is a POST answered by a redirect there, and browsers hold the
    redirects that follow a form to form-action (ORCID's authorize endpoint is on its
    issuer's origin)."""
    if not (app.config.get("ORCID_CLIENT_ID") and app.config.get("ORCID_CLIENT_SECRET")):
        return CONTENT_SECURITY_POLICY
    issuer = urlsplit(app.config["ORCID_ISSUER"])
    return CONTENT_SECURITY_POLICY.replace("form-action 'self'", f"form-action 'self' {issuer.scheme}://{issuer.netloc}")


def security_headers(app: Flask) -> list[tuple[str, str]]:
    """The headers of every answer; the page cache middleware sends the same list."""
    headers = [("Content-Security-Policy", content_security_policy(app)), ("X-Content-Type-Options", "nosniff"),
               ("Referrer-Policy", "strict-origin-when-cross-origin"), ("X-Frame-Options", "DENY"),
               ("Cross-Origin-Opener-Policy", "same-origin")]
    if app.config.get("SESSION_COOKIE_SECURE"):
        headers.append(("Strict-Transport-Security", "max-age=31536000; includeSubDomains"))
    return headers


def register_security_headers(app: Flask) -> None:
    headers = security_headers(app)

    @app.after_request
    def add_security_headers(response):
        for name, value in headers:
            response.headers.setdefault(name, value)
        return response


def register_input_guard(app: Flask) -> None:
    """A NUL byte is never legitimate text, and PostgreSQL refuses it outright: answer 400
    before any view sees it, for the path, the query string and form fields alike."""

    @app.before_request
    def refuse_nul_bytes():
        if request.method not in ("GET", "HEAD", "POST") and not request.path.startswith("/api/"):
            return None
        values = [request.path, *request.args.values()]
        if request.method == "POST" and request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            values += list(request.form.values())
        if any("\x00" in value for value in values):
            abort(400, "Text cannot contain NUL characters.")
        return None


def register_conditional_get(app: Flask) -> None:
    """Cache-Control for every answer, and ETags (so an unchanged one costs a 304):
    - personal (logged in, a CSRF token in the page, or a cookie set): private, no-store;
    - feeds and the API: public for 60 s, then revalidated;
    - other anonymous pages: no-cache (always revalidated: they change with every post);
    - errors: no-store. Static files keep Flask's own (no-cache with an ETag), unless
      asked for under their current fingerprint (immutable, a year)."""

    @app.after_request
    def cache_headers(response):
        if request.endpoint == "static":
            if response.status_code == 200 and request.args.get("v") == static_version(app, request.view_args["filename"]):
                # This URL names this content: it can be kept for a year (see static_version).
                response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
            return response
        # From the session, not current_user: asking the database who is logged in here
        # would turn a 503 (database down) into an error in this hook.
        personal = "_user_id" in session or "csrf_token" in g or session.modified or "Set-Cookie" in response.headers
        if personal or response.status_code >= 400:
            response.headers["Cache-Control"] = "private, no-store" if personal else "no-store"
            return response
        path = request.path
        response.headers["Cache-Control"] = ("public, max-age=60" if path.startswith(PUBLIC_PREFIXES)
                                             or path.endswith(PUBLIC_SUFFIXES) else "no-cache")
        # Not for logged-in readers (above): their page changes with every visit ("new"
        # marks), and hashing a 500-comment page costs half a millisecond for a 304 that never comes.
        if request.method == "GET" and response.status_code == 200 and not response.direct_passthrough:
            response.add_etag(overwrite=False)
            response.make_conditional(request)
            # make_conditional writes a Date header; the server (gunicorn) writes its own, and two
            # Date headers is one too many (and pre-Flask cache hits carry only the server's).
            del response.headers["Date"]
        return response


def static_version(app: Flask, filename: str) -> str | None:
    """A short hash of a static file's content (None if there is no such file), remembered
    per process; with the debugger on, per modification time, so an edited file gets its
    new URL on the next page."""
    path = os.path.join(app.static_folder, filename)
    try:
        stamp = os.stat(path).st_mtime_ns if app.debug else 0
    except OSError:
        return None
    versions = app.extensions.setdefault("static_versions", {})
    known = versions.get(filename)
    if known is None or known[0] != stamp:
        try:
            with open(path, "rb") as file:
                known = (stamp, hashlib.sha256(file.read()).hexdigest()[:12])
        except OSError:
            return None
        versions[filename] = known
    return known[1]


def register_static_fingerprints(app: Flask) -> None:
    """Every url_for('static', ...) carries ?v=<content hash>: a changed CSS or JS file
    gets a new URL, so browsers and nginx may keep each URL for a year without serving
    yesterday's file after a deploy. (Cached pages hold the URLs they were rendered with
    for at most PAGE_CACHE_SECONDS; an old URL still answers, with the new file, uncached.)"""

    @app.url_defaults
    def fingerprint(endpoint, values):
        if endpoint == "static" and "filename" in values and "v" not in values:
            version = static_version(app, values["filename"])
            if version:
                values["v"] = version


def _wants_json() -> bool:
    return request.path.startswith("/api/")


def register_error_handlers(app: Flask) -> None:
    """Error pages (JSON under /api/), the 503 when the database is down, and one handler
    for a DomainError no view caught: the rule's own message, with 403 for PermissionDenied,
    404 for NotFound and 422 for any other refusal (views.helpers.status_for)."""
    from flask_wtf.csrf import CSRFError

    from community.extensions import db, login_manager
    from community.pages.cache import DATABASE_DOWN
    from community.services import DomainError
    from community.views.helpers import status_for

    def render_error(code: int, message: str | None = None):
        message = message or MESSAGES.get(code, "Error")
        if _wants_json():  # RFC 9457 problem details
            problem = jsonify({"type": "about:blank", "title": HTTP_STATUS_CODES.get(code, "Error"), "status": code,
                               "detail": message})
            problem.mimetype = "application/problem+json"
            return problem, code
        try:
            return render_template("errors/error.html", code=code, message=message), code
        except OperationalError:  # the layout asks who is logged in, and the database is down
            db.session.rollback()
            g._login_user = login_manager.anonymous_user()
            return render_template("errors/error.html", code=503, message=MESSAGES[503]), 503

    def said(error) -> str | None:
        """What abort(code, description=...) said, for API clients (pages keep their wording)."""
        custom = getattr(error, "description", None)
        return custom if _wants_json() and custom and custom != type(error).description else None

    def answer(error, code: int):
        response = app.make_response(render_error(code, said(error)))
        if getattr(error, "valid_methods", None):  # a 405 says what is allowed (RFC 9110)
            response.headers["Allow"] = ", ".join(error.valid_methods)
        return response

    for code in MESSAGES:
        app.register_error_handler(code, lambda error, code=code: answer(error, code))

    @app.errorhandler(DomainError)
    def refused(error):
        db.session.rollback()  # a rule said no: nothing the request wrote so far is kept
        return render_error(status_for(error), str(error))

    @app.errorhandler(429)
    def rate_limited(error):
        return render_error(429, f"Too many requests (the limit is {error.description}). Please wait a little and try again.")

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        return render_error(400, "Your form expired or was sent from elsewhere (missing or bad CSRF token). Reload the page and try again.")

    @app.before_request
    def database_known_down():
        """The page cache middleware already failed to reach the database: say so at once
        instead of waiting for a second connect timeout."""
        if request.environ.get(DATABASE_DOWN):
            g._login_user = login_manager.anonymous_user()
            return render_error(503)
        return None

    @app.errorhandler(OperationalError)
    def database_down(error):
        db.session.rollback()
        g._login_user = login_manager.anonymous_user()  # the page must not ask the database who you are
        app.logger.error("Database unavailable: %s", error)
        return render_error(503)


def register_query_count_header(app: Flask) -> None:
    """For benchmarks only (QUERY_COUNT_HEADER): X-Query-Count tells how many SQL statements a request ran."""
    from community.extensions import db

    with app.app_context():
        engine = db.engine

    @event.listens_for(engine, "before_cursor_execute")
    def count(*_args):
        if has_app_context():  # the page cache middleware answers in an app context only
            g.query_count = g.get("query_count", 0) + 1

    @app.after_request
    def add_header(response):
        response.headers["X-Query-Count"] = str(g.get("query_count", 0))
        return response


def register_read_your_writes(app: Flask) -> None:
    """A writer's session remembers the versions their writes left (pages/cache.py)."""
    from community.pages.cache import remember_writes

    app.after_request(remember_writes)


def register_wsgi_middleware(app: Flask) -> None:
    """What runs before Flask, outermost first:
    1. ProxyFix (behind nginx): the client's address and scheme from X-Forwarded-*
       (rate limits are per client IP), trusting exactly TRUSTED_PROXIES proxies;
    2. CanonicalHost: unknown hosts refused, the configured address presented (hosts.py);
    3. after a stale page stood in for a reader, its rebuild once they have their answer;
    4. the anonymous page cache: cookie-less requests for cached pages (pages/cache.py)."""
    from werkzeug.middleware.proxy_fix import ProxyFix

    from community.hosts import CanonicalHost
    from community.pages.cache import PageCacheMiddleware, Refresher

    app.wsgi_app = Refresher(app, PageCacheMiddleware(app, app.wsgi_app, security_headers(app)))
    if config.public_url(app.config):
        aliases = [a for a in (app.config.get("HOST_ALIASES") or "").split(",") if a.strip()]
        # /healthz and /metrics answer on any host: load balancers and Prometheus use addresses.
        app.wsgi_app = CanonicalHost(app.wsgi_app, config.public_url(app.config), aliases,
                                     open_paths=("/healthz", "/metrics"))
    if app.config.get("TRUSTED_PROXIES"):
        hops = int(app.config["TRUSTED_PROXIES"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)
