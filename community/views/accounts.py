import tempfile

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, send_file, session, url_for
from flask_login import current_user, login_required, login_user, logout_user

from community.extensions import db, limiter
from community.forms import ActionForm
from community.models import Role
from community.forms.accounts import (
    DeleteAccountForm,
    LoginForm,
    PasswordChangeForm,
    ProfileForm,
    RegisterForm,
    ResetForm,
    ResetRequestForm,
)
from community.services import (
    DomainError, NotFound, PermissionDenied, accounts, emails, login_budgets, mail, privacy, questions, sessions,
    site_settings,
    verification,
)
from community.views.drafts import PENDING, claim_after_login
from community.views.helpers import form_error, is_safe_next, next_page

bp = Blueprint("accounts", __name__)


def _login(user, remember: bool = False) -> None:
    """Fresh cookie state at every login (no fixation), then a server-side session. What this
    browser sent while logged out comes back as the user's draft (views/drafts.py)."""
    pending = session.get(PENDING)
    session.clear()
    sessions.start_session(user, request.user_agent.string or "", request.remote_addr or "")
    login_user(user, remember=remember)
    claim_after_login(user, pending)


@bp.route("/auth/register", methods=["GET", "POST"])
@limiter.limit(lambda: site_settings.value("REGISTER_RATE_LIMIT"), methods=["POST"])
def register():
    if current_user.is_authenticated:
        return redirect(next_page() or url_for("main.home"))
    form = RegisterForm()
    if form.validate_on_submit():
        try:
            user = accounts.register(form.username.data, form.email.data, form.password.data)
        except DomainError as error:  # a race with another registration; the form said ok
            form_error(form.username, error)
        else:
            _login(user)
            back = next_page()
            emails.start_account_confirmation(user, back)  # confirming leads back there too
            db.session.commit()
            if back:  # they signed up to do something: back to it (the profile can wait)
                flash(f"Welcome, {user.username}! You are back where you were. We sent a link to "
                      f"{emails.mask(user.email)}: open it to confirm your address and start posting.", "success")
                return redirect(back)
            flash(f"Welcome, {user.username}! We sent a link to {emails.mask(user.email)}: open it to confirm your "
                  "address and start posting. Meanwhile, tell people who you are on your profile.", "success")
            # Back to what sent them here (an invitation, say), else to their profile.
            next_url = request.args.get("next")
            return redirect(next_url if is_safe_next(next_url) else url_for("accounts.edit_profile"))
    return render_template("accounts/register.html", form=form), 422 if form.errors else 200


@bp.route("/auth/login", methods=["GET", "POST"])
def login():
    next_url = next_page()
    if current_user.is_authenticated:
        return redirect(next_url or url_for("main.home"))
    form = LoginForm()
    if form.validate_on_submit():
        attempt = login_budgets.attempt(form.login.data, request.remote_addr or "",
                                        request.cookies.get(login_budgets.DEVICE_COOKIE))
        refused = login_budgets.refusal(attempt)
        if refused:
            form.password.errors.append(refused.message)
            return render_template("accounts/login.html", form=form), 429, {"Retry-After": str(refused.retry_after)}
        try:
            user = accounts.authenticate(form.login.data, form.password.data)
        except DomainError as error:
            login_budgets.spend(attempt)  # the budgets live outside this transaction
            form_error(form.password, error)
        else:
            response = complete_login(user, form.remember.data, next_url)
            db.session.commit()
            flash(f"Logged in as {user.username}.", "success")

            return response
    return render_template("accounts/login.html", form=form), 422 if form.errors else 200


def complete_login(user, remember: bool, next_url: str | None):
    """A login that succeeded (password or ORCID, views.orcid): the session, then the way
    in. The caller commits."""
    _login(user, remember=remember)
    # A guest of the show lands on the questions listeners left for them.
    target = next_url if is_safe_next(next_url) else (
        url_for("questions.index") if user.role == Role.guest or questions.is_guest(user) else url_for("main.home"))
    response = redirect(target)
    # This browser now has a login budget of its own for this account.
    response.set_cookie(login_budgets.DEVICE_COOKIE, login_budgets.device_cookie(
        user.id, request.cookies.get(login_budgets.DEVICE_COOKIE)), max_age=365 * 24 * 3600, path="/auth/",
        secure=current_app.config["SESSION_COOKIE_SECURE"], httponly=True, samesite="Lax")
    return response


@bp.post("/auth/logout")
@login_required
def logout():
    if ActionForm().validate_on_submit():
        sessions.end_session(current_user)
        db.session.commit()
        logout_user()
        # What Flask-Login's session protection would otherwise write on the next request (any
        # request, a script's included): a cookie rewritten behind the reader's back can overwrite,
        # in a race, the one that keeps a comment sent at the same moment (issue 21).
        session["_fresh"] = False
        flash("Logged out.", "info")
    return redirect(url_for("main.home"))


@bp.route("/auth/reset", methods=["GET", "POST"])
@limiter.limit("5 per hour", methods=["POST"])
def reset_request():
    form = ResetRequestForm()
    if form.validate_on_submit():
        user = accounts.find_by_login(form.email.data)
        if user is not None and user.email_key == form.email.data.strip().lower():
            link = url_for("accounts.reset", token=accounts.make_reset_token(user), next=next_page(), _external=True)
            mail.send(
                user.email,
                "Reset your GI Community password",
                f"Hello {user.username},\n\nSomeone (hopefully you) asked to reset your password. "
                f"Open this link within an hour to choose a new one:\n\n{link}\n\n"
                "If it was not you, ignore this message: your password stays as it is.\n",
            )
            db.session.commit()  # the mail is a job: it leaves once this commits
        # The same answer whether or not the address has an account: no account probing.
        flash("If an account uses that address, a reset link is on its way. It works for one hour.", "info")
        return redirect(url_for("accounts.login", next=next_page()))
    return render_template("accounts/reset_request.html", form=form), 422 if form.errors else 200


@bp.route("/auth/reset/<token>", methods=["GET", "POST"])
def reset(token: str):
    try:
        user = accounts.user_for_reset_token(token)
    except DomainError as error:
        flash(str(error), "error")
        return redirect(url_for("accounts.reset_request"))
    form = ResetForm()
    if form.validate_on_submit():
        try:
            accounts.reset_password(token, form.password.data)
        except DomainError as error:
            form_error(form.password, error)
        else:
            session.clear()
            login_user(user)
            db.session.commit()
            login_budgets.clear_account(user.id)  # the owner's way back in, whatever was guessed
            flash("Your password is changed and every other session is logged out.", "success")
            return redirect(next_page() or url_for("main.home"))
    return render_template("accounts/reset.html", form=form, user=user), 422 if form.errors else 200


@bp.get("/u/<username>")
def profile(username: str):
    user = accounts.find_by_username(username)
    if user is None:
        abort(404)
    return render_template("accounts/profile.html", user=user, verifications=verification.badges_of(user))


@bp.route("/settings/profile", methods=["GET", "POST"])
@login_required
def edit_profile():
    form = ProfileForm(obj=current_user)
    if request.method == "GET":
        form.bio.data = current_user.bio_source
        form.links.data = "\n".join(current_user.links or [])
    if form.validate_on_submit():
        try:
            accounts.update_profile(
                current_user,
                display_name=form.display_name.data or "",
                affiliation=form.affiliation.data or "",
                bio=form.bio.data or "",
                links=(form.links.data or "").splitlines(),
            )
        except PermissionDenied:
            raise  # a suspended account: the DomainError handler's 403 says until when
        except DomainError as error:
            form_error(form.links, error)
        else:
            db.session.commit()
            flash("Profile saved.", "success")
            return redirect(url_for("accounts.profile", username=current_user.username))
    return render_template("accounts/edit_profile.html", form=form), 422 if form.errors else 200


@bp.route("/settings/password", methods=["GET", "POST"])
@login_required
def change_password():
    form = PasswordChangeForm()
    if form.validate_on_submit():
        try:
            accounts.change_password(current_user, form.current.data, form.password.data)
        except DomainError as error:
            form_error(form.current, error)
        else:
            user = current_user._get_current_object()
            session.clear()
            login_user(user)
            db.session.commit()
            flash("Password changed. Every other session has been logged out.", "success")
            return redirect(url_for("accounts.profile", username=user.username))
    return render_template("accounts/change_password.html", form=form), 422 if form.errors else 200


@bp.get("/settings/sessions")
@login_required
def list_sessions():
    user = current_user._get_current_object()
    rows = [(row, sessions.device_label(row.user_agent), sessions.is_current(user, row)) for row in sessions.sessions_of(user)]
    return render_template("accounts/sessions.html", rows=rows, idle_days=current_app.config["SESSION_IDLE_DAYS"])


@bp.post("/settings/sessions/<int:session_id>/end")
@login_required
def end_session(session_id: int):
    if ActionForm().validate_on_submit():
        try:
            sessions.end_one(current_user, session_id)
        except NotFound as error:
            flash(str(error), "info")
        else:
            db.session.commit()
            flash("That browser is logged out.", "success")
    return redirect(url_for("accounts.list_sessions"))


@bp.post("/settings/sessions/end-others")
@login_required
def end_other_sessions():
    if ActionForm().validate_on_submit():
        ended = sessions.end_others(current_user)
        db.session.commit()
        flash(f"Logged out everywhere else ({ended} session{'s' if ended != 1 else ''}).", "success")
    return redirect(url_for("accounts.list_sessions"))


@bp.route("/settings/export", methods=["GET", "POST"])
@login_required
@limiter.limit("10 per hour", methods=["POST"], key_func=lambda: f"user:{current_user.id}", scope="export")
def export_data():
    """GET explains what is in it; POST sends the ZIP (built in a temporary file, so a
    prolific account does not hold its whole archive in memory)."""
    form = ActionForm()
    if form.validate_on_submit():
        user = current_user._get_current_object()
        archive = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)
        privacy.write_export(user, archive)
        name = privacy.export_filename(user)
        db.session.rollback()  # read only: end the transaction before the download streams
        archive.seek(0)
        response = send_file(archive, mimetype="application/zip", as_attachment=True, download_name=name,
                             conditional=False, etag=False)
        response.headers["Cache-Control"] = "private, no-store"
        return response
    return render_template("accounts/export.html")


@bp.route("/settings/delete", methods=["GET", "POST"])
@login_required
# The password is checked here: a borrowed session must not be a way to guess it.
@limiter.limit("10 per hour", methods=["POST"], key_func=lambda: f"user:{current_user.id}", scope="delete-account")
def delete_account():
    form = DeleteAccountForm()
    if form.validate_on_submit():
        try:
            privacy.delete_account(current_user._get_current_object(), form.password.data,
                                   remove_posts=form.posts.data == "remove")
        except DomainError as error:
            form_error(form.password, error)
        else:
            removed = form.posts.data == "remove"
            session.clear()
            logout_user()  # after clear(): it also tells Flask-Login to drop the remember-me cookie
            db.session.commit()
            flash("Your account is deleted and you are logged out everywhere. "
                  + ("Your posts are removed." if removed else "Your posts stay, shown as written by [deleted user].")
                  + " Thank you for taking part.", "success")
            return redirect(url_for("main.home"))
    return render_template("accounts/delete.html", form=form), 422 if form.errors else 200
