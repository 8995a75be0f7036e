"""Nothing typed is lost: drafts kept on the server for logged-in writers, submissions that
arrive after the session ended, and the way back to the form after logging in.

Compose views declare the page their form is on with `helpers.composes`; then, for every
such view, a refused submission (4xx) keeps the text as the writer's draft and an accepted
one (a redirect) discards it, here, in one place."""

from __future__ import annotations

from flask import Blueprint, Flask, abort, flash, g, redirect, request, session, url_for
from flask_login import current_user, login_required

from community.extensions import db, limiter, login_manager
from community.forms import ActionForm
from community.services import DomainError, drafts
from community.views.helpers import compose_page, is_safe_next, safe_referrer

bp = Blueprint("drafts", __name__)

PENDING = "pending_submission"  # session key: the token of this browser's kept submission


def _back_to(page: str | None) -> str:
    return page if is_safe_next(page) else url_for("main.home")


def _page_of_post() -> str:
    """Where the POST came from, as a page one can GET: never the POST-only address itself."""
    return compose_page() or safe_referrer() or url_for("main.home")


def rescue_unsent(reason: str):
    """A compose form that cannot be taken now (the session ended, or the page's token
    expired): keep the words, and send the writer where they get them back. None when the
    request carried no words."""
    if request.method != "POST" or compose_page() is None:
        return None
    fields = drafts.text_fields(request.form.to_dict())
    if not fields:
        return None
    page = _page_of_post()
    g.draft_rescued = True
    if current_user.is_authenticated:  # the token expired, the writer is still who they were
        drafts.save(current_user, request.path, page, fields)
        db.session.commit()
        flash(f"{reason} Your text is back in the box: check it and send it again.", "info")
        return redirect(page)
    token = drafts.keep_pending(request.path, page, fields)
    db.session.commit()
    session[PENDING] = token
    flash(f"{reason} Log in and your text is back in the box, ready to send.", "info")
    return redirect(url_for("accounts.login", next=page))


def claim_after_login(user, token: str | None) -> None:
    """Called by the login (and sign-up) views once the session is new: the submission this
    browser sent while logged out becomes the user's draft, shown in its form."""
    draft = drafts.claim_pending(user, token)
    if draft is not None:
        flash("Your text from before you logged in is back in the box. Check it and send it.", "info")


@login_manager.unauthorized_handler
def unauthorized():
    """Log in first, then come back: to the page (never a POST-only address), with whatever
    was being sent kept for after the login."""
    rescued = rescue_unsent("You were logged out before this was sent.")
    if rescued is not None:
        return rescued
    flash(login_manager.login_message, login_manager.login_message_category)
    page = request.full_path.rstrip("?") if request.method == "GET" else _page_of_post()
    return redirect(url_for("accounts.login", next=_back_to(page)))


def init_app(app: Flask) -> None:
    @app.after_request
    def keep_or_discard(response):
        """A compose view's refusal keeps the writer's text as a draft; its acceptance drops it."""
        if (request.method != "POST" or g.get("draft_rescued") or compose_page() is None
                or not current_user.is_authenticated):
            return response
        try:
            if response.status_code in (302, 303):
                drafts.discard(current_user, request.path)
            elif response.status_code in (409, 422, 429):  # refused as sent, not for want of a right
                drafts.save(current_user, request.path, compose_page(), request.form.to_dict())
            else:
                return response
            db.session.commit()
        except DomainError:
            db.session.rollback()
        return response


@bp.get("/drafts")
@login_required
def mine():
    """The writer's drafts of the forms a page holds (?form=<action path>, repeated): how
    site.js restores a draft written on another device."""
    return {"drafts": drafts.of_forms(current_user, request.args.getlist("form"))}


@bp.post("/drafts")
@login_required
@limiter.limit("240 per hour", key_func=lambda: f"user:{current_user.id}", scope="drafts")
def save():
    """site.js saves the draft of a form while it is written (every few seconds of typing)."""
    if not ActionForm().validate_on_submit():
        abort(400)
    fields = request.form.to_dict()
    form_key, page = fields.pop("draft_form", ""), fields.pop("draft_page", "")
    try:
        drafts.save(current_user, form_key, _back_to(page), fields)
    except DomainError as error:
        db.session.rollback()
        return {"error": str(error)}, 422
    db.session.commit()
    return "", 204
