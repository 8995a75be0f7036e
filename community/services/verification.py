"""Verified researchers: which mail domains belong to research institutions, the verifications
an account holds (institution email, ORCID, invitation, moderator), and the copy of the live
one that bylines read from the users row.

Nothing here runs on a schedule: a verification carries its expiry and is judged live or
lapsed when read (Verification.is_live, User.is_verified_researcher)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from importlib import resources

from flask import current_app
from sqlalchemy import select

from community.extensions import db
from community.models import ResearchDomain, Role, User, Verification, VerificationKind
from community.models.base import utcnow
from community.models.verification import RESEARCHER_KINDS, VERIFICATION_HOW, EmailAddress
from community.services import DomainError, PermissionDenied, admin_log

# Mail providers anyone can sign up with: an address there proves nothing about where its
# owner works, whatever list a domain might also appear on.
PUBLIC_MAIL_DOMAINS = frozenset({
    "gmail.com", "googlemail.com", "outlook.com", "hotmail.com", "hotmail.co.uk", "live.com", "msn.com",
    "yahoo.com", "yahoo.co.uk", "yahoo.co.jp", "ymail.com", "icloud.com", "me.com", "mac.com", "aol.com",
    "proton.me", "protonmail.com", "pm.me", "gmx.com", "gmx.de", "gmx.net", "web.de", "mail.com",
    "yandex.ru", "yandex.com", "mail.ru", "qq.com", "163.com", "126.com", "naver.com", "fastmail.com",
    "zoho.com", "tutanota.com", "hey.com", "duck.com",
})
_DOMAIN_RE = re.compile(r"(?=.{4,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}")

# Which researcher verification the byline shows when several hold: the one that lasts
# longest (a lapse then leaves the others showing), ties in this order.
_PREFERENCE = {VerificationKind.institution_email: 0, VerificationKind.orcid: 1, VerificationKind.moderator: 2}


@cache
def university_domains() -> frozenset[str]:
    """The shipped list's domains (community/data/university-domains.SOURCE.md), read once."""
    text = resources.files("community").joinpath("data/university-domains.json").read_text("utf-8")
    return frozenset(domain.strip().lower() for entry in json.loads(text) for domain in entry.get("domains", ())
                     if "." in domain.strip())


def lab_domains() -> set[str]:
    return set(db.session.scalars(select(ResearchDomain.domain)))


def research_institution(domain: str) -> str | None:
    """The listed domain `domain` belongs to (itself or a parent: cs.stanford.edu ->
    stanford.edu), or None. Public mail providers never count."""
    domain = domain.strip().lower().rstrip(".")
    labels = domain.split(".")
    candidates = [".".join(labels[i:]) for i in range(len(labels) - 1)]
    if not candidates or any(c in PUBLIC_MAIL_DOMAINS for c in candidates):
        return None
    universities = university_domains()
    found = next((c for c in candidates if c in universities), None)
    if found is not None:
        return found
    labs = lab_domains()
    return next((c for c in candidates if c in labs), None)


def lapse_after() -> timedelta:
    return timedelta(days=current_app.config["VERIFICATION_DAYS"])


# ---------------------------------------------------------------- verifications

def verifications_of(user: User) -> list[Verification]:
    return list(db.session.scalars(select(Verification).where(Verification.user_id == user.id)
                                   .order_by(Verification.verified_at.desc(), Verification.id.desc())))


def refresh_user(user: User, now: datetime | None = None) -> None:
    """Copy the live researcher verification that lasts longest onto the users row (or clear it)."""
    now = now or utcnow()
    live = [v for v in verifications_of(user) if v.kind in RESEARCHER_KINDS and v.is_live(now)]
    best = min(live, key=lambda v: (v.expires_at is not None, -(v.expires_at or now).timestamp(),
                                    _PREFERENCE[v.kind]), default=None)
    user.verified_via = best.kind.value if best else None
    user.verified_detail = best.detail if best else ""
    user.verified_since = best.verified_at if best else None
    user.verified_until = best.expires_at if best else None
    db.session.flush()


def record(user: User, kind: VerificationKind, detail: str = "", *, expires_at: datetime | None = None,
           granted_by: User | None = None, address: EmailAddress | None = None,
           now: datetime | None = None) -> Verification:
    """Verify `user` (now): one row per (kind, detail) or per address, renewed when it exists.
    The ORCID sign-in calls record(user, VerificationKind.orcid, orcid_id), an accepted guest
    invitation record(user, VerificationKind.invitation, person.name)."""
    now = now or utcnow()
    query = select(Verification).where(Verification.user_id == user.id, Verification.kind == kind)
    query = query.where(Verification.email_address_id == address.id) if address is not None else query.where(
        Verification.detail == detail)
    row = db.session.scalar(query)
    if row is None:
        row = Verification(user_id=user.id, kind=kind, email_address_id=address.id if address else None)
        db.session.add(row)
    elif row.revoked_at is not None and kind != VerificationKind.moderator:
        # A moderator said no: confirming the same address again does not overrule them.
        raise DomainError("A moderator revoked the verification this gave; ask the moderators to look again.")
    row.detail, row.verified_at, row.expires_at = detail, now, expires_at
    row.granted_by_id = granted_by.id if granted_by else None
    row.revoked_at = row.revoked_by_id = None
    db.session.flush()
    refresh_user(user, now)
    return row


def verify_institution_address(address: EmailAddress, now: datetime | None = None) -> Verification | None:
    """A just-confirmed address on a research institution's domain verifies its owner for
    VERIFICATION_DAYS; any other confirms nothing more."""
    if research_institution(address.domain) is None:
        return None
    if db.session.scalar(select(Verification.id).where(Verification.email_address_id == address.id,
                                                       Verification.revoked_at.is_not(None))):
        return None  # a moderator revoked what this address gave: confirming again does not overrule them
    now = now or utcnow()
    user = db.session.get(User, address.user_id)
    return record(user, VerificationKind.institution_email, address.domain, expires_at=now + lapse_after(),
                  address=address, now=now)


@dataclass
class Badge:
    """One line of "what was verified" on a profile or in the API."""
    kind: str
    how: str
    detail: str
    since: datetime
    until: datetime | None
    live: bool
    revoked: bool

    def as_json(self) -> dict:
        return {"kind": self.kind, "how": self.how, "detail": self.detail, "since": self.since.isoformat(),
                "until": self.until.isoformat() if self.until else None, "live": self.live}


def badges_of(user: User, now: datetime | None = None) -> list[Badge]:
    now = now or utcnow()
    return [Badge(v.kind.value, VERIFICATION_HOW[v.kind], v.detail if v.kind != VerificationKind.moderator else "",
                  v.verified_at, v.expires_at, v.is_live(now), v.revoked_at is not None)
            for v in verifications_of(user)]


def verified_json(user: User) -> dict | None:
    """The byline's verification as the API gives it with every author: no query."""
    if not user.is_verified_researcher():
        return None
    return {"how": user.verified_via, "detail": user.verified_detail,
            "since": user.verified_since.isoformat() if user.verified_since else None,
            "until": user.verified_until.isoformat() if user.verified_until else None}


# ---------------------------------------------------------------- by hand

def _require_moderator(actor: User, user: User) -> None:
    if not actor.is_moderator:
        raise PermissionDenied("Only moderators grant or revoke the researcher badge.")
    if actor.id == user.id:
        raise PermissionDenied("Another moderator decides about your own badge.")


def grant(actor: User, user: User, note: str = "") -> Verification:
    """A moderator vouches for `user` as a researcher (no lapse); logged."""
    _require_moderator(actor, user)
    note = " ".join((note or "").split())[:255]
    row = record(user, VerificationKind.moderator, note, granted_by=actor)
    admin_log.record(actor, "researcher.grant", target_type="user", target_id=user.id,
                     summary=f"Granted the researcher badge to {user.username}" + (f": {note}" if note else ""),
                     after={"verified_via": user.verified_via})
    return row


def revoke(actor: User, user: User, reason: str = "") -> int:
    """A moderator takes the researcher badge away: every live researcher verification is
    revoked (re-confirming the same address does not bring it back) and a researcher role
    becomes member; logged. Returns how many verifications ended."""
    _require_moderator(actor, user)
    if not user.is_verified_researcher() and user.role != Role.researcher:
        raise DomainError(f"{user.username} has no researcher badge to revoke.")
    now = utcnow()
    ended = 0
    for row in verifications_of(user):
        if row.kind in RESEARCHER_KINDS and row.is_live(now):
            row.revoked_at, row.revoked_by_id = now, actor.id
            ended += 1
    before = {"role": user.role.value, "verified_via": user.verified_via}
    if user.role == Role.researcher:
        user.role = Role.member
    db.session.flush()
    refresh_user(user, now)
    reason = " ".join((reason or "").split())[:200]
    admin_log.record(actor, "researcher.revoke", target_type="user", target_id=user.id,
                     summary=f"Revoked the researcher badge of {user.username}" + (f": {reason}" if reason else ""),
                     before=before, after={"role": user.role.value, "verified_via": user.verified_via})
    return ended


# ---------------------------------------------------------------- lab domains (admins)

def clean_domain(text: str) -> str:
    domain = (text or "").strip().lower().removeprefix("@").rstrip(".")
    if not _DOMAIN_RE.fullmatch(domain):
        raise DomainError(f"“{text.strip()}” is not a mail domain such as deepmind.com or mpi-inf.mpg.de.")
    if domain in PUBLIC_MAIL_DOMAINS:
        raise DomainError(f"{domain} is a public mail provider: anyone can have an address there.")
    return domain


def lab_domain_list() -> list[ResearchDomain]:
    return list(db.session.scalars(select(ResearchDomain).order_by(ResearchDomain.domain)))


def add_lab_domain(actor: User, domain: str, name: str) -> ResearchDomain:
    if actor.role != Role.admin:
        raise PermissionDenied("Only admins add research domains.")
    domain = clean_domain(domain)
    if domain in university_domains():
        raise DomainError(f"{domain} is on the shipped university list already.")
    if db.session.scalar(select(ResearchDomain.id).where(ResearchDomain.domain == domain)):
        raise DomainError(f"{domain} is listed already.")
    row = ResearchDomain(domain=domain, name=" ".join((name or "").split())[:120], added_by_id=actor.id)
    db.session.add(row)
    db.session.flush()
    admin_log.record(actor, "research_domain.add", target_type="research_domain", target_id=row.id,
                     summary=f"Added research domain {domain}" + (f" ({row.name})" if row.name else ""),
                     after={"domain": domain, "name": row.name})
    return row


def remove_lab_domain(actor: User, domain_id: int) -> ResearchDomain:
    """Verifications it gave stay until they lapse: they were true when checked."""
    if actor.role != Role.admin:
        raise PermissionDenied("Only admins remove research domains.")
    row = db.session.get(ResearchDomain, domain_id)
    if row is None:
        raise DomainError("That domain is not listed (any more).")
    admin_log.record(actor, "research_domain.remove", target_type="research_domain", target_id=row.id,
                     summary=f"Removed research domain {row.domain}", before={"domain": row.domain, "name": row.name})
    db.session.delete(row)
    db.session.flush()
    return row
