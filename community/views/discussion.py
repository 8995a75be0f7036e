from functools import partial, wraps

from flask import Blueprint, abort, current_app, flash, g, make_response, redirect, render_template, request, url_for
from flask_limiter import RateLimitExceeded
from flask_login import current_user, login_required

from community.extensions import db, limiter
from community.forms import ActionForm, episode_choices
from community.forms.discussion import CommentForm, EditForm, ReplyForm, VoteForm
from community.forms.guests import StageForm
from community.forms.moderation import AppealForm, ReviseForm
from community.forms.questions import AnswerForm, DeclineForm, MergeForm, OnAirForm
from community.models import PostKind, PostStatus
from community.services import DomainError, discussion, episodes, moderation, moments, questions, watching
from community.views.episodes import render_episode
from community.views.helpers import (
    compose, composes, form_error, is_safe_next, press, status_for, visible_post, with_drafts,
)

bp = Blueprint("discussion", __name__)


def _user_key() -> str:
    return f"user:{current_user.get_id() and current_user.id}"


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


def _previewing() -> bool:
    return "preview" in request.form


def _posting_limit() -> str:
    return discussion.posting_rate_limit(current_user)


def _preview_limit() -> str:
    return current_app.config["PREVIEW_RATE_LIMIT"]


# Previews (the live one while typing and the Preview button) render as much as a post
# does: they get a budget of their own, per user, shared by every form.
previews_limited = limiter.shared_limit(_preview_limit, "previews", key_func=_user_key, methods=["POST"])


def accepted(response) -> bool:
    """A compose view answers an accepted post with a redirect (POST/redirect/GET): only that
    spends the budget. A form shown again to fix, or a refusal, costs nothing."""
    return response.status_code in (302, 303)


def note_breach(request_limit) -> None:
    g.limit_refused = request_limit  # the view says it beside the form (helpers.over_limit)


def budgeted(*limits):
    """Rate limits on a compose view that never throw the text away: when one is spent the
    view itself runs again with g.limit_refused set, and re-renders its form with the text,
    the wait (helpers.over_limit) and status 429, saving nothing."""
    def decorate(view):
        limited = view
        for limit in reversed(limits):
            limited = limit(limited)

        @wraps(view)
        def guarded(**kwargs):
            try:
                return limited(**kwargs)
            except RateLimitExceeded:
                response = make_response(view(**kwargs))
                if g.get("retry_after"):
                    response.headers["Retry-After"] = str(g.retry_after)
                return response
        return guarded
    return decorate


def posting_limited(scope: str, limit=_posting_limit):
    """The per-user posting rate limit, counting accepted posts only; comments and replies
    share one bucket, papers, questions and suggestions have their own. A Preview press
    counts as a preview."""
    posting = limiter.limit(limit, key_func=_user_key, scope=scope, methods=["POST"], exempt_when=_previewing,
                            deduct_when=accepted, on_breach=note_breach)
    previewing = limiter.shared_limit(_preview_limit, "previews", key_func=_user_key, methods=["POST"],
                                      exempt_when=lambda: not _previewing(), on_breach=note_breach)
    return budgeted(posting, previewing)


comment_limited = posting_limited("comments")


@bp.post("/episodes/<slug>/comments")
@composes(lambda slug: url_for("episodes.show", slug=slug, _anchor="comment-form"))
@login_required
@comment_limited
def comment(slug: str):
    episode = episodes.get_by_slug(slug) or abort(404)
    form = CommentForm()

    def create():
        anchored = moments.resolve(episode, form.anchor())
        post = discussion.create_post(current_user, episode=episode, body=form.body.data)
        moments.attach(post, episode, anchored)
        return post

    # Not post_location: it would look up again the episode that is at hand.
    return _publish(form, partial(render_episode, episode), create,
                    lambda post: url_for("episodes.show", slug=slug, _anchor=f"c{post.id}"))


@bp.get("/posts/<int:post_id>")
def permalink(post_id: int):
    post = visible_post(post_id)
    key = url_for("discussion.reply", post_id=post.id)
    return render_permalink(post, with_drafts({key: ReplyForm(formdata=None)})[key])


def render_permalink(post, form=None, preview_html=None, status=200, manage=None, appeal_form=None, revise_form=None):
    """The permalink page; also re-rendered, with what was typed, by a refused form on it
    (`form` the reply, `manage` a guest's or moderator's, `appeal_form` the author's appeal)."""
    form = form or ReplyForm(formdata=None)
    sort = request.args.get("sort", "oldest")
    sort = sort if sort in discussion.SORTS else "oldest"
    ancestors, roots = discussion.post_context(post, current_user, sort)
    shown = [node.post.id for node in roots]
    posts, stack = [post], list(roots)
    while stack:
        node = stack.pop()
        shown.append(node.post.id)
        posts.append(node.post)
        stack.extend(node.children)
    episode = episodes.get_by_id(post.episode_id) if post.episode_id else None
    moments.load_for(list({id(p): p for p in posts}.values()), episode)  # chips of anchored posts
    return render_template(
        "discussion/permalink.html", post=post, ancestors=ancestors, roots=roots, episode=episode, sort=sort,
        voted=discussion.user_votes(current_user, shown), form=form, preview_html=preview_html,
        manage={**_manage_forms(post), **(manage or {})}, linked=episodes.linked_episodes([post]), appeal_form=appeal_form or _appeal_form(post),
        revise_form=revise_form or _revise_form(post), watch=_watch(post),
        max_depth=discussion.MAX_DEPTH, guest_user_ids=episode.guest_user_ids if episode else set(),
    ), status


def _watch(post) -> dict | None:
    """The reader's watch and mute buttons for this post's thread (on the permalink only: a
    form on every comment of a long thread would weigh more than the comments)."""
    if not current_user.is_authenticated or not post.is_live:
        return None
    return {"state": watching.state_of(current_user, post=post), "effective": watching.thread_state(current_user, post)}


def _revise_form(post):
    """The author's own hidden or removed post, in a box to revise it for review."""
    if not current_user.is_authenticated or current_user.id != post.author_id or post.status not in (
            PostStatus.hidden, PostStatus.removed):
        return None
    return _drafted(url_for("moderation.revise", post_id=post.id), ReviseForm(formdata=None, data={"body": post.body_source}))


def _drafted(key: str, form):
    """`form` filled from the viewer's draft of it, when there is one (a refusal kept it)."""
    return with_drafts({key: form})[key]


def _appeal_form(post):
    """The author's appeal box on their hidden or removed post, with any draft of it."""
    if not current_user.is_authenticated or current_user.id != post.author_id or post.status not in (
            PostStatus.hidden, PostStatus.removed):
        return None
    return _drafted(url_for("moderation.appeal", post_id=post.id), AppealForm(formdata=None))


def _manage_forms(post) -> dict:
    """The forms the viewer may use on this question or suggestion (none for most readers)."""
    if not current_user.is_authenticated or post.kind not in (PostKind.question, PostKind.suggestion):
        return {}
    forms = {}
    if post.kind == PostKind.question and post.stage == questions.OPEN:
        if questions.is_guest_of(current_user, post.episode_id):
            forms["answer"] = _drafted(url_for("questions.answer", post_id=post.id), AnswerForm(formdata=None))
        if current_user.is_moderator or questions.is_host(current_user):
            forms["on_air"] = OnAirForm(formdata=None)
            forms["on_air"].episode.choices = episode_choices(episodes.latest(500))
        if current_user.is_moderator:
            forms["decline"] = _drafted(url_for("questions.decline", post_id=post.id), DeclineForm(formdata=None))
            forms["merge"] = MergeForm(formdata=None)
    if post.kind == PostKind.suggestion and current_user.is_moderator:
        stage = StageForm(formdata=None, data={"stage": post.stage})
        stage.episode.choices = episode_choices(episodes.latest(500), blank="—")
        forms["stage"] = stage
    return forms


@bp.post("/posts/<int:post_id>/reply")
@composes(lambda post_id: url_for("discussion.permalink", post_id=post_id, _anchor="reply-form"))
@login_required
@comment_limited
def reply(post_id: int):
    parent = visible_post(post_id)
    form = ReplyForm()
    return _publish(form, partial(render_permalink, parent),
                    lambda: discussion.create_post(current_user, episode=None, body=form.body.data, parent=parent),
                    post_location)


def _publish(form, page, create, location):
    """A comment or a reply sent (compose), previewed on its page when asked; the writer
    is sent to the post made (`location(post)`, an address)."""
    def done(post):
        flash(_posted(post), "posted")
        return redirect(location(post))

    return compose(form, form.body, page, create, done, preview=form.preview.data)


def _posted(post) -> str:
    if post.status != PostStatus.visible:
        return "Posted: it shows to others once a moderator has approved it."
    return f"Posted. You can edit it for the next {discussion.EDIT_WINDOW.total_seconds() / 3600:g} hours."


def post_location(post) -> str:
    """Where a post is read: its place on the episode page when it is shown there."""
    if post.episode_id and post.depth < discussion.MAX_DEPTH:
        return url_for("episodes.show", slug=episodes.slug_of(post.episode_id), _anchor=f"c{post.id}")
    return url_for("discussion.permalink", post_id=post.root_id if post.depth == 0 else post.parent_id, _anchor=f"c{post.id}")


@bp.route("/posts/<int:post_id>/edit", methods=["GET", "POST"])
@composes(lambda post_id: url_for("discussion.edit", post_id=post_id, _anchor="edit-form"))
@login_required
def edit(post_id: int):
    post = visible_post(post_id)
    if not discussion.can_edit(current_user, post):
        # Asked with the unchanged text, edit_post refuses before it writes anything and says
        # why (the window closed at ..., a suspension, a removed post): the handler's 403 page.
        discussion.edit_post(current_user, post, post.body_source)
        abort(403)
    if request.method == "GET":
        form = with_drafts({request.path: EditForm(formdata=None, data={"body": post.body_source})})[request.path]
    else:
        form = EditForm()
    preview_html, refused = None, None
    if form.validate_on_submit():
        if form.preview.data:
            preview_html = discussion.preview_html(form.body.data)
        else:
            try:
                discussion.edit_post(current_user, post, form.body.data)
                moderation.log_edit(current_user, post)
            except DomainError as error:
                refused = form_error(form.body, error)
            else:
                db.session.commit()
                flash("Saved. The earlier version is kept in the post's history.", "success")
                return redirect(post_location(post))
    status = refused or (422 if form.errors else 200)
    return render_template("discussion/edit.html", form=form, post=post, preview_html=preview_html), status


@bp.post("/posts/<int:post_id>/delete")
@login_required
def delete(post_id: int):
    post = visible_post(post_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    discussion.delete_post(current_user, post)
    db.session.commit()
    # base.html turns this flash into the message with its Undo button (discussion.UNDO_WINDOW).
    flash("Deleted. Replies to it stay in place under a [deleted] marker." if post.reply_count else "Deleted.",
          f"undo:{post.id}" if post.deleted_at else "info")
    return redirect(where_it_was(post))


def where_it_was(post) -> str:
    """Where a post that left the page was read: its own place while it still shows (a
    deleted one, as [deleted] above its replies), else its parent's, else its section of
    the episode page."""
    if post.reply_count:
        return post_location(post)
    if post.parent_id:
        return post_location(discussion.get_post_or_none(post.parent_id))
    if post.episode_id:
        section = {PostKind.paper: "papers", PostKind.question: "questions"}.get(post.kind, "discussion")
        return url_for("episodes.show", slug=episodes.slug_of(post.episode_id), _anchor=section)
    return url_for("guests.suggestions")


@bp.post("/posts/<int:post_id>/undelete")
@login_required
def undelete(post_id: int):
    post = discussion.get_post_or_none(post_id) or abort(404)
    if not ActionForm().validate_on_submit():
        abort(400)
    return press(lambda: discussion.undelete_post(current_user, post), "Restored: your post is back.",
                 post_location(post), refused_back=where_it_was(post))


@bp.get("/posts/<int:post_id>/history")
def history(post_id: int):
    post = visible_post(post_id)
    return render_template("discussion/history.html", post=post, revisions=discussion.revisions(post))


@bp.post("/posts/<int:post_id>/vote")
@login_required
def vote(post_id: int):
    post = visible_post(post_id)
    form = VoteForm()
    if not form.validate_on_submit():
        abort(400)
    up = form.up.data == "1"
    try:
        score = discussion.set_vote(current_user, post, up)
    except DomainError as error:
        db.session.rollback()
        if _wants_json():  # the vote button's script shows the message in place
            return {"error": str(error)}, status_for(error)
        flash(str(error), "error")  # the reader stays on the page they voted from
        return redirect(request.referrer if _safe_referrer() else post_location(post))
    db.session.commit()
    if _wants_json():
        return {"post": post.id, "score": score, "voted": up}
    return redirect(request.referrer + f"#c{post.id}" if _safe_referrer() else post_location(post))


def _safe_referrer() -> bool:
    ref = request.referrer or ""
    host = request.host_url.rstrip("/")
    return ref.startswith(host + "/") and is_safe_next(ref[len(host):].split("#")[0])


@bp.post("/markup/preview")
@login_required
@previews_limited
def preview():
    """The live preview while typing: the same server-side renderer, as JSON."""
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    return {"html": discussion.preview_html(request.form.get("body", ""))}

