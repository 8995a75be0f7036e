"""The operator console's navigation: one list of sections for every console page, whichever
blueprint serves it (admin, admin_feeds, admin_jobs, invitations, verification's domains).

The console layout calls `console_sections()` itself, so the list is built only where a
console page renders: no app-wide context processor guessing from the request path."""

from __future__ import annotations

from flask_login import current_user

from community.models import Role

# (endpoint, label, admins only): hosts see the show's sections, admins all of them.
SECTIONS = [
    ("admin.episodes", "Episodes", False),
    ("admin.people", "People", False),
    ("admin_feeds.index", "Feeds", False),
    ("invitations.index", "Invitations", False),
    ("admin.users", "Users", True),
    ("admin.settings", "Site settings", True),
    ("admin_jobs.index", "Jobs", True),
    ("verification.domains", "Research domains", True),
    ("admin.log", "Admin log", True),
]


def console_sections() -> list[tuple[str, str]]:
    """(endpoint, label) of each section the logged-in user may open."""
    admin = current_user.is_authenticated and current_user.role == Role.admin
    return [(endpoint, label) for endpoint, label, admins_only in SECTIONS if admin or not admins_only]
