"""Guest invitations: made and revoked in the console by the show's team (/admin/invitations),
opened and accepted by the guest (/invite/<token>)."""

from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask_login import current_user

from community.extensions import db
from community.forms import ActionForm
from community.forms.invitations import InvitationForm
from community.policy import show_required
from community.services import DomainError, NotFound, episodes, invitations
from community.views.helpers import form_error, press

bp = Blueprint("invitations", __name__)

# The link of a new invitation, kept in the creator's session until shown (once).
JUST_CREATED = "invitation_link"


@bp.get("/admin/invitations")
@show_required
def index():
    return render_template("invitations/index.html", invitations=invitations.listing())


@bp.route("/admin/invitations/new", methods=["GET", "POST"])
@show_required
def new():
    episode = None
    if request.args.get("episode"):
        episode = episodes.get_by_slug(request.args["episode"]) or abort(404)
    people = invitations.people_to_invite(episode)
    form = InvitationForm()
    form.person.choices = [(p.id, p.name + (" (already linked to an account)" if p.user_id else "")) for p in people]
    if request.method == "GET" and request.args.get("person", type=int):
        form.person.data = request.args.get("person", type=int)
    if form.validate_on_submit():
        person = invitations.get_person(form.person.data) or abort(400)
        try:
            invitation, link = invitations.create(current_user, person, form.email.data,
                                                  lambda token: url_for("invitations.invitation", token=token,
                                                                        _external=True))
        except DomainError as error:
            status = form_error(form.email, error)
        else:
            db.session.commit()
            session[JUST_CREATED] = (invitation.id, link)
            flash(f"Invitation for {person.name} created" + (f" and mailed to {invitation.email}." if invitation.email
                                                             else "."), "success")
            return redirect(url_for("invitations.show", invitation_id=invitation.id))
    else:
        status = 422 if form.errors else 200
    return render_template("invitations/new.html", form=form, episode=episode), status


@bp.get("/admin/invitations/<int:invitation_id>")
@show_required
def show(invitation_id: int):
    invitation = invitations.get(invitation_id)
    created = session.get(JUST_CREATED)
    link = session.pop(JUST_CREATED)[1] if created and created[0] == invitation.id else None
    return render_template("invitations/show.html", invitation=invitation, link=link)


@bp.post("/admin/invitations/<int:invitation_id>/revoke")
@show_required
def revoke(invitation_id: int):
    if not ActionForm().validate_on_submit():
        abort(400)
    invitation = invitations.get(invitation_id)
    return press(lambda: invitations.revoke(current_user, invitation),
                 f"The invitation for {invitation.person.name} is revoked: its link no longer works.",
                 url_for("invitations.index"))


def _unusable(error: DomainError):
    """A link that cannot be used says why, and offers nothing to click."""
    db.session.rollback()
    status = 404 if isinstance(error, NotFound) else 410
    return render_template("invitations/unusable.html", message=str(error), code=status), status


@bp.get("/invite/<token>")
def invitation(token: str):
    try:
        found = invitations.find(token)
        invitations.check_usable(found)
    except DomainError as error:
        return _unusable(error)
    refusal = invitations.refusal(current_user, found) if current_user.is_authenticated else None
    return render_template("invitations/invitation.html", invitation=found, token=token, refusal=refusal,
                           episodes=invitations.guest_episodes(found.person))


@bp.post("/invite/<token>/accept")
def accept(token: str):
    if not current_user.is_authenticated:
        return redirect(url_for("accounts.login", next=url_for("invitations.invitation", token=token)))
    if not ActionForm().validate_on_submit():
        abort(400)
    try:
        accepted = invitations.accept(current_user, token)
    except (NotFound, invitations.Unusable) as error:
        return _unusable(error)
    except DomainError as error:
        db.session.rollback()
        found = invitations.find(token)
        return render_template("invitations/invitation.html", invitation=found, token=token, refusal=str(error),
                               episodes=invitations.guest_episodes(found.person)), 409
    # accepted.invited_address_matches: the account's address is the one the link was mailed to.
    db.session.commit()
    flash(f"Welcome, {accepted.person.name}: your account is linked. Your answers carry the Guest badge, and the "
          "questions listeners ask on your episodes wait for you here.", "success")
    return redirect(url_for("questions.index", state="for-you"))
