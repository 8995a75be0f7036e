"""Sign in with ORCID, and link an ORCID iD to an account, over OpenID Connect.

Authlib's Flask client does the protocol against the issuer's discovery document
(ORCID_ISSUER/.well-known/openid-configuration): it sends the browser to ORCID with a
fresh `state` and `nonce` (kept in this browser's session), exchanges the code for tokens
over a back channel, then checks the ID token's signature against the issuer's published
keys (JWKS) and its claims: the issuer and audience pinned below, expiry, and the nonce.
Any failure is a refusal page with the reason, and no login.

The callback is a GET: the provider sends the browser back with a redirect, which a POST
with our CSRF token cannot be. Its CSRF defence is the `state`, single use, bound to the
flow this browser started (with a POST and a token) and checked before anything is done.
"""

from __future__ import annotations

import time

import requests
from authlib.common.security import generate_token
from authlib.integrations.flask_client import OAuth, OAuthError
from authlib.oidc.core import CodeIDToken
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required
from joserfc.errors import BadSignatureError, ClaimError, ExpiredTokenError, JoseError

from community.extensions import db, limiter
from community.forms.orcid import OrcidAccountForm
from community.services import DomainError, emails, orcid
from community.views.accounts import complete_login
from community.views.helpers import form_error, is_safe_next, press

bp = Blueprint("orcid", __name__)

FLOW = "orcid_flow"  # the flow this browser started: its state, what it is for, by whom
PENDING = "orcid_pending"  # an iD ORCID vouched for that no account holds yet
PENDING_SECONDS = 30 * 60  # how long the create-your-account step may wait
LEEWAY_SECONDS = 60  # clock difference allowed on the ID token's times
UNREACHABLE = "ORCID cannot be reached right now; please try again in a few minutes."

_CLAIM_REASONS = {
    "aud": "it was issued for another application (its audience is not this site)",
    "azp": "it was issued for another application (its authorized party is not this site)",
    "iss": "it was not issued by the configured ORCID issuer",
    "nonce": "it does not answer the sign-in this browser started (its nonce does not match)",
    "sub": "it names nobody",
}


class OrcidIDToken(CodeIDToken):
    """ORCID's ID tokens as ORCID writes them: its member API puts `amr` as one string
    ("pwd", or "mfa" with two-factor sign-in; ORCID's OpenID Connect guide), where
    Authlib expects a list and would refuse every such token. Every other check stays."""

    def validate_amr(self):
        amr = self.get("amr")
        if isinstance(amr, str):
            return
        super().validate_amr()


@bp.record_once
def _register_client(state) -> None:
    """One OAuth registry per app (tests build many apps); none when ORCID is not set up."""
    app = state.app
    if not (app.config.get("ORCID_CLIENT_ID") and app.config.get("ORCID_CLIENT_SECRET")):
        return
    issuer = app.config["ORCID_ISSUER"].rstrip("/")
    OAuth(app).register(
        "orcid",
        client_id=app.config["ORCID_CLIENT_ID"],
        client_secret=app.config["ORCID_CLIENT_SECRET"],
        server_metadata_url=f"{issuer}/.well-known/openid-configuration",
        # ORCID's token endpoint takes the client's credentials in the form body.
        client_kwargs={"scope": "openid", "token_endpoint_auth_method": "client_secret_post",
                       "default_timeout": app.config["ORCID_TIMEOUT"]},
    )


def _client():
    registry = current_app.extensions.get("authlib.integrations.flask_client")
    client = registry.create_client("orcid") if registry is not None else None
    if client is None:
        abort(404)
    return client


@bp.app_context_processor
def _orcid_buttons():
    return {"orcid_enabled": "authlib.integrations.flask_client" in current_app.extensions}


class Refusal(Exception):
    """Why the flow stops, and the status it answers with."""

    def __init__(self, reason: str, status: int = 400):
        super().__init__(reason)
        self.reason, self.status = reason, status


def _refused(reason: str, status: int = 400):
    """The flow stops here: nothing is logged in or changed, and the reader is told why."""
    db.session.rollback()
    return render_template("orcid/refused.html", reason=reason), status


def _authorize(purpose: dict):
    client = _client()
    state = generate_token(30)
    session[FLOW] = {"state": state, **purpose}
    try:
        return client.authorize_redirect(url_for("orcid.callback", _external=True), state=state)
    except requests.RequestException:
        session.pop(FLOW, None)
        return _refused(UNREACHABLE, 502)


@bp.post("/auth/orcid/login")
def start():
    """From the login or sign-up page: off to ORCID (a POST: it starts a flow in this session)."""
    _client()
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    next_url = request.form.get("next")
    return _authorize({"purpose": "login", "next": next_url if is_safe_next(next_url) else None})


@bp.post("/settings/orcid/link")
@login_required
def link():
    return _authorize({"purpose": "link", "user": current_user.id})


def _verified_identity() -> orcid.Identity:
    """The identity ORCID vouched for in a verified ID token; Refusal says why not."""
    client = _client()
    issuer = current_app.config["ORCID_ISSUER"].rstrip("/")
    # Pinned here, not left to Authlib's defaults: the issuer is the configured one (not
    # whatever the discovery document says), and the audience must name this client.
    # By default Authlib accepts a token for another audience when its azp names us.
    options = {"iss": {"essential": True, "value": issuer},
               "aud": {"essential": True, "value": current_app.config["ORCID_CLIENT_ID"]},
               "sub": {"essential": True}}
    try:
        token = client.authorize_access_token(claims_options=options, claims_cls=OrcidIDToken, leeway=LEEWAY_SECONDS)
    except OAuthError as error:  # the provider said no, or the state is not this browser's
        if error.error == "access_denied":
            raise Refusal("You did not allow the sign-in at ORCID, so nothing was changed.", 403) from None
        if error.error == "mismatching_state":
            raise Refusal("This ORCID sign-in does not match the one started in this browser (its state is wrong), "
                          "so it was refused. Start again from this site.") from None
        raise Refusal(f"ORCID refused the sign-in ({error.error}: {error.description or 'no reason given'}).") from None
    except BadSignatureError:
        raise Refusal("The ID token from ORCID did not carry a valid signature from ORCID's published keys: "
                      "it may have been tampered with, so it was refused.") from None
    except ExpiredTokenError:
        raise Refusal("The ID token from ORCID has expired, so it was refused. Please sign in again.") from None
    except ClaimError as error:
        reason = _CLAIM_REASONS.get(error.claim, f"its {error.claim} claim is not right")
        raise Refusal(f"The ID token from ORCID was refused: {reason}.") from None
    except JoseError as error:
        raise Refusal(f"The ID token from ORCID could not be verified ({error.error}), so it was refused.") from None
    except requests.RequestException:
        raise Refusal(UNREACHABLE, 502) from None
    claims = token.get("userinfo")
    if not claims:  # no ID token at all: an OAuth answer, not an OpenID Connect one
        raise Refusal("ORCID's answer carried no ID token, so nobody could be signed in.")
    try:
        return orcid.identity_from_claims(claims)
    except DomainError as error:
        raise Refusal(str(error)) from None


@bp.get("/auth/orcid/callback")
def callback():
    _client()
    flow = session.pop(FLOW, None)
    if not flow or flow.get("state") != request.args.get("state"):
        return _refused("This ORCID sign-in does not match one started in this browser (its state is missing, "
                        "wrong or already used), so it was refused and nothing was changed. Start again from this site.")
    try:
        found = _verified_identity()
    except Refusal as refusal:
        return _refused(refusal.reason, refusal.status)
    if flow.get("purpose") == "link":
        return _finish_link(flow, found)
    return _finish_login(flow, found)


def _finish_link(flow: dict, found: orcid.Identity):
    if not current_user.is_authenticated or current_user.id != flow.get("user"):
        return _refused("The account that asked to link ORCID is no longer logged in here; log in and try again.", 403)
    return press(lambda: orcid.link(current_user, found), done=f"Your ORCID iD {found.orcid_id} is linked and verified.",
                 back=url_for("orcid.settings"))


def _finish_login(flow: dict, found: orcid.Identity):
    user = orcid.user_for(found.orcid_id)
    if user is None:
        session[PENDING] = {"orcid_id": found.orcid_id, "name": found.name, "email": found.email,
                            "at": int(time.time())}
        return redirect(url_for("orcid.new_account"))
    response = complete_login(user, False, flow.get("next"))
    db.session.commit()
    flash(f"Logged in as {user.username} with ORCID.", "success")
    return response


@bp.route("/auth/orcid/new", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["REGISTER_RATE_LIMIT"], methods=["POST"])
def new_account():
    """The short step after an iD no account holds signed in: a new account, or the way
    to link it to an existing one."""
    _client()
    if current_user.is_authenticated:
        return redirect(url_for("orcid.settings"))
    pending = session.get(PENDING)
    if not pending or pending.get("at", 0) < time.time() - PENDING_SECONDS:
        session.pop(PENDING, None)
        flash("Sign in with ORCID first (or again: the last sign-in is more than 30 minutes old).", "info")
        return redirect(url_for("accounts.login"))
    found = orcid.Identity(orcid_id=pending["orcid_id"], name=pending.get("name", ""), email=pending.get("email", ""))
    form = OrcidAccountForm()
    if not form.is_submitted():
        form.email.data = found.email
        form.display_name.data = found.name
    if form.validate_on_submit():
        try:
            user = orcid.register(found, form.username.data, form.email.data, form.display_name.data or "")
        except DomainError as error:  # a race with another sign-up; the form said ok
            form_error(form.username, error)
        else:
            response = complete_login(user, False, url_for("accounts.edit_profile"))
            emails.start_account_confirmation(user)  # ORCID vouched for the iD, not for the typed address
            db.session.commit()
            flash(f"Welcome, {user.username}! Your ORCID iD {user.orcid_id} is linked and verified. We sent a link "
                  f"to {emails.mask(user.email)}: open it to confirm your address and start posting.", "success")
            return response
    return (render_template("orcid/new_account.html", form=form, found=found, orcid_url=orcid.orcid_url),
            422 if form.errors else 200)


@bp.get("/settings/orcid")
@login_required
def settings():
    return render_template("orcid/settings.html", orcid_url=orcid.orcid_url)


@bp.post("/settings/orcid/unlink")
@login_required
def unlink():
    user = current_user._get_current_object()
    was = user.orcid_id
    return press(lambda: orcid.unlink(user), done=f"The ORCID iD {was} is no longer linked to your account.",
                 back=url_for("orcid.settings"))
