from functools import wraps

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from community.forms import episode_choices
from community.forms.questions import AnswerForm, DeclineForm, MergeForm, OnAirForm, QuestionForm
from community.markup import timestamp_seconds
from community.models import PostKind
from community.pages.cache import cached_for_anonymous
from community.services import discussion, episodes, freshness, moments, questions
from community.views.discussion import posting_limited, render_permalink
from community.views.episodes import render_episode
from community.views.helpers import compose, composes, is_safe_next, press, visible_post

bp = Blueprint("questions", __name__)


def _back(question) -> str:
    return url_for("episodes.show", slug=episodes.slug_of(question.episode_id), _anchor=f"c{question.id}")


def _act(question, action, success: str, back: str | None = None):
    """Run one question operation. A role that may not is the DomainError handler's 403 (with
    the rule's words); any other refusal goes back to the question with the message."""
    return press(action, success, back or _back(question),
                 refused_back=back or url_for("discussion.permalink", post_id=question.id))


@bp.post("/episodes/<slug>/questions")
@composes(lambda slug: url_for("episodes.show", slug=slug, _anchor="question-form"))
@login_required
@posting_limited("questions")
def ask(slug: str):
    episode = episodes.get_by_slug(slug) or abort(404)
    form = QuestionForm()

    def create():
        anchored = moments.resolve(episode, form.anchor())
        question = questions.ask(current_user, episode, form.body.data)
        moments.attach(question, episode, anchored)
        return question

    def done(question):
        flash("Question posted. Others can upvote it, and the guests see the most-voted first.", "success")
        return redirect(url_for("episodes.show", slug=slug, _anchor=f"c{question.id}"))

    return compose(form, form.body, lambda form, **shown: render_episode(episode, question_form=form, **shown),
                   create, done)


def _manage_form(name: str, form_class, may_use):
    """A view of a form under the "manage" heading of a question's page (`name` there): 403
    for a reader who may not use it, the page again with what was typed (422) when it does
    not validate; otherwise the view runs with the question and the valid form."""
    def decorate(view):
        @composes(lambda post_id: url_for("discussion.permalink", post_id=post_id, _anchor="manage-heading"))
        @login_required
        @wraps(view)
        def managed(post_id: int):
            question = visible_post(post_id, PostKind.question)
            form = form_class()
            if not may_use(question):
                abort(403)
            if not form.validate_on_submit():
                return render_permalink(question, status=422, manage={name: form})
            return view(question, form)
        return managed
    return decorate


@bp.post("/questions/<int:post_id>/answer")
@_manage_form("answer", AnswerForm, lambda question: questions.is_guest_of(current_user, question.episode_id))
def answer(question, form):
    # The guest's inbox sends its answers back to itself.
    back = request.form.get("next") if is_safe_next(request.form.get("next")) else None
    return _act(question, lambda: questions.answer(current_user, question, form.body.data),
                "Answer posted. Everyone who asked or upvoted is told.", back)


@bp.post("/questions/<int:post_id>/on-air")
@login_required
def on_air(post_id: int):
    question = visible_post(post_id, PostKind.question)
    form = OnAirForm()
    form.episode.choices = episode_choices(episodes.latest(500))
    if not form.validate_on_submit():
        abort(400)
    episode = episodes.get_by_id(form.episode.data) or abort(400)
    moment = timestamp_seconds(form.moment.data) if form.moment.data else None
    return _act(question, lambda: questions.answer_on_air(current_user, question, episode, moment),
                "Marked as answered on air.")


@bp.post("/questions/<int:post_id>/decline")
@_manage_form("decline", DeclineForm, lambda question: current_user.is_moderator)
def decline(question, form):
    return _act(question, lambda: questions.decline(current_user, question, form.reason.data), "Question declined.")


@bp.post("/questions/<int:post_id>/merge")
@login_required
def merge(post_id: int):
    question = visible_post(post_id, PostKind.question)
    form = MergeForm()
    if not current_user.is_moderator:
        abort(403)
    into = discussion.get_post_or_none(form.into.data or 0) if form.validate_on_submit() else None
    if into is None or into.kind != PostKind.question:
        flash("Choose the question to merge into by its number.", "error")
        return redirect(url_for("discussion.permalink", post_id=question.id))
    return _act(question, lambda: questions.merge(current_user, question, into),
                f"Merged into question {into.id}; its asker has been told.")


FOR_YOU = "for-you"


@bp.get("/questions/")
@cached_for_anonymous(lambda: (freshness.LISTS,))
def index():
    """Every episode's questions; a guest of the show opens on theirs ("For you"), each with
    its answer form: answering from here takes one step."""
    guest = questions.is_guest(current_user)
    state = request.args.get("state") or (FOR_YOU if guest else "open")
    if state == FOR_YOU and guest:
        return render_template("questions/index.html", state=state, guest=True, rows=[], total=0, page=1,
                               per_page=30, mine=questions.for_guest(current_user, limit=200))
    state = state if state in ("open", "answered", "declined", "all") else "open"
    page = max(request.args.get("page", 1, type=int), 1)
    rows, total = questions.listing(state, current_user, page)
    return render_template("questions/index.html", rows=rows, total=total, state=state, page=page, per_page=30,
                           guest=guest, mine=[])
