"""Guest invitations: the show's team invites a Person; whoever opens the link and accepts is
linked to that Person (Person.user_id), which is what makes them a guest of its episodes
(the Guest badge, their questions in the inbox). Their own role stays what it was.

A link carries a random token; only its SHA-256 is stored. One use, 14 days, revocable.
Accepting is decided by one conditional UPDATE (... WHERE used_at IS NULL AND revoked_at
IS NULL AND expires_at > now): of two accepts of one token exactly one changes a row, on
SQLite and PostgreSQL alike, and the other is told why."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError

from community.extensions import db
from community.models import Appearance, AppearanceRole, Episode, Invitation, Person, Role, User
from community.models.accounts import hash_token
from community.models.base import utcnow
from community.models.invitations import EXPIRED, PENDING, REVOKED, USED
from community.services import DomainError, NotFound, PermissionDenied, admin_log, emails, episodes, mail

VALID_FOR = timedelta(days=14)
TEAM = (Role.host, Role.admin)


class Unusable(DomainError):
    """The link was real but can no longer be used (used, expired, revoked): 410 Gone."""


@dataclass
class Acceptance:
    person: Person
    linked: bool  # False when the account already was this Person's (a second invitation)
    # The invitation was mailed to the address this account has: the account has shown it
    # reads that mailbox, so that address now counts as confirmed.
    invited_address_matches: bool


def _require_team(actor: User) -> None:
    if actor.role not in TEAM:
        raise PermissionDenied("Only the show's hosts and admins send invitations.")


def _when(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC"


# ---------------------------------------------------------------- the console

def create(actor: User, person: Person, email: str | None, link: Callable[[str], str]) -> tuple[Invitation, str]:
    """A new invitation for `person`, mailed to `email` when one is given. Returns the
    invitation and its link (shown once: only the token's hash is kept)."""
    _require_team(actor)
    email = (email or "").strip() or None
    token = secrets.token_urlsafe(32)
    now = utcnow()
    invitation = Invitation(person_id=person.id, email=email, token_hash=hash_token(token), created_by_id=actor.id,
                            created_at=now, expires_at=now + VALID_FOR)
    db.session.add(invitation)
    db.session.flush()
    url = link(token)
    admin_log.record(actor, "invitation.create", target_type="person", target_id=person.id,
                     summary=f"Invited {person.name}" + (f" by email to {email}" if email else " (link to copy)"),
                     after={"invitation": invitation.id, "email": email, "expires_at": invitation.expires_at.isoformat()})
    if email:
        # A job of this transaction: sent by the worker, retried if the mail server is down
        # (the console's Jobs page shows a mail that keeps failing).
        mail.send(email, "An invitation to answer listeners' questions on GI Community", _mail_text(person, actor, url))
    return invitation, url


def _mail_text(person: Person, actor: User, url: str) -> str:
    return (f"Hello {person.name},\n\n{actor.name} from Generally Intelligent invites you to GI Community, where "
            "listeners discuss the episodes you were on and leave questions for you.\n\n"
            f"Open this link within 14 days to create an account (or log in) and accept:\n\n{url}\n\n"
            "Accepting links your account to you as a guest of the show: your answers carry the Guest badge, and "
            "the questions listeners ask on your episodes wait for you in one place.\n\n"
            "The link works once. If you did not expect this, ignore it.\n")


def revoke(actor: User, invitation: Invitation) -> None:
    _require_team(actor)
    state = invitation.state()
    if state != PENDING:
        raise DomainError(f"This invitation is {state}: there is nothing to revoke.")
    now = utcnow()
    # Conditional, like accepting: a revoke racing an accept changes nothing once it is used.
    result = db.session.execute(update(Invitation).where(
        Invitation.id == invitation.id, Invitation.used_at.is_(None), Invitation.revoked_at.is_(None)
    ).values(revoked_at=now, revoked_by_id=actor.id).execution_options(synchronize_session=False))
    if result.rowcount != 1:
        raise DomainError("This invitation was used or revoked a moment ago.")
    db.session.refresh(invitation)
    admin_log.record(actor, "invitation.revoke", target_type="person", target_id=invitation.person_id,
                     summary=f"Revoked the invitation of {invitation.person.name}",
                     before={"invitation": invitation.id, "state": state}, after={"state": REVOKED})


def listing() -> list[Invitation]:
    return list(db.session.scalars(select(Invitation).order_by(Invitation.created_at.desc(), Invitation.id.desc())))


def get(invitation_id: int) -> Invitation:
    invitation = db.session.get(Invitation, invitation_id)
    if invitation is None:
        raise NotFound(f"There is no invitation with the number {invitation_id}.")
    return invitation


def people_to_invite(episode: Episode | None = None) -> list[Person]:
    """Whom the create form offers: an episode's guests, or everyone on the show by name."""
    query = select(Person).order_by(Person.name)
    if episode is not None:
        query = query.join(Appearance, Appearance.person_id == Person.id).where(
            Appearance.episode_id == episode.id, Appearance.role == AppearanceRole.guest)
    return list(db.session.scalars(query))


def get_person(person_id: int) -> Person | None:
    return db.session.get(Person, person_id)


# ---------------------------------------------------------------- the link

def find(token: str) -> Invitation:
    """The invitation a link names; NotFound for a link that was never one (mistyped, cut short, altered)."""
    invitation = db.session.scalar(select(Invitation).where(Invitation.token_hash == hash_token(token or "")))
    if invitation is None:
        raise NotFound("This invitation link is not valid: it may have been mistyped, cut short or altered. "
                       "Ask the person who sent it for a new one.")
    return invitation


def check_usable(invitation: Invitation, now: datetime | None = None) -> None:
    """Unusable, with the reason, unless the invitation can still be accepted."""
    state = invitation.state(now)
    if state == USED:
        raise Unusable(f"This invitation was already used on {_when(invitation.used_at)}. Each link works once; "
                       "if that was not you, ask the show's team for a new one.")
    if state == REVOKED:
        raise Unusable(f"This invitation was withdrawn on {_when(invitation.revoked_at)}. "
                       "Ask the show's team for a new one if you expected it.")
    if state == EXPIRED:
        raise Unusable(f"This invitation expired on {_when(invitation.expires_at)} (links are valid for 14 days). "
                       "Ask the show's team for a new one.")


def guest_episodes(person: Person) -> list[Episode]:
    found = episodes.person_page(person.id)
    if found is None:
        return []
    return [e for e in found[1] if any(a.person_id == person.id and a.role == AppearanceRole.guest
                                       for a in e.appearances)]


def linked_person(user: User) -> Person | None:
    return db.session.scalar(select(Person).where(Person.user_id == user.id))


def refusal(actor: User, invitation: Invitation) -> str | None:
    """Why this account may not accept this (usable) invitation, or None."""
    person = invitation.person
    if person.user_id is not None and person.user_id != actor.id:
        return (f"{person.name} is already linked to another account (through an earlier invitation). "
                "If that is not you, write to the show's team.")
    other = linked_person(actor)
    if other is not None and other.id != person.id:
        return (f"Your account is already linked to {other.name}. One account stands for one person of the show: "
                "log in with another account, or write to the show's team.")
    return None


def accept(actor: User, token: str) -> Acceptance:
    """Links `actor` to the invitation's Person and uses the invitation up; NotFound for a
    link that never was one, Unusable (with the reason) for one used, revoked or expired,
    DomainError when the Person or the account is linked elsewhere."""
    invitation = find(token)
    check_usable(invitation)
    problem = refusal(actor, invitation)
    if problem:
        raise DomainError(problem)
    now = utcnow()
    # The first write of the transaction, and the one that decides: exactly one accept changes the row.
    result = db.session.execute(update(Invitation).where(
        Invitation.id == invitation.id, Invitation.used_at.is_(None), Invitation.revoked_at.is_(None),
        Invitation.expires_at > now,
    ).values(used_at=now, used_by_id=actor.id).execution_options(synchronize_session=False))
    if result.rowcount != 1:
        db.session.refresh(invitation)
        check_usable(invitation, now)
        raise Unusable("This invitation was used a moment ago.")
    person = invitation.person
    linked = person.user_id is None
    try:
        # Conditional too: a second invitation to the same Person, accepted at the same moment
        # by another account, must not take the Person over (the unique user_id guards the
        # other way round: one account, one Person).
        result = db.session.execute(update(Person).where(
            Person.id == person.id, or_(Person.user_id.is_(None), Person.user_id == actor.id),
        ).values(user_id=actor.id).execution_options(synchronize_session=False))
    except IntegrityError as error:
        raise DomainError("Your account was linked to another person of the show a moment ago.") from error
    if result.rowcount != 1:
        raise DomainError(f"{person.name} was linked to another account a moment ago.")
    db.session.refresh(person)
    admin_log.record(actor, "invitation.accept", target_type="person", target_id=person.id,
                     summary=f"{actor.username} accepted the invitation and is linked to {person.name}",
                     before={"user_id": None if linked else actor.id}, after={"user_id": actor.id, "invitation": invitation.id})
    matches = bool(invitation.email) and invitation.email.strip().lower() == actor.email_key
    if matches and actor.email_confirmed_at is None:
        _confirm_by_invitation(actor)
    return Acceptance(person=person, linked=linked, invited_address_matches=matches)


def _confirm_by_invitation(actor: User) -> None:
    """The link reached the account's own address: as good as that address's confirmation
    link, so it is confirmed the same way (an institution's domain verifies, as usual)."""
    pending = emails.pending_account_address(actor)
    if pending is not None and pending.email_key == actor.email_key:
        emails.confirm(emails.make_token(pending), actor)
    else:
        actor.email_confirmed_at = utcnow()
        db.session.flush()
