"""ORCID iDs of accounts: what ORCID's OpenID Connect sign-in proved, and the rules for
signing in with it, linking it to an account and unlinking it.

The OpenID Connect exchange itself (state, nonce, code, token, the ID token's signature
against ORCID's published keys, issuer, audience, expiry) happens in views.orcid with
Authlib's client; what reaches this module is the verified claims. An iD belongs to at
most one account (a unique column); a deleted account lets go of its iD (services.privacy).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import delete, select

from community import identity
from community.extensions import db
from community.models import User, Verification, VerificationKind
from community.models.base import utcnow
from community.services import DomainError, accounts, verification

ORCID_ID_RE = re.compile(r"\d{4}-\d{4}-\d{4}-\d{3}[\dX]")
ORCID_SITE = "https://orcid.org"


def checksum_digit(base_digits: str) -> str:
    """ISO 7064 MOD 11-2 over the first 15 digits: ORCID's check character (0-9 or X)."""
    total = 0
    for digit in base_digits:
        total = (total + int(digit)) * 2
    result = (12 - total % 11) % 11
    return "X" if result == 10 else str(result)


def is_valid_orcid_id(value: str) -> bool:
    """0000-0000-0000-000X with a right check character; 0000-0002-1825-0097 is valid,
    0000-0002-1825-0098 is not."""
    if not isinstance(value, str) or not ORCID_ID_RE.fullmatch(value):
        return False
    digits = value.replace("-", "")
    return checksum_digit(digits[:15]) == digits[15]


def orcid_url(orcid_id: str) -> str:
    return f"{ORCID_SITE}/{orcid_id}"


@dataclass(frozen=True)
class Identity:
    """Who ORCID says signed in: the iD (the ID token's `sub`) and what else it told."""

    orcid_id: str
    name: str = ""
    email: str = ""


def identity_from_claims(claims: Mapping) -> Identity:
    """The identity in verified ID token claims. ORCID's `sub` is the bare iD; a subject
    that is not a well-formed iD with its check character is refused, whoever signed it."""
    subject = str(claims.get("sub") or "")
    if subject.startswith(ORCID_SITE + "/"):
        subject = subject[len(ORCID_SITE) + 1:]
    if not is_valid_orcid_id(subject):
        raise DomainError("ORCID's answer did not name a valid ORCID iD; nothing was changed.")
    name = str(claims.get("name") or " ".join(
        str(part) for part in (claims.get("given_name"), claims.get("family_name")) if part)).strip()
    email = str(claims.get("email") or "").strip() if claims.get("email_verified", True) else ""
    return Identity(orcid_id=subject, name=name[:80], email=email[:254])


def user_for(orcid_id: str) -> User | None:
    """The account this iD is linked to, if any."""
    return db.session.scalar(select(User).where(User.orcid_id == orcid_id, User.deleted_at.is_(None)))


def _holder(orcid_id: str) -> User | None:
    return db.session.scalar(select(User).where(User.orcid_id == orcid_id))


def link(actor: User, found: Identity) -> None:
    """Link the iD ORCID just proved to the actor's account (again: the date is renewed).
    Refused when another account holds it, or when the actor has a different iD linked."""
    holder = _holder(found.orcid_id)
    if holder is not None and holder.id != actor.id:
        raise DomainError(f"The ORCID iD {found.orcid_id} is already linked to another account on this site. "
                          "Sign in with ORCID to use that account, or unlink the iD there first.")
    if actor.orcid_id and actor.orcid_id != found.orcid_id:
        raise DomainError(f"Your account is linked to the ORCID iD {actor.orcid_id}. "
                          f"Unlink it first to link {found.orcid_id} instead.")
    actor.orcid_id = found.orcid_id
    actor.orcid_verified_at = utcnow()
    db.session.flush()
    try:  # a researcher verified by ORCID (services.verification: the badge and how it was earned)
        verification.record(actor, VerificationKind.orcid, found.orcid_id)
    except DomainError:
        pass  # a moderator revoked this verification before: the iD stays linked, the badge does not return


def unlink(actor: User) -> str:
    """Remove the actor's iD from their account; which iD it was."""
    if not actor.orcid_id:
        raise DomainError("Your account has no ORCID iD linked.")
    was = actor.orcid_id
    actor.orcid_id = None
    actor.orcid_verified_at = None
    # The verification it gave goes with it (one a moderator revoked stays, as their record).
    db.session.execute(delete(Verification).where(Verification.user_id == actor.id,
                                                  Verification.kind == VerificationKind.orcid,
                                                  Verification.revoked_at.is_(None)))
    verification.refresh_user(actor)
    return was


def register(found: Identity, username: str, email: str, display_name: str = "") -> User:
    """A new account for someone ORCID vouched for, with its iD linked. It has no password
    anyone knows (a random one): its owner signs in with ORCID, or sets a password
    through the reset link. Names and address follow the same rules as any sign-up."""
    if _holder(found.orcid_id) is not None:
        raise DomainError(f"The ORCID iD {found.orcid_id} is already linked to an account: sign in with ORCID.")
    user = accounts.register(username, email, secrets.token_urlsafe(32))
    display_name = identity.clean_display_name(display_name or "")
    if display_name:
        problem = accounts.display_name_problem(user, display_name)
        if problem:
            raise DomainError(problem)
        user.display_name = display_name
        user.display_name_skeleton = identity.name_key(display_name)
    link(user, found)
    return user
