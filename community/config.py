"""Defaults, then overrides from the environment; tests pass a dict to create_app."""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from datetime import timedelta

import click


class SettingError(click.ClickException, RuntimeError):
    """A setting the app cannot start without. A ClickException, so a `flask` command says it
    in one line instead of a traceback; a RuntimeError to everything else (gunicorn, tests)."""


def instance_secret(instance_path: str) -> str:
    """Development only: a secret key kept in the instance folder, made on first use, so
    `flask` commands work from a fresh clone and sessions survive a restart."""
    path = os.path.join(instance_path, "secret_key")
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(descriptor, "w") as file:
            file.write(secrets.token_hex(32))
    with open(path, encoding="ascii") as file:
        return file.read().strip()


def _env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    return default if value is None else value.strip().lower() in {"1", "true", "yes", "on"}


def public_url(config: Mapping) -> str | None:
    """The site's configured address (PUBLIC_URL, else SERVER_NAME) from an app's config;
    None when unset, which only debug and testing allow."""
    if config.get("PUBLIC_URL"):
        return config["PUBLIC_URL"].rstrip("/")
    if config.get("SERVER_NAME"):
        return f"{config['PREFERRED_URL_SCHEME']}://{config['SERVER_NAME']}"
    return None


def from_environment(instance_path: str) -> dict:
    """Every setting the app reads, with its default; the README lists the same names."""
    env = os.environ.get
    return {
        "SECRET_KEY": env("SECRET_KEY"),
        "SQLALCHEMY_DATABASE_URI": env("DATABASE_URL")
        or f"sqlite:///{os.path.join(instance_path, 'community.sqlite')}",
        "REDIS_URL": env("REDIS_URL"),
        "SESSION_COOKIE_SECURE": _env_bool("SESSION_COOKIE_SECURE"),
        "REMEMBER_COOKIE_SECURE": _env_bool("SESSION_COOKIE_SECURE"),
        "PREFERRED_URL_SCHEME": env("PREFERRED_URL_SCHEME", "http"),
        "SERVER_NAME": env("SERVER_NAME"),
        "PUBLIC_URL": env("PUBLIC_URL"),
        "HOST_ALIASES": env("HOST_ALIASES"),
        "MAIL_SERVER": env("MAIL_SERVER"),
        "MAIL_PORT": int(env("MAIL_PORT", "25")),
        "MAIL_USERNAME": env("MAIL_USERNAME"),
        "MAIL_PASSWORD": env("MAIL_PASSWORD"),
        "MAIL_USE_TLS": _env_bool("MAIL_USE_TLS"),  # STARTTLS on MAIL_PORT (usually 587)
        "MAIL_USE_SSL": _env_bool("MAIL_USE_SSL"),  # SMTPS: TLS from the start (usually 465)
        "MAIL_CA_FILE": env("MAIL_CA_FILE"),  # trust this CA for the mail server (else the system's)
        "JOBS_RELAY_SECONDS": int(env("JOBS_RELAY_SECONDS", "30")),
        "JOBS_LEASE_SECONDS": int(env("JOBS_LEASE_SECONDS", "600")),
        # Seconds before each retry, e.g. "10,60,300" (the last repeats); unset: services.jobs.BACKOFF.
        "JOBS_BACKOFF": tuple(int(n) for n in env("JOBS_BACKOFF", "").split(",") if n.strip()) or None,
        "MAIL_FROM": env("MAIL_FROM", "GI Community <no-reply@localhost>"),
        "RATELIMIT_ENABLED": _env_bool("RATELIMIT_ENABLED", True),
        "PAPER_METADATA_LOOKUP": _env_bool("PAPER_METADATA_LOOKUP"),
        "QUERY_COUNT_HEADER": _env_bool("QUERY_COUNT_HEADER"),
        "PAGE_CACHE": _env_bool("PAGE_CACHE", True),
        "TRUSTED_PROXIES": int(env("TRUSTED_PROXIES", "0")),
        "LOG_FORMAT": env("LOG_FORMAT"),  # "json" or "text"; unset: json, text with FLASK_DEBUG
        "LOG_LEVEL": env("LOG_LEVEL", "INFO"),
        "METRICS_ALLOW": env("METRICS_ALLOW", ""),  # CIDRs that may read /metrics, e.g. 10.0.0.0/8
        "METRICS_TOKEN": env("METRICS_TOKEN", ""),  # or: Authorization: Bearer <token>
        # Sign in with ORCID (OpenID Connect): shown only when the client id and secret are set.
        "ORCID_CLIENT_ID": env("ORCID_CLIENT_ID"),
        "ORCID_CLIENT_SECRET": env("ORCID_CLIENT_SECRET"),
        "ORCID_ISSUER": env("ORCID_ISSUER"),
    }


DEFAULTS = {
    "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "REMEMBER_COOKIE_HTTPONLY": True,
    "REMEMBER_COOKIE_SAMESITE": "Lax",
    "REMEMBER_COOKIE_DURATION": timedelta(days=365),  # the server-side session decides (services/sessions)
    "PERMANENT_SESSION_LIFETIME": timedelta(days=14),
    "MAX_CONTENT_LENGTH": 1024 * 1024,
    "WTF_CSRF_TIME_LIMIT": None,  # tied to the session instead: a tab left open overnight still posts
    "RESET_TOKEN_MAX_AGE": 3600,
    "CONFIRM_TOKEN_MAX_AGE": 48 * 3600,  # an address confirmation link (services/emails)
    "CONFIRM_RESEND_SECONDS": 120,  # at most one confirmation mail per address this often
    "VERIFICATION_DAYS": 365,  # an institutional verification lapses this long after its confirmation
    "SESSION_IDLE_DAYS": 30,  # a login session unused this long is over (remember-me included)
    "SESSION_MAX_DAYS": 365,  # and every session is over this long after its login
    "SESSION_SEEN_MINUTES": 60,  # how precisely "last used" is kept (one write per session per hour)
    "MAIL_TIMEOUT": 10,
    "RATELIMIT_HEADERS_ENABLED": True,
    "LOGIN_RATE_LIMIT": "10 per 15 minutes",
    "REGISTER_RATE_LIMIT": "10 per hour",
    "EPISODES_PER_PAGE": 20,
    "COMMENT_RATE_LIMIT": "5 per minute",
    "COMMENT_RATE_LIMIT_NEW_ACCOUNT": "2 per minute;20 per day",
    "PAPER_RATE_LIMIT": "30 per 10 minutes",  # a reading list of 20 papers in one sitting
    "PAPER_RATE_LIMIT_NEW_ACCOUNT": "10 per 10 minutes;30 per day",
    "PREVIEW_RATE_LIMIT": "60 per minute",  # the live preview asks at most once per 400 ms pause
    "NEW_ACCOUNT_HOURS": 24,
    "NEW_ACCOUNT_MAX_LINKS": 2,  # links per post from members younger than NEW_ACCOUNT_HOURS (spam)
    "ENDORSEMENT_CAP": 10,
    "FLAG_THRESHOLD": 3.0,
    "FLAG_WEIGHT_TRUSTED": 1.5,  # a flag by a researcher, guest or host
    "FLAG_WEIGHT_MEMBER": 1.0,
    "FLAG_WEIGHT_NEW_MEMBER": 0.5,  # a member younger than FLAG_NEW_MEMBER_DAYS
    "FLAG_MIN_ACCOUNT_AGE_HOURS": 24,
    "FLAG_NEW_MEMBER_DAYS": 7,
    "FLAG_RATE_LIMIT": "20 per hour",
    "PREMODERATION_FIRST_POSTS": 0,
    "ARXIV_API_URL": "https://export.arxiv.org",
    "CROSSREF_API_URL": "https://api.crossref.org",
    "OPENREVIEW_API_URL": "https://api2.openreview.net",
    "OPENREVIEW_API_V1_URL": "https://api.openreview.net",  # venues before 2024 (ICLR 2017-2023) live there
    "PAPER_METADATA_TIMEOUT": 3.0,
    # Seconds between two requests to one source, across every process (arXiv asks for 3).
    "PAPER_METADATA_INTERVALS": {"arXiv": 3, "Crossref": 1, "OpenReview": 1},
    "PAPER_METADATA_MAX_WAIT": 10,  # longer than this for a source's turn: left for later
    "PAPER_METADATA_TTL": 30 * 24 * 3600,  # a fetched paper is not asked for again sooner
    "PAPER_METADATA_RETRY_AFTER": 3600,  # after a failure; doubled per failure in a row, up to a week
    # Networks a feed's chapters and transcript links may point into although they are
    # private, loopback or link-local (refused otherwise); the tests' servers need 127.0.0.1.
    "FEED_FETCH_ALLOWED_NETWORKS": (),
    "TRANSCRIPT_FETCH_TIMEOUT": 10.0,
    "CACHE_DEFAULT_TIMEOUT": 300,
    "PAGE_CACHE": True,
    "PAGE_CACHE_SECONDS": 60,
    "SITEMAP_PAGE_SIZE": 50_000,  # URLs per sitemap file (the protocol's maximum)
    "ORCID_ISSUER": "https://orcid.org",  # its /.well-known/openid-configuration names every endpoint
    "ORCID_TIMEOUT": 10.0,  # seconds for each call to ORCID (discovery, keys, token)
}
