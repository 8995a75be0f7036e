"""Nothing typed is lost: drafts kept on the server for logged-in writers, submissions that
arrive after the session ended, and the way back to the form after logging in.

Compose views declare the page their form is on with `helpers.composes`; then, for every
such view, a refused submission (4xx) keeps the text as the writer's draft and an accepted
one (a redirect) discards it, here, in one place."""

from __future__ import annotations

from flask import Blueprint, Flask, abort, flash, g, redirect, request, session, url_for
from flask_login import current_user, login_required

from community import policy
from community.extensions import db, limiter, login_manager
from community.forms import ActionForm
from community.services import DomainError, PermissionDenied, drafts
from community.views.helpers import compose_page, is_safe_next, safe_referrer

bp = Blueprint("drafts", __name__)

PENDING = "pending_submission"  # session key: the token of this browser's kept submission
# What site.js asks in the background (a live preview, a draft saved or fetched while typing):
# logged out, they get a 401 and nothing else. A flash and a login redirect would be written to
# the session cookie behind the writer's back, and could overwrite, in a race, the cookie that
# keeps the submission they send at the same time.
SCRIPT_ENDPOINTS = frozenset({"discussion.preview", "drafts.mine", "drafts.save"})


def _back_to(page: str | None) -> str:
    return page if is_safe_next(page) else url_for("main.home")


def _page_of_post() -> str:
    """Where the POST came from, as a page one can GET: never the POST-only address itself."""
    return compose_page() or safe_referrer() or url_for("main.home")


def keep_unsent():
    """A compose form sent after its session ended: keep the words under a token in this
    browser's session, and send the writer to log in and then back to the form's page. None
    when the request carried no words. (The CSRF check already passed: the form came from
    this site's page, not from a forged one; after a CSRF failure nothing is kept, since a
    forged form must not put words in anyone's box.)"""
    if request.method != "POST" or compose_page() is None:
        return None
    fields = drafts.text_fields(request.form.to_dict())
    if not fields:
        return None
    page = _page_of_post()
    token = drafts.keep_pending(request.path, page, fields)
    db.session.commit()
    session[PENDING] = token
    flash("You were logged out before this was sent. Log in and your text is back in the box, ready to send.", "info")
    return redirect(url_for("accounts.login", next=page))


def claim_after_login(user, token: str | None) -> None:
    """Called by the login (and sign-up) views once the session is new: the submission this
    browser sent while logged out becomes the user's draft, shown in its form."""
    draft = drafts.claim_pending(user, token)
    if draft is not None:
        flash("Your text from before you logged in is back in the box. Check it and send it.", "info")


def refuse_unconfirmed_keeping_words():
    """policy.refuse_unconfirmed_writes, before every request, without losing a word: a
    compose form sent before the address was confirmed becomes the writer's draft, and the
    writer goes back to the form's page, where the text waits in the box under the reason
    and what to do (open the link, then send it). The CSRF check ran first, so a forged
    form puts nothing in anyone's box. Buttons and scripts get the refusal as before."""
    try:
        return policy.refuse_unconfirmed_writes()
    except PermissionDenied as refusal:
        page = compose_page()
        if page is None or not drafts.text_fields(request.form.to_dict()):
            raise
        try:
            drafts.save(current_user, request.path, page, request.form.to_dict())
        except DomainError:
            db.session.rollback()
            raise refusal from None
        db.session.commit()
        g.words_kept = True  # not an acceptance: keep_or_discard leaves the draft alone
        flash(f"{refusal} Your text is kept in the box: send it once you have opened the link.", "error")
        return redirect(page, 303)


@login_manager.unauthorized_handler
def unauthorized():
    """Log in first, then come back: to the page (never a POST-only address), with whatever
    was being sent kept for after the login."""
    if request.endpoint in SCRIPT_ENDPOINTS:
        return {"error": "You are logged out: log in again (what you typed stays in the box)."}, 401
    kept = keep_unsent()
    if kept is not None:
        return kept
    flash(login_manager.login_message, login_manager.login_message_category)
    page = request.full_path.rstrip("?") if request.method == "GET" else _page_of_post()
    return redirect(url_for("accounts.login", next=_back_to(page)))


def init_app(app: Flask) -> None:
    @app.after_request
    def keep_or_discard(response):
        """A compose view's refusal keeps the writer's text as a draft; its acceptance drops it."""
        if request.method != "POST" or compose_page() is None or not current_user.is_authenticated \
                or g.get("words_kept"):
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
