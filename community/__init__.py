"""GI Community: the listener community of the Generally Intelligent podcast."""

from __future__ import annotations

import os
from pathlib import Path

from flask import (
    Flask, abort, current_app, g, has_app_context, has_request_context, jsonify, render_template, request, session,
)
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import OperationalError

from community import config

ROOT = Path(__file__).resolve().parent.parent

# The CSP has no 'unsafe-inline' anywhere: injected markup can neither run script nor
# restyle the page; media may stream from the podcast host.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "media-src 'self' https: http:; connect-src 'self'; font-src 'self'; object-src 'none'; "
    "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def create_app(test_config: dict | None = None) -> Flask:
    app = Flask(
        __name__,
        instance_path=os.environ.get("INSTANCE_PATH") or str(ROOT / "instance"),
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    app.config.update(config.DEFAULTS)
    app.config.update({k: v for k, v in config.from_environment(app.instance_path).items() if v is not None})
    if test_config:
        app.config.update(test_config)
    if not app.config.get("SECRET_KEY"):
        if not (app.debug or app.testing):
            raise RuntimeError(
                "SECRET_KEY is not set. Set it in the environment, e.g. "
                "export SECRET_KEY=$(python3 -c 'import secrets; print(secrets.token_hex(32))')"
            )
        app.config["SECRET_KEY"] = "dev-only-not-secret"
    if not config.public_url(app.config) and not (app.debug or app.testing):
        # Links in pages, feeds and mail must name the site, never what a client sent as Host.
        raise RuntimeError(
            "PUBLIC_URL is not set. Set it to the site's address, e.g. export PUBLIC_URL=https://community.example.org"
        )
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        # A file has no server to drop the connection: pinging it before each use is waste.
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {**app.config["SQLALCHEMY_ENGINE_OPTIONS"], "pool_pre_ping": False}
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        # A database that stops answering must cost seconds, not a worker: give up connecting
        # after 5 s and stop any statement after 15 s (the page then says 503).
        options = dict(app.config["SQLALCHEMY_ENGINE_OPTIONS"])
        options.setdefault("connect_args", {"connect_timeout": 5, "options": "-c statement_timeout=15000"})
        options.setdefault("pool_timeout", 10)
        app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options
    register_extensions(app)
    if not getattr(register_mail_dispatch, "done", False):  # session events are global: once per process
        register_mail_dispatch(app)
        register_mail_dispatch.done = True
    register_blueprints(app)
    register_security_headers(app)
    register_input_guard(app)
    register_conditional_get(app)
    register_error_handlers(app)
    register_template_helpers(app)
    register_cli(app)
    if app.config.get("QUERY_COUNT_HEADER"):
        register_query_count_header(app)
    register_wsgi_middleware(app)
    return app


def register_query_count_header(app: Flask) -> None:
    """For benchmarks only: X-Query-Count tells how many SQL statements a request ran."""
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


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, _record):
    """WAL lets readers go on during a write; the busy timeout waits instead of failing."""
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=5000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()


def register_extensions(app: Flask) -> None:
    from community.extensions import cache, csrf, db, limiter, login_manager, migrate
    from community.services import sessions

    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"))
    csrf.init_app(app)
    from community import shared_state  # registers the community+db:// and community+redis:// limit storages

    # Counters and cached pages are shared by every worker and host: in Redis when it is
    # configured (the database takes the counters while it is down), else the database
    # for counters and each process's memory for pages (a cache only saves work).
    redis_url = app.config.get("REDIS_URL")
    app.config.setdefault("RATELIMIT_STORAGE_URI", f"community+{redis_url}" if redis_url else "community+db://")
    limiter.init_app(app)
    if redis_url:
        app.config.setdefault("CACHE_TYPE", f"{shared_state.__name__}.TolerantRedisCache")
        app.config.setdefault("CACHE_REDIS_URL", redis_url)
        app.config.setdefault("CACHE_OPTIONS", shared_state.REDIS_TIMEOUTS)
    else:
        app.config.setdefault("CACHE_TYPE", "SimpleCache")
    cache.init_app(app)

    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"
    login_manager.login_message = "Log in to do that."
    login_manager.login_message_category = "info"
    login_manager.user_loader(lambda token: sessions.load_session_user(token, request.remote_addr or ""))


def register_mail_dispatch(app: Flask) -> None:
    """Notifications written by a request are emailed after its commit: in a thread so a
    slow SMTP server never holds the request (MAIL_ASYNC=False in tests: right away)."""
    import threading

    from community.extensions import db
    from community.services import notifications

    @event.listens_for(db.session, "after_commit")
    def mail_new_notifications(session):
        ids = session.info.pop("notifications_to_mail", None)
        if not ids or not has_app_context():
            return
        flask_app = current_app._get_current_object()
        # Links in the mail point where the reader came from (or PUBLIC_URL outside a request).
        base_url = (request.host_url if has_request_context()
                    else config.public_url(flask_app.config) or "http://127.0.0.1:5000")

        def work():
            # A fresh app context: a session of its own (this one has just committed).
            with flask_app.app_context(), flask_app.test_request_context(base_url=base_url):
                notifications.deliver(ids)

        if flask_app.config["MAIL_ASYNC"]:
            threading.Thread(target=work, daemon=True, name="notification-mail").start()
        else:
            work()

    @event.listens_for(db.session, "after_rollback")
    def forget_unsent(session):
        session.info.pop("notifications_to_mail", None)


def register_blueprints(app: Flask) -> None:
    from community import api
    from community.views import (
        accounts, discussion, episodes, feeds, guests, main, moderation, notifications, papers, questions, search,
    )

    app.register_blueprint(main.bp)
    app.register_blueprint(accounts.bp)
    app.register_blueprint(episodes.bp)
    app.register_blueprint(discussion.bp)
    app.register_blueprint(feeds.bp)
    app.register_blueprint(papers.bp)
    app.register_blueprint(questions.bp)
    app.register_blueprint(guests.bp)
    app.register_blueprint(moderation.bp)
    app.register_blueprint(notifications.bp)
    app.register_blueprint(search.bp)
    app.register_blueprint(api.bp)


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


def security_headers(app: Flask) -> list[tuple[str, str]]:
    headers = [("Content-Security-Policy", CONTENT_SECURITY_POLICY), ("X-Content-Type-Options", "nosniff"),
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


def register_wsgi_middleware(app: Flask) -> None:
    """What runs before Flask, outermost first:
    1. ProxyFix (behind nginx): the client's address and scheme from X-Forwarded-*
       (rate limits are per client IP), trusting exactly TRUSTED_PROXIES proxies;
    2. CanonicalHost: unknown hosts refused, the configured address presented (hosts.py);
    3. the anonymous page cache: cookie-less requests for cached pages (page_cache.py)."""
    from werkzeug.middleware.proxy_fix import ProxyFix

    from community.hosts import CanonicalHost
    from community.pages.cache import PageCacheMiddleware

    app.wsgi_app = PageCacheMiddleware(app, app.wsgi_app, security_headers(app))
    if config.public_url(app.config):
        aliases = [a for a in (app.config.get("HOST_ALIASES") or "").split(",") if a.strip()]
        app.wsgi_app = CanonicalHost(app.wsgi_app, config.public_url(app.config), aliases)
    if app.config.get("TRUSTED_PROXIES"):
        hops = int(app.config["TRUSTED_PROXIES"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)


# Answers anyone may keep for a minute: feeds, the JSON API, the reading-list exports.
PUBLIC_PREFIXES = ("/api/", "/feeds/")
PUBLIC_SUFFIXES = (".atom", ".bib", ".md")


def register_conditional_get(app: Flask) -> None:
    """Cache-Control for every answer, and ETags (so an unchanged one costs a 304):
    - personal (logged in, a CSRF token in the page, or a cookie set): private, no-store;
    - feeds and the API: public for 60 s, then revalidated;
    - other anonymous pages: no-cache (always revalidated: they change with every post);
    - errors: no-store. Static files keep Flask's own (no-cache with an ETag)."""

    @app.after_request
    def cache_headers(response):
        if request.endpoint == "static":
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
        return response


def _wants_json() -> bool:
    return request.path.startswith("/api/")


def register_error_handlers(app: Flask) -> None:
    from flask_wtf.csrf import CSRFError

    from community.extensions import db, login_manager
    from community.pages.cache import DATABASE_DOWN

    messages = {
        400: "The request could not be understood.",
        403: "You do not have permission to see this page.",
        404: "There is nothing at this address.",
        405: "That method is not allowed here.",
        413: "That was too large to accept.",
        429: "Too many requests: slow down and try again in a little while.",
        500: "Something went wrong on our side. It has been logged.",
        503: "The site is briefly unavailable (the database cannot be reached). Try again in a minute.",
    }

    def render_error(code: int, message: str | None = None):
        message = message or messages.get(code, "Error")
        if _wants_json():
            return jsonify({"error": message, "status": code}), code
        try:
            return render_template("errors/error.html", code=code, message=message), code
        except OperationalError:  # the layout asks who is logged in, and the database is down
            db.session.rollback()
            g._login_user = login_manager.anonymous_user()
            return render_template("errors/error.html", code=503, message=messages[503]), 503

    for code in messages:
        app.register_error_handler(code, lambda error, code=code: render_error(code))

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


def register_template_helpers(app: Flask) -> None:
    from community.views import helpers

    helpers.init_app(app)


def register_cli(app: Flask) -> None:
    from community import cli

    cli.init_app(app)
