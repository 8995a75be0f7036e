from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from community.extensions import csrf, db
from community.forms import ActionForm
from community.models import NotificationKind
from community.services import episodes, notifications, questions, watching

bp = Blueprint("notifications", __name__, url_prefix="/notifications")


@bp.get("/")
@login_required
def index():
    page = notifications.recent(current_user, max(request.args.get("page", 1, type=int), 1))
    return render_template("notifications/index.html", page=page)


@bp.get("/<int:notification_id>")
@login_required
def open_one(notification_id: int):
    """Mark read, then go to the post in its context."""
    notification = notifications.mark_read(current_user, notification_id)
    if notification is None:
        abort(404)
    db.session.commit()
    if notification.post_id:
        return redirect(url_for("discussion.permalink", post_id=notification.post_id, _anchor=f"c{notification.post_id}"))
    if notification.event_key.startswith("episode:"):
        episode = episodes.get_by_id(int(notification.event_key.split(":", 1)[1]))
        if episode is not None:
            return redirect(url_for("episodes.show", slug=episode.slug))
    return redirect(url_for("notifications.index"))


@bp.post("/read-all")
@login_required
def read_all():
    if not ActionForm().validate_on_submit():
        abort(400)
    notifications.mark_all_read(current_user)
    db.session.commit()
    flash("All caught up.", "success")
    return redirect(url_for("notifications.index"))


@bp.route("/settings", methods=["GET", "POST"])
@login_required
def settings():
    if request.method == "POST":
        if not ActionForm().validate_on_submit():
            abort(400)
        try:
            notifications.set_email_prefs(current_user, {k.value: request.form[k.value] for k in NotificationKind
                                                         if k.value in request.form})
        except ValueError:
            abort(400)
        if request.form.get("watch_own_threads") in ("0", "1"):
            watching.set_own_threads(current_user, request.form["watch_own_threads"] == "1")
        db.session.commit()
        flash("Preferences saved.", "success")
        return redirect(url_for("notifications.settings"))
    # Questions for a guest only concern guests of the show.
    kinds = {k: label for k, label in notifications.KIND_LABELS.items()
             if k != NotificationKind.question or questions.is_guest(current_user)}
    return render_template("notifications/settings.html", kinds=kinds, watch_own=current_user.watch_own_threads,
                           modes=notifications.EMAIL_MODES, current=lambda k: notifications.email_mode(current_user, k))


ONE_CLICK = ("List-Unsubscribe", "One-Click")  # the body RFC 8058 mail clients POST


@bp.route("/unsubscribe/<token>", methods=["GET", "POST"])
@csrf.exempt  # for the one-click POST only: every other POST is checked below
def unsubscribe(token: str):
    """Works without logging in: the signed token names the account and the kind (or the
    digest). A mail client's one-click POST (List-Unsubscribe-Post, RFC 8058) carries no
    cookie and no CSRF token: the token in the URL is its credential, as with the link."""
    found = notifications.read_unsubscribe_token(token)
    if found is None:
        abort(404)
    user, scope = found
    label = notifications.unsubscribe_label(scope)
    if request.method == "POST":
        if request.form.get(ONE_CLICK[0]) != ONE_CLICK[1]:
            csrf.protect()  # the page's button: a CSRF token, as on every other form
        notifications.unsubscribe(user, scope)
        db.session.commit()
        return render_template("notifications/unsubscribed.html", label=label, done=True)
    return render_template("notifications/unsubscribed.html", label=label, done=False)
