from flask import Blueprint, abort, current_app, render_template, request

from community.markup import timestamp_seconds
from community.services import episodes

bp = Blueprint("episodes", __name__, url_prefix="/episodes")


@bp.get("/")
def index():
    page = episodes.list_page(request.args.get("page", 1, type=int), current_app.config["EPISODES_PER_PAGE"])
    return render_template("episodes/index.html", page=page)


@bp.get("/<slug>")
def show(slug: str):
    episode = episodes.get_by_slug(slug)
    if episode is None:
        abort(404)
    start = request.args.get("t", type=int) or timestamp_seconds(request.args.get("t", ""))
    return render_template("episodes/show.html", episode=episode, start=start)
