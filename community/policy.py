"""Who may do what: every role check lives here, views only apply these."""

from __future__ import annotations

from functools import wraps

from flask import abort
from flask_login import current_user, login_required

from community.models import Role


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
SHOW_TEAM = (Role.host, Role.admin)
show_required = role_required(*SHOW_TEAM)


def runs_the_show(user) -> bool:
    """Hosts and admins: they also see unpublished episodes (with a banner saying so)."""
    return user is not None and user.is_authenticated and user.role in SHOW_TEAM
