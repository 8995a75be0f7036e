from flask import Blueprint, current_app, jsonify, redirect, render_template, request, url_for
from flask_login import current_user
from markupsafe import Markup
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from community import shared_state
from community.extensions import csrf, db
from community.pages.cache import cached_for_anonymous, remembered
from community.pages.readers import ClassReader, as_class
from community.services import activity, discussion, episodes, freshness

bp = Blueprint("main", __name__)


@bp.get("/")
@cached_for_anonymous(lambda: (freshness.LISTS,))
def home():
    return render_template("main/home.html", shared_front=_shared_front(),
                           new_since=activity.new_since_last_visit(current_user))


def _shared_front() -> Markup:
    """The front page below the reader's own "New since your last visit", the same for
    every reader: rendered once per version of the lists, as the class stand-in (nothing
    personal can get in: pages/readers.py), and kept while its relative times hold
    (PAGE_CACHE_SECONDS, as a cached page). A logged-in reader's front page ran 11 queries
    and about 30 ms; now the lists are one lookup."""
    def build() -> str:
        latest = episodes.latest(6)
        counts = discussion.counts_by_episode([e.id for e in latest])
        with as_class(ClassReader(logged_in=None, moderator=False)):
            return render_template("main/_front.html", front=activity.front_page(latest, counts), counts=counts)

    if not current_app.config["PAGE_CACHE"]:
        return Markup(build())  # nosec B704: a template's output
    key = f"front:{request.host}:{freshness.versions(freshness.LISTS)}"
    return Markup(remembered(current_app, "recent_fronts", key, build))  # nosec B704: a template's output


@bp.get("/favicon.ico")
def favicon():
    return redirect(url_for("static", filename="favicon.svg"), code=301)


@bp.get("/healthz")
@csrf.exempt
def healthz():
    """For load balancers: 503 when the database (required) is unreachable; Redis
    (optional: pages then render uncached) is reported, and makes the status "degraded"."""
    try:
        db.session.execute(text("SELECT 1"))
    except SQLAlchemyError:
        db.session.rollback()
        return jsonify({"status": "error", "database": "error"}), 503
    report = {"status": "ok", "database": "ok"}
    if current_app.config.get("REDIS_URL"):
        report["redis"] = shared_state.redis_status(current_app.config["REDIS_URL"])
        report["status"] = "ok" if report["redis"] == "ok" else "degraded"
    return jsonify(report)
