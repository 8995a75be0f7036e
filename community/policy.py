"""Who may do what: every role check lives here, views only apply these."""

from __future__ import annotations

from functools import wraps

from flask import abort, jsonify, request
from flask_login import current_user, login_required

from community.models import Role
from community.services import PermissionDenied, emails


def role_required(*roles: Role):
    """Logged-in users with one of the roles; others get 403 (anonymous: the login page)."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapper(*args, **kwargs):
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapper

    return decorator


moderator_required = role_required(Role.moderator, Role.admin)
admin_required = role_required(Role.admin)
# The podcast's own team: episodes, people, appearances and invitations in the console.
show_required = role_required(Role.host, Role.admin)


# What an account whose address is not confirmed yet may still send: its own set-up (logging
# in and out, confirming, its profile, password, addresses, sessions, export, deletion, all
# under /auth/ and /settings/), its notification settings, and the preview (which writes
# nothing). Every other state-changing request is refused, including routes added later.
SETUP_PREFIXES = ("/auth/", "/settings/")
SETUP_ENDPOINTS = frozenset({"notifications.settings", "notifications.unsubscribe", "notifications.read_all",
                             "discussion.preview"})
STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def refuse_unconfirmed_writes():
    """Before every request (views.verification registers it): an unconfirmed account's write
    meets services.emails.ensure_confirmed's refusal, a 403 that says what waits; nothing runs."""
    if request.method not in STATE_CHANGING or request.path.startswith(SETUP_PREFIXES):
        return None
    if request.endpoint in SETUP_ENDPOINTS or not current_user.is_authenticated:
        return None
    try:
        emails.ensure_confirmed(current_user)
    except PermissionDenied as refusal:
        if request.accept_mimetypes.best == "application/json":  # a script's fetch (a vote) says it in place
            return jsonify({"error": str(refusal)}), 403
        raise  # the DomainError handler's page: the reason, under the banner's "Send it again"
    return None
