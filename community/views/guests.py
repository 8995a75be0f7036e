from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from community.extensions import db
from community.forms import episode_choices
from community.forms.guests import StageForm, SuggestionForm
from community.models import PostKind
from community.pages.cache import cached_for_anonymous
from community.policy import moderator_required
from community.services import DomainError, discussion, episodes, freshness, guests
from community.views.discussion import posting_limited
from community.views.helpers import composes, form_error, press, refusal, visible_post, with_drafts

bp = Blueprint("guests", __name__, url_prefix="/guests")


@bp.get("/suggestions")
@cached_for_anonymous(lambda: (freshness.LISTS,))
def suggestions():
    sort = request.args.get("sort", "endorsements")
    sort = sort if sort in guests.SUGGESTION_SORTS else "endorsements"
    stage = request.args.get("status") or None
    stage = stage if stage in guests.STAGES else None
    page = guests.board(sort, stage, max(request.args.get("page", 1, type=int), 1))
    voted = discussion.user_votes(current_user, [p.id for p in page.items])
    return render_template("guests/suggestions.html", page=page, sort=sort, stage=stage, voted=voted,
                           sorts=guests.SUGGESTION_SORTS, stages=guests.STAGES,
                           linked=episodes.linked_episodes(page.items),
                           endorsements=guests.active_endorsements(current_user) if current_user.is_authenticated else 0)


@bp.route("/suggestions/new", methods=["GET", "POST"])
@composes(lambda: url_for("guests.suggest"))
@login_required
@posting_limited("suggestions")
def suggest():
    form = SuggestionForm() if request.method == "POST" else with_drafts({request.path: SuggestionForm(formdata=None)})[request.path]
    duplicate = None
    refused = refusal(form, form.why) if request.method == "POST" else 422
    if not refused:
        try:
            result = guests.suggest(
                current_user, name=form.name.data, affiliation=form.affiliation.data or "",
                links=(form.links.data or "").splitlines(), why=form.why.data,
                papers=(form.papers.data or "").splitlines(), disclosure=form.disclosure.data)
        except DomainError as error:
            status = form_error(form, error)
            return render_template("guests/suggest.html", form=form, duplicate=None), status
        if result.duplicate is not None:
            duplicate = result.duplicate
        else:
            db.session.commit()
            flash(f"Thanks! {result.post.title} is on the board. Others can endorse the suggestion.", "success")
            return redirect(url_for("discussion.permalink", post_id=result.post.id))
    status = 409 if duplicate else (refused if form.errors else 200)
    endorsed = duplicate is not None and duplicate.id in discussion.user_votes(current_user, [duplicate.id])
    return render_template("guests/suggest.html", form=form, duplicate=duplicate, endorsed=endorsed), status


@bp.post("/suggestions/<int:post_id>/status")
@moderator_required
def set_status(post_id: int):
    suggestion = visible_post(post_id, PostKind.suggestion)
    form = StageForm()
    form.episode.choices = episode_choices(episodes.latest(500), blank="—")
    if not form.validate_on_submit():
        abort(400)
    episode = episodes.get_by_id(form.episode.data) if form.episode.data else None
    return press(lambda: guests.set_stage(current_user, suggestion, form.stage.data, form.note.data or "", episode),
                 f"Status is now {form.stage.data}.", url_for("discussion.permalink", post_id=post_id))
