from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from community.extensions import db, limiter
from community.forms import ActionForm
from community.forms.moderation import REASON_CHOICES, AppealForm, BulkForm, FlagForm, ModerationActionForm, ReviseForm
from community.models import FLAG_REASON_LABELS, FlagReason, PostKind
from community.policy import moderator_required
from community.services import DomainError, PermissionDenied, discussion, moderation, site_settings
from community.views import charts
from community.views.discussion import accepted, budgeted, note_breach, post_location, render_permalink, where_it_was
from community.views.helpers import (
    composes, flash_refusal, form_error, next_page, press, refusal, safe_referrer, visible_post, with_drafts,
)

bp = Blueprint("moderation", __name__)


def _wants_json() -> bool:
    return request.accept_mimetypes.best == "application/json"


@bp.route("/posts/<int:post_id>/flag", methods=["GET", "POST"])
@composes(lambda post_id: url_for("moderation.flag", post_id=post_id))
@login_required
@budgeted(limiter.limit(lambda: site_settings.value("FLAG_RATE_LIMIT"), methods=["POST"],
                        key_func=lambda: f"user:{current_user.id}", scope="flags", deduct_when=accepted,
                        on_breach=note_breach))
def flag(post_id: int):
    post = visible_post(post_id)
    form = FlagForm() if request.method == "POST" else with_drafts({request.path: FlagForm(formdata=None)})[request.path]
    existing = moderation.my_flag(current_user, post)
    if request.method == "GET":
        try:
            moderation.ensure_can_flag(current_user)
        except PermissionDenied as error:  # said before anything is filled in, with until when
            return render_template("moderation/flag.html", form=None, post=post, existing=None, cannot=str(error))
    refused = refusal(form, form.note) if request.method == "POST" else None
    if request.method == "POST" and not refused:
        try:
            moderation.flag(current_user, post, FlagReason(form.reason.data), form.note.data or "")
        except PermissionDenied as error:  # not about the note: said at the top, the form kept
            flash_refusal(error)
            return render_template("moderation/flag.html", form=form, post=post, existing=existing), 403
        except DomainError as error:
            form_error(form.note, error)
        else:
            db.session.commit()
            if discussion.visible_to(current_user, post):
                flash("Thanks: the moderators will take a look. Only they see who flagged.", "success")
                return redirect(url_for("discussion.permalink", post_id=post.id))
            # This flag hid it: its page is gone for the flagger, so back to where it was.
            flash("Thanks: it is hidden pending review. Only the moderators see who flagged.", "success")
            return redirect(where_it_was(post))
    return render_template("moderation/flag.html", form=form, post=post, existing=existing), refused or (422 if form.errors else 200)


@bp.post("/posts/<int:post_id>/unflag")
@login_required
def unflag(post_id: int):
    post = visible_post(post_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    return press(lambda: moderation.withdraw_flag(current_user, post), "Your flag is withdrawn.",
                 url_for("discussion.permalink", post_id=post.id), category="info")


@bp.post("/posts/<int:post_id>/appeal")
@composes(lambda post_id: url_for("discussion.permalink", post_id=post_id, _anchor="appeal-heading"))
@login_required
def appeal(post_id: int):
    post = visible_post(post_id)
    form = AppealForm()
    if not form.validate_on_submit():
        return render_permalink(post, status=422, appeal_form=form)
    return press(lambda: moderation.appeal(current_user, post, form.text.data),
                 "Appeal sent: the post is back in the moderators' queue.", url_for("discussion.permalink", post_id=post.id))


@bp.post("/posts/<int:post_id>/revise")
@composes(lambda post_id: url_for("discussion.permalink", post_id=post_id, _anchor="revise-form"))
@login_required
def revise(post_id: int):
    post = visible_post(post_id)
    form = ReviseForm()
    if not form.validate_on_submit():
        return render_permalink(post, status=422, revise_form=form)
    try:
        moderation.revise_for_review(current_user, post, form.body.data)
    except PermissionDenied:
        raise
    except DomainError as error:
        return render_permalink(post, status=form_error(form.body, error), revise_form=form)
    db.session.commit()
    flash("Revised: it is back in the moderators' queue, and stays unpublished until they decide.", "success")
    return redirect(url_for("discussion.permalink", post_id=post.id))


@bp.get("/moderation/")
@moderator_required
def dashboard():
    stats = moderation.dashboard()
    return render_template("moderation/dashboard.html", stats=stats,
                           flags_chart=charts.bars(stats.flags_per_day, "Flags per day, last 30 days", label_every=5),
                           actions_chart=charts.bars([(moderation.ACTIONS.get(a, a.replace("_", " ")), n)
                                                      for a, n in stats.actions_by_type], "Moderation actions by type"))


@bp.get("/moderation/queue")
@moderator_required
def queue(bulk_form: BulkForm | None = None):
    reason = request.args.get("reason") or None
    kind = request.args.get("kind") or None
    rows = moderation.queue(reason=reason, kind=kind)
    return render_template("moderation/queue.html", rows=rows, reason=reason, kind=kind, reasons=FLAG_REASON_LABELS,
                           kinds=PostKind, bulk=bulk_form or BulkForm(formdata=None), choices=moderation.ACTION_CHOICES,
                           reason_choices=REASON_CHOICES)


def _decide(post, form: ModerationActionForm) -> str | None:
    """One decision from either form (the queue's row, the post's own menu): the same
    service call, so the same log entry and notice. The done message, or None with the
    refusal added to the form's errors (rolled back)."""
    if not form.validate_on_submit():
        return None
    try:
        record = moderation.act(current_user, post, form.action.data, form.full_reason(), form.days.data)
    except PermissionDenied:
        raise
    except DomainError as error:
        form_error(form, error)
        return None
    db.session.commit()
    return f"Done: {moderation.ACTIONS[record.action]} post {post.id} ({record.reason})."


def _errors(form) -> str:
    return " ".join(error for errors in [*form.errors.values(), form.form_errors] for error in errors if error)


@bp.post("/moderation/posts/<int:post_id>/act")
@composes(lambda post_id: url_for("moderation.queue", _anchor=f"q{post_id}"))
@moderator_required
def act(post_id: int):
    post = visible_post(post_id)
    form = ModerationActionForm()
    message = _decide(post, form)
    if message is None:
        if _wants_json():
            return {"error": _errors(form)}, 422
        return _decision_page(post, form, back=url_for("moderation.queue"), status=422)
    if _wants_json():
        return {"ok": True, "message": message, "post": post.id, "status": post.status.value}
    flash(message, "success")
    return redirect(request.form.get("next") if request.form.get("next", "").startswith("/moderation/")
                    else url_for("moderation.queue"))


@bp.route("/moderation/posts/<int:post_id>", methods=["GET", "POST"])
@composes(lambda post_id: url_for("moderation.moderate", post_id=post_id, _anchor="moderate-form"))
@moderator_required
def moderate(post_id: int):
    """The menu on each post (pages/readers.py) leads here with the action chosen: the
    reason and a confirmation, then back to the post on the page it was read on."""
    post = visible_post(post_id)
    if request.method == "GET":
        chosen = request.args.get("action", "")
        form = ModerationActionForm(formdata=None, data={"action": chosen})
        return _decision_page(post, form, back=safe_referrer(), asked=chosen)
    form = ModerationActionForm()
    message = _decide(post, form)
    if message is None:
        return _decision_page(post, form, back=next_page(), status=422)
    flash(message, "success")
    return redirect(_back_to_post(post, next_page()))


def _decision_page(post, form: ModerationActionForm, back: str | None, status: int = 200, asked: str = ""):
    """One post's decision form: behind the menu on the post, and where a refused decision
    from the queue is shown again with what was chosen and typed."""
    actions = moderation.applicable_actions(post, moderation.thread_locked(post))
    if form.action.data not in actions:
        form.action.data = ""  # a menu entry that does not apply (any more): nothing chosen
    return render_template("moderation/moderate.html", post=post, form=form, actions=actions,
                           choices=moderation.ACTION_CHOICES, reason_choices=REASON_CHOICES,
                           back=(back or "").split("#")[0] or None, asked=asked), status


def _back_to_post(post, page: str | None) -> str:
    """The page the post was read on, at the post (or where it was, when it left the page:
    a removed post without replies is not shown, even to moderators)."""
    place = where_it_was(post) if post.is_tombstone else post_location(post)
    if not page:
        return place
    if page.startswith("/moderation/"):  # sent from the queue (a refusal shown again)
        return page
    anchor = place.partition("#")[2]
    return page.split("#")[0] + (f"#{anchor}" if anchor else "")


@bp.post("/moderation/bulk")
@moderator_required
def bulk():
    form = BulkForm()
    ids = [int(i) for i in request.form.getlist("post_ids") if i.isdigit()]
    if not ids:
        form.form_errors.append("Select at least one post.")
    if not form.validate_on_submit() or not ids:
        return queue(bulk_form=form), 422
    done, skipped = 0, []
    for post_id in ids:
        post = discussion.get_post_or_none(post_id)
        if post is None:
            continue
        # Each its own decision, as from its row: one that does not apply (removing a post
        # already removed) is skipped and named, the others go ahead. act() refuses that
        # before it writes anything, so no savepoint is needed.
        try:
            moderation.act(current_user, post, form.action.data, form.reason.data)
        except PermissionDenied:
            raise
        except DomainError:
            skipped.append(post_id)
            continue
        done += 1
    db.session.commit()
    note = f" Skipped (it does not apply): {', '.join(f'post {i}' for i in skipped)}." if skipped else ""
    flash(f"Applied to {done} post{'s' if done != 1 else ''}.{note}", "success" if done else "error")
    return redirect(url_for("moderation.queue"))


@bp.get("/moderation/log")
def log():
    action = request.args.get("action") or None
    action = action if action in moderation.ACTIONS or action in ("auto_hide", "decline_question", "merge_question") \
        or (action or "").startswith("suggestion_") else None
    page = moderation.log_page(max(request.args.get("page", 1, type=int), 1), action)
    return render_template("moderation/log.html", page=page, action=action, actions=moderation.ACTIONS)
