"""The watch and mute buttons: plain POST forms that return to the page they were pressed on;
and the reader's list of everything they watch or muted, with a button to stop each."""

from functools import partial

from flask import Blueprint, abort, render_template, request, url_for
from flask_login import current_user, login_required

from community.forms import ActionForm
from community.services import discussion, episodes, papers, watching
from community.views.helpers import is_safe_next, press, visible_post

bp = Blueprint("watching", __name__)

DONE = {
    ("thread", watching.WATCH): "Watching this thread: replies anywhere under it will notify you.",
    ("thread", watching.MUTE): "Muted: nothing in this thread will notify you, replies to you included.",
    ("thread", watching.NONE): "No longer watching or muting this thread.",
    ("episode", watching.WATCH): "Watching this episode: each new comment, question, paper and reply on it "
                                 "will notify you.",
    ("episode", watching.NONE): "No longer watching this episode.",
    ("paper", watching.WATCH): "Watching this paper: new citations of it and their discussions will notify you.",
    ("paper", watching.NONE): "No longer watching this paper.",
}


def _choose(what: str, back: str, **target):
    if not ActionForm().validate_on_submit():
        abort(400)
    state = request.form.get("state", "")
    referrer = (request.referrer or "").removeprefix(request.host_url.rstrip("/"))
    back = referrer if is_safe_next(referrer) else back  # where the button was pressed
    return press(lambda: watching.set_state(current_user, state, **target),
                 DONE.get((what, state), ""), back)


@bp.post("/watch/episodes/<slug>")
@login_required
def episode(slug: str):
    found = episodes.get_by_slug(slug) or abort(404)
    return _choose("episode", url_for("episodes.show", slug=slug), episode=found)


@bp.post("/watch/posts/<int:post_id>")
@login_required
def thread(post_id: int):
    post = visible_post(post_id)
    return _choose("thread", url_for("discussion.permalink", post_id=post.id), post=post)


@bp.post("/watch/papers/<int:paper_id>")
@login_required
def paper(paper_id: int):
    found = papers.get_by_id(paper_id) or abort(404)
    return _choose("paper", url_for("papers.show", canonical_id=found.canonical_id), paper=found)


@bp.get("/settings/watching")
@login_required
def index():
    choices = watching.choices_of(current_user, partial(discussion.visible_to, current_user))
    return render_template("watching/index.html", choices=choices, watch_own=current_user.watch_own_threads)
