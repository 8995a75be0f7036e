"""GI Community: the listener community of the Generally Intelligent podcast."""

from __future__ import annotations

import os
from pathlib import Path

from flask import Flask, request
from sqlalchemy import event
from sqlalchemy.engine import Engine

from community import config, hosts

ROOT = Path(__file__).resolve().parent.parent


def create_app(test_config: dict | None = None) -> Flask:
    """The application, in the order it is put together: settings, extensions, the job
    queue that follows each commit, the blueprints, then the web plumbing around them (web.py)."""
    from community import cli, job_queue, observability, web
    from community.views import helpers

    app = Flask(
        __name__,
        instance_path=os.environ.get("INSTANCE_PATH") or str(ROOT / "instance"),
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    configure(app, test_config)
    register_extensions(app)
    job_queue.init_app(app)
    register_blueprints(app)
    web.register_security_headers(app)
    web.register_input_guard(app)
    web.register_conditional_get(app)
    web.register_static_fingerprints(app)
    web.register_error_handlers(app)
    helpers.init_app(app)  # template filters and globals
    cli.init_app(app)
    if app.config.get("QUERY_COUNT_HEADER"):
        web.register_query_count_header(app)
    observability.init_app(app)  # logging, request ids, /metrics
    web.register_wsgi_middleware(app)
    observability.wrap(app)  # outermost: every answer gets a request id and an access line
    return app


def configure(app: Flask, test_config: dict | None) -> None:
    """Defaults, then the environment, then the test's dict; refuses to start a production
    app without a secret key or a public address."""
    app.config.update(config.DEFAULTS)
    app.config.update({k: v for k, v in config.from_environment(app.instance_path).items() if v is not None})
    if test_config:
        app.config.update(test_config)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    developing = app.debug or app.testing
    if not app.config.get("SECRET_KEY"):
        if not developing:
            raise config.SettingError(
                "SECRET_KEY is not set. Set it in the environment, e.g. "
                "export SECRET_KEY=$(python3 -c 'import secrets; print(secrets.token_hex(32))') "
                "(or FLASK_DEBUG=1 on a development machine)"
            )
        app.config["SECRET_KEY"] = "dev-only-not-secret" if app.testing else config.instance_secret(app.instance_path)
    address = config.public_url(app.config)
    if not address and not developing:
        # Links in pages, feeds and mail must name the site, never what a client sent as Host.
        raise config.SettingError(
            "PUBLIC_URL is not set. Set it to the site's address, e.g. export PUBLIC_URL=https://community.example.org "
            "(or FLASK_DEBUG=1 on a development machine)"
        )
    if address:
        try:
            hosts.origin(address)
        except ValueError as error:
            raise config.SettingError(str(error)) from None
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


def register_blueprints(app: Flask) -> None:
    from community import api
    from community.views import (
        accounts, admin, admin_feeds, admin_jobs, admin_transcripts, crawlers, discussion, drafts, episodes, feeds,
        guests, invitations, main, moderation, moments, notifications, orcid, papers, questions, search, transcripts,
        verification,
    )

    for module in (main, accounts, episodes, discussion, feeds, papers, questions, guests, moderation, notifications,
                   search, transcripts, moments, crawlers, api, verification, admin, admin_feeds, admin_jobs,
                   admin_transcripts, orcid, invitations):
        app.register_blueprint(module.bp)
    app.register_blueprint(drafts.bp)
    drafts.init_app(app)
