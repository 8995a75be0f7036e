"""Confirmed and institutional addresses (/settings/emails), confirmation links, research-lab
domains (/admin/domains) and the researcher badge given or taken by hand. Registers the
guard that keeps unconfirmed accounts from writing (policy.refuse_unconfirmed_writes, through
views.drafts, which keeps the words of a refused compose form)."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from community import policy
from community.extensions import db
from community.forms import ActionForm
from community.forms.verification import AccountAddressForm, InstitutionalAddressForm, ResearchDomainForm, ResearcherForm
from community.models.base import utcnow
from community.services import DomainError, NotFound, PermissionDenied, accounts, drafts, emails, verification
from community.views.drafts import refuse_unconfirmed_keeping_words
from community.views.helpers import form_error, is_safe_next, next_page, press, status_for

bp = Blueprint("verification", __name__)
bp.before_app_request(refuse_unconfirmed_keeping_words)  # policy's refusal, keeping a compose form's words
bp.add_app_template_filter(emails.mask, "masked_email")


def _emails_page(account_form=None, institutional_form=None, status: int = 200):
    user = current_user._get_current_object()
    addresses = emails.addresses_of(user)
    by_address = {v.email_address_id: v for v in verification.verifications_of(user) if v.email_address_id}
    return render_template(
        "accounts/emails.html", user=user, now=utcnow(),
        pending=next((a for a in addresses if a.purpose.value == "account"), None),
        institutional=[(a, by_address.get(a.id)) for a in addresses if a.purpose.value == "institutional"],
        account_form=account_form or AccountAddressForm(formdata=None),
        institutional_form=institutional_form or InstitutionalAddressForm(formdata=None),
        verification_days=verification.lapse_after().days,
    ), status


@bp.get("/settings/emails")
@login_required
def settings():
    return _emails_page()


@bp.post("/settings/emails/account")
@login_required
def change_account_address():
    form = AccountAddressForm()
    if form.validate_on_submit():
        try:
            address = emails.change_address(current_user, form.new_email.data)
        except DomainError as error:
            return _emails_page(account_form=form, status=form_error(form.new_email, error))
        db.session.commit()
        flash(f"We sent a link to {address.email}: your address changes when you open it (within 48 hours).",
              "success")
        return redirect(url_for("verification.settings"))
    return _emails_page(account_form=form, status=422)


@bp.post("/settings/emails/institutional")
@login_required
def add_institutional():
    form = InstitutionalAddressForm()
    if form.validate_on_submit():
        try:
            address = emails.add_institutional(current_user, form.institutional_email.data)
        except DomainError as error:
            return _emails_page(institutional_form=form, status=form_error(form.institutional_email, error))
        db.session.commit()
        flash(f"We sent a link to {address.email}: open it within 48 hours to verify your affiliation.", "success")
        return redirect(url_for("verification.settings"))
    return _emails_page(institutional_form=form, status=422)


@bp.post("/settings/emails/resend")
@login_required
def resend():
    """The banner's button: the account's address, which waits for its link."""
    back = request.form.get("next") if is_safe_next(request.form.get("next")) else None
    if not ActionForm().validate_on_submit():
        return redirect(url_for("verification.settings"))
    try:
        address = emails.resend(current_user)
    except DomainError as error:
        db.session.rollback()
        flash(str(error), "info")
        return redirect(back or url_for("verification.settings"))
    db.session.commit()
    flash(f"Sent again: check your inbox at {emails.mask(address.email)} (and the spam folder). "
          "The link works for 48 hours.", "success")
    return redirect(back or url_for("verification.settings"))


@bp.post("/settings/emails/<int:address_id>/resend")
@login_required
def resend_address(address_id: int):
    """A waiting address's link again, or a confirmed institutional address's re-confirmation."""
    if not ActionForm().validate_on_submit():
        return redirect(url_for("verification.settings"))
    return press(lambda: emails.resend(current_user, address_id),
                 "Sent: check that inbox (and its spam folder). The link works for 48 hours.",
                 url_for("verification.settings"))


@bp.post("/settings/emails/<int:address_id>/remove")
@login_required
def remove_address(address_id: int):
    if not ActionForm().validate_on_submit():
        return redirect(url_for("verification.settings"))
    return press(lambda: emails.remove_address(current_user, address_id),
                 "Address removed, with any verification it gave.", url_for("verification.settings"))


def _link_status(error: DomainError, otherwise: int = 410) -> int:
    """403 another account's link, 404 a link we never made, else 410 (expired, used, replaced)
    or 409 (the address went to another account first)."""
    return status_for(error) if isinstance(error, (PermissionDenied, NotFound)) else otherwise


@bp.route("/auth/confirm/<token>", methods=["GET", "POST"])
def confirm(token: str):
    """The mailed link opens a page with one button: a link scanner's GET confirms nothing."""
    actor = current_user._get_current_object()
    try:
        address = emails.address_for_token(token, actor)
    except DomainError as error:
        db.session.rollback()
        return render_template("accounts/confirm.html", problem=str(error)), _link_status(error)
    if ActionForm().validate_on_submit():
        try:
            address, verified = emails.confirm(token, actor)
        except DomainError as error:
            db.session.rollback()
            return render_template("accounts/confirm.html", problem=str(error)), _link_status(error, 409)
        db.session.commit()
        if verified is not None:
            flash(f"{address.email} is confirmed: you are a verified researcher (verified · {verified.detail}) "
                  f"until {verified.expires_at:%Y-%m-%d}.", "success")
        else:
            flash(f"{address.email} is confirmed. You can post, reply, vote and flag.", "success")
        if not current_user.is_authenticated:
            return redirect(url_for("accounts.login", next=next_page()))
        # Back where the user was: the page they signed up from (the link's `next`), else the
        # page where their words wait (a draft kept when a post was refused before confirming).
        waiting = drafts.latest_page(current_user)
        if waiting and not next_page():
            flash("What you wrote is in the box, ready to send.", "info")
        return redirect(next_page() or waiting or url_for("verification.settings"))
    return render_template("accounts/confirm.html", address=address, problem=None)


# ---------------------------------------------------------------- by hand

@bp.post("/u/<username>/researcher")
@policy.moderator_required
def researcher(username: str):
    """A moderator grants (grant=1) or revokes the researcher badge; both are logged. A
    refusal shows the profile again with the note as typed and the reason beside it."""
    user = accounts.find_by_username(username) or abort(404)
    form = ResearcherForm()
    if form.validate_on_submit():
        grant = request.form.get("grant") == "1"
        try:
            if grant:
                verification.grant(current_user, user, form.note.data or "")
            else:
                verification.revoke(current_user, user, form.note.data or "")
        except PermissionDenied:
            raise  # the DomainError handler's 403, in the rule's words
        except DomainError as error:
            status = form_error(form.note, error)
        else:
            db.session.commit()
            flash(f"{user.username} now carries the researcher badge, granted by you." if grant
                  else f"{user.username}'s researcher badge is revoked.", "success")
            return redirect(url_for("accounts.profile", username=user.username))
    else:
        status = 422
    return render_template("accounts/profile.html", user=user, verifications=verification.badges_of(user),
                           researcher_form=form), status


@bp.route("/admin/domains", methods=["GET", "POST"])
@policy.admin_required
def domains():
    form = ResearchDomainForm()
    status = 200
    if form.validate_on_submit():
        try:
            row = verification.add_lab_domain(current_user, form.domain.data, form.name.data or "")
        except DomainError as error:
            status = form_error(form.domain, error)
        else:
            db.session.commit()
            flash(f"{row.domain} now verifies researchers (and its subdomains).", "success")
            return redirect(url_for("verification.domains"))
    elif form.errors:
        status = 422
    return render_template("admin/domains.html", form=form, rows=verification.lab_domain_list(),
                           university_count=len(verification.university_domains())), status


@bp.post("/admin/domains/<int:domain_id>/remove")
@policy.admin_required
def remove_domain(domain_id: int):
    if not ActionForm().validate_on_submit():
        return redirect(url_for("verification.domains"))
    return press(lambda: verification.remove_lab_domain(current_user, domain_id),
                 "Domain removed: verifications it gave stay until they lapse.", url_for("verification.domains"))
