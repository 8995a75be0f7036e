"""Confirmed addresses: the account's own (a new account's, or a change of address) and
institutional ones, each confirmed by a signed, single-use link valid CONFIRM_TOKEN_MAX_AGE.

A link signs (address row id, address, its confirmation time): confirming changes the row
(or removes it), so the same link never works twice, and a link for an address the row no
longer holds never works at all. Until an account's address is confirmed it writes nothing
others see (ensure_confirmed, applied to every state-changing route by
policy.refuse_unconfirmed_writes)."""

from __future__ import annotations

from datetime import datetime

from flask import current_app, url_for
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import delete, select

from community.extensions import db
from community.models import AddressPurpose, EmailAddress, User, Verification
from community.models.base import utcnow
from community.services import DomainError, NotFound, PermissionDenied, accounts, mail, verification

MAX_INSTITUTIONAL = 5


def mask(email: str) -> str:
    """a***@example.org: enough for the owner to recognise, nothing for a shoulder-surfer."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}"


def ensure_confirmed(actor: User) -> None:
    """The refusal an unconfirmed account meets on every write, saying what waits and where."""
    if actor.email_confirmed_at is None:
        raise PermissionDenied(
            f"Confirm your email address first: we sent a link to {mask(actor.email)}. Until you open it you can "
            "read and set up your profile, but not post, reply, vote, flag or follow. No mail? Send the link "
            "again from the banner above or from Settings → Email addresses.")


# ---------------------------------------------------------------- links

def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="email-confirmation")


def _state(address: EmailAddress) -> str:
    return address.confirmed_at.isoformat() if address.confirmed_at else ""


def make_token(address: EmailAddress) -> str:
    return _serializer().dumps({"a": address.id, "e": address.email_key, "c": _state(address)})


def address_for_token(token: str, actor: User | None = None) -> EmailAddress:
    """The address row a link confirms, or DomainError saying why the link does not work."""
    try:
        data = _serializer().loads(token, max_age=current_app.config["CONFIRM_TOKEN_MAX_AGE"])
    except SignatureExpired:
        raise DomainError("This confirmation link has expired (links work for 48 hours). "
                          "Send a new one from Settings → Email addresses.") from None
    except BadSignature:
        raise NotFound("This confirmation link is not valid: copy the whole link from the mail, "
                          "or send a new one from Settings → Email addresses.") from None
    address = db.session.get(EmailAddress, data.get("a")) if isinstance(data, dict) else None
    if address is None or address.email_key != data.get("e"):
        raise DomainError("This confirmation link is for an address that no longer waits for it "
                          "(it was confirmed, replaced or removed).")
    if _state(address) != data.get("c"):
        raise DomainError("This confirmation link has already been used.")
    if actor is not None and actor.is_authenticated and actor.id != address.user_id:
        raise PermissionDenied("This link confirms an address of another account: log out, then open it again.")
    return address


def _send_link(address: EmailAddress, user: User, now: datetime, back: str | None = None) -> None:
    """`back`: the page the user was on when they signed up, carried by the link (`next`) so that
    confirming lands there; the view checks it is a page of this site before using it."""
    link = url_for("verification.confirm", token=make_token(address), next=back or None, _external=True)
    hours = current_app.config["CONFIRM_TOKEN_MAX_AGE"] // 3600
    if address.purpose == AddressPurpose.account:
        subject = "Confirm your GI Community address"
        why = ("Open this link to confirm this address for your GI Community account "
               f"{user.username}; until then you can read but not post, vote or flag")
    elif address.confirmed_at is None:
        subject = "Confirm your institutional address on GI Community"
        why = (f"Open this link to confirm {address.email} as an institutional address of {user.username}: "
               "when its domain belongs to a research institution, your affiliation shows as verified")
    else:
        subject = "Re-confirm your institutional address on GI Community"
        why = (f"Open this link to re-confirm {address.email}: your verified affiliation then holds "
               f"for another {current_app.config['VERIFICATION_DAYS']} days")
    mail.send(address.email, subject,
              f"Hello {user.username},\n\n{why}:\n\n{link}\n\nThe link works once, for {hours} hours. "
              "If you did not ask for it, ignore this message: nothing changes.\n")
    address.sent_at = now


def _check_resend(address: EmailAddress, now: datetime) -> None:
    wait = current_app.config["CONFIRM_RESEND_SECONDS"]
    if address.sent_at is not None and (now - address.sent_at).total_seconds() < wait:
        left = int(wait - (now - address.sent_at).total_seconds()) + 1
        raise DomainError(f"We sent a link to {mask(address.email)} moments ago: check your inbox (and the spam "
                          f"folder). You can ask for another in {left} seconds.")


# ---------------------------------------------------------------- the account's address

def pending_account_address(user: User) -> EmailAddress | None:
    return db.session.scalar(select(EmailAddress).where(
        EmailAddress.user_id == user.id, EmailAddress.purpose == AddressPurpose.account))


def start_account_confirmation(user: User, back: str | None = None) -> EmailAddress:
    """A new account: its address waits for the link mailed now (leading `back` once opened)."""
    address = EmailAddress(user_id=user.id, email=user.email, email_key=user.email_key,
                           purpose=AddressPurpose.account)
    db.session.add(address)
    db.session.flush()
    _send_link(address, user, utcnow(), back)
    db.session.flush()
    return address


def resend(actor: User, address_id: int | None = None) -> EmailAddress:
    """Mail the link again: the account's pending address (or the one given, of the actor's),
    at most once per CONFIRM_RESEND_SECONDS. Links sent before keep working until used."""
    now = utcnow()
    if address_id is None:
        address = pending_account_address(actor)
        if address is None:
            if actor.email_confirmed_at is not None:
                raise DomainError("Your address is confirmed already: nothing waits.")
            return start_account_confirmation(actor)  # an account that never had a link (made elsewhere)
    else:
        address = db.session.get(EmailAddress, address_id)
        if address is None or address.user_id != actor.id:
            raise NotFound("You have no such address.")
    _check_resend(address, now)
    _send_link(address, actor, now)
    db.session.flush()
    return address


def _taken_by_other(user: User, key: str) -> bool:
    return accounts.email_problem(key, exclude=user) is not None


def _clean(email: str) -> tuple[str, str]:
    email = (email or "").strip()
    local, at, domain = email.rpartition("@")
    if not at or not local or "." not in domain or len(email) > 254 or any(c.isspace() for c in email):
        raise DomainError("That is not an email address.")
    return email, email.lower()


def change_address(actor: User, email: str) -> EmailAddress:
    """The new address gets a link; it replaces the account's address only once confirmed
    (one change waits at a time: asking again replaces the waiting one)."""
    email, key = _clean(email)
    if key == actor.email_key:
        raise DomainError("That is your account's address already.")
    if _taken_by_other(actor, key):
        raise DomainError("Another account uses this address.")
    db.session.execute(delete(EmailAddress).where(EmailAddress.user_id == actor.id,
                                                  EmailAddress.purpose == AddressPurpose.account))
    return _added(actor, email, key, AddressPurpose.account)


def add_institutional(actor: User, email: str) -> EmailAddress:
    """An address on a research institution's domain, confirmed by its link; any other
    (a public mail provider, an unlisted domain) is refused here, with the reason."""
    email, key = _clean(email)
    domain = key.rpartition("@")[2]
    if any(domain == d or domain.endswith("." + d) for d in verification.PUBLIC_MAIL_DOMAINS):
        raise DomainError(f"{domain} is a public mail provider: anyone can have an address there, so it cannot "
                          "verify an affiliation. Add the address your university or lab gave you.")
    if verification.research_institution(domain) is None:
        raise DomainError(f"{domain} is not on the list of research institutions (the shipped university list and "
                          "the research labs admins added). If it is your lab's, ask an admin to add it.")
    mine = list(db.session.scalars(select(EmailAddress).where(
        EmailAddress.user_id == actor.id, EmailAddress.purpose == AddressPurpose.institutional)))
    if any(a.email_key == key for a in mine):
        raise DomainError("You have added this address already.")
    if len(mine) >= MAX_INSTITUTIONAL:
        raise DomainError(f"At most {MAX_INSTITUTIONAL} institutional addresses; remove one first.")
    if _taken_by_other(actor, key):
        raise DomainError("Another account uses this address.")
    return _added(actor, email, key, AddressPurpose.institutional)


def _added(actor: User, email: str, key: str, purpose: AddressPurpose) -> EmailAddress:
    """A new address of the actor's, unconfirmed, with its confirmation link on the way."""
    address = EmailAddress(user_id=actor.id, email=email, email_key=key, purpose=purpose)
    db.session.add(address)
    db.session.flush()
    _send_link(address, actor, utcnow())
    db.session.flush()
    return address


def reconfirm(actor: User, address_id: int) -> EmailAddress:
    """Mail a fresh link for a confirmed institutional address: opening it renews the verification."""
    return resend(actor, address_id)


def remove_address(actor: User, address_id: int) -> EmailAddress:
    address = db.session.get(EmailAddress, address_id)
    if address is None or address.user_id != actor.id:
        raise NotFound("You have no such address.")
    db.session.execute(delete(Verification).where(Verification.email_address_id == address.id))
    db.session.delete(address)
    db.session.flush()
    verification.refresh_user(actor)
    return address


def confirm(token: str, actor: User | None = None) -> tuple[EmailAddress, Verification | None]:
    """Open a link: the address is confirmed (the account's replaced, the old one told), and
    one on a research institution's domain verifies its owner. Returns the address and the
    verification it gave, if any."""
    address = address_for_token(token, actor)
    user = db.session.get(User, address.user_id)
    if _taken_by_other(user, address.email_key):
        raise DomainError(f"Another account confirmed {address.email} first: an address belongs to one account. "
                          "Use another address, or recover that account with a password reset.")
    now = utcnow()
    if address.purpose == AddressPurpose.account:
        # The old address hears of it only if it was ever confirmed: a mistyped one is a stranger's.
        old = user.email if user.email_key != address.email_key and user.email_confirmed_at is not None else None
        user.email, user.email_key, user.email_confirmed_at = address.email, address.email_key, now
        if old is not None:
            mail.send(old, "Your GI Community address was changed",
                      f"Hello {user.username},\n\nThe address of your GI Community account is now "
                      f"{mask(address.email)} (confirmed {now:%Y-%m-%d %H:%M} UTC); mail no longer comes here.\n\n"
                      "If you did not change it, reset your password at once and tell the moderators.\n")
        if verification.research_institution(address.domain) is None:
            db.session.delete(address)
            db.session.flush()
            return address, None
        # On a research institution's domain: kept as the account's institutional address too.
        address.purpose = AddressPurpose.institutional
        db.session.execute(delete(EmailAddress).where(
            EmailAddress.user_id == user.id, EmailAddress.purpose == AddressPurpose.institutional,
            EmailAddress.email_key == address.email_key, EmailAddress.id != address.id))
    address.confirmed_at = now
    db.session.flush()
    return address, verification.verify_institution_address(address, now)


def addresses_of(user: User) -> list[EmailAddress]:
    return list(db.session.scalars(select(EmailAddress).where(EmailAddress.user_id == user.id)
                                   .order_by(EmailAddress.purpose, EmailAddress.id)))
