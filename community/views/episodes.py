from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from community.extensions import db
from community.forms import ActionForm
from community.forms.discussion import CommentForm
from community.forms.papers import PaperForm
from community.forms.questions import AnswerForm, QuestionForm
from community.markup import timestamp_seconds
from community.services import discussion, episodes, freshness

bp = Blueprint("episodes", __name__)


@bp.get("/episodes/")
@freshness.cached_for_anonymous(lambda: (freshness.LISTS,))
def index():
    page = episodes.list_page(request.args.get("page", 1, type=int), current_app.config["EPISODES_PER_PAGE"])
    counts = discussion.counts_by_episode([e.id for e in page.items])
    return render_template("episodes/index.html", page=page, counts=counts)


@bp.get("/episodes/<slug>")
@freshness.cached_for_anonymous(lambda slug: (freshness.episode_key(slug),))
def show(slug: str):
    episode = episodes.get_by_slug(slug)
    if episode is None:
        abort(404)
    return render_episode(episode)


def render_episode(episode, comment_form=None, preview_html=None, paper_form=None, question_form=None,
                   status: int = 200):
    """The episode page; also re-rendered by a form on it that needs fixing."""
    page = episodes.episode_page(episode, current_user, request.args.get("sort", "best"))
    db.session.commit()  # the visit mark
    start = request.args.get("t", type=int) or timestamp_seconds(request.args.get("t", ""))
    return render_template(
        "episodes/show.html", episode=episode, page=page, start=start, max_depth=discussion.MAX_DEPTH,
        comment_form=comment_form or CommentForm(formdata=None), preview_html=preview_html,
        paper_form=paper_form or PaperForm(formdata=None), question_form=question_form or QuestionForm(formdata=None),
        answer_form=AnswerForm(formdata=None),
        is_guest=current_user.is_authenticated and current_user.id in page.guest_user_ids,
    ), status


@bp.get("/people/<int:person_id>", endpoint="person")
def person(person_id: int):
    found = episodes.person_page(person_id)
    if found is None:
        abort(404)
    person, appearances = found
    return render_template("episodes/person.html", person=person, appearances=appearances,
                           following=episodes.is_following(current_user, person))


@bp.post("/people/<int:person_id>/follow", endpoint="follow")
@login_required
def follow(person_id: int):
    found = episodes.person_page(person_id)
    if found is None or not ActionForm().validate_on_submit():
        abort(404 if found is None else 400)
    on = request.form.get("on") == "1"
    episodes.follow(current_user, found[0], on)
    db.session.commit()
    flash(f"You {'follow' if on else 'no longer follow'} {found[0].name}." + (" You'll hear of each new episode with them." if on else ""), "success")
    return redirect(url_for("episodes.person", person_id=person_id))
