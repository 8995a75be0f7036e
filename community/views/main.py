from flask import Blueprint, current_app, jsonify, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from community import shared_state
from community.extensions import csrf, db
from community.pages import frames
from community.pages.cache import cached_for_anonymous
from community.services import activity, freshness

bp = Blueprint("main", __name__)


@bp.get("/")
@cached_for_anonymous(lambda: (freshness.LISTS,))
def home():
    return render_template("main/home.html", shared_front=frames.front_lists(),
                           new_since=activity.new_since_last_visit(current_user))


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
