"""Template filters and globals shared by every page."""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit

from flask import Flask, request

from community import markup
from community.formatting import duration, exact_time, iso, relative_time
from community.forms import ActionForm


def is_safe_next(target: str | None) -> bool:
    """Only paths on this site: no scheme, no host, no protocol-relative or backslash tricks."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return False
    if any(ord(c) < 32 or ord(c) == 127 for c in target):  # CR/LF would break the Location header
        return False
    parts = urlsplit(urljoin(request.host_url, target))
    return parts.netloc == urlsplit(request.host_url).netloc and parts.scheme in ("http", "https")


def _unread_count() -> int:
    """Asked by the header only when a user is logged in: one small indexed count."""
    from flask_login import current_user

    from community.services import notifications

    return notifications.unread_count(current_user) if current_user.is_authenticated else 0


# Header navigation; an entry shows once its blueprint is registered.
NAV = [
    ("episodes.index", "Episodes"),
    ("papers.index", "Papers"),
    ("questions.index", "Questions"),
    ("guests.suggestions", "Suggest a guest"),
    ("search.search", "Search"),
]


def init_app(app: Flask) -> None:
    @app.context_processor
    def navigation():
        return {"site_nav": [(endpoint, label) for endpoint, label in NAV if endpoint in app.view_functions],
                "unread_count": _unread_count}

    app.add_template_filter(relative_time, "timeago")
    app.add_template_filter(iso, "iso")
    app.add_template_filter(exact_time, "exact")
    app.add_template_filter(duration, "duration")
    app.add_template_global(ActionForm, "ActionForm")
    from community.pages import readers, threads

    app.add_template_global(threads.render_thread, "render_thread")
    app.add_template_global(readers.vote_form_html, "vote_form_html")
    app.add_template_global(readers.slot_marker, "slot_marker")
    app.add_template_filter(markup.plain_text, "plain_text")
