"""Guest invitations as rules (SQLite and PostgreSQL): one use, 14 days, revocable, only a hash
stored, one account per person and one person per account, and exactly one winner when two
accept the same link at once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from community.extensions import db
from community.models import AdminLogEntry, Invitation, Person, Role
from community.models.accounts import hash_token
from community.models.base import utcnow
from community.services import DomainError, NotFound, PermissionDenied, invitations
from tests.unit.test_concurrency import run_concurrently


@pytest.fixture
def admin(factories):
    return factories.user("show_admin", role=Role.admin)


@pytest.fixture
def guest_person(factories):
    factories.episode(7, "Kelvin Guu on retrieval", guests=[("Kelvin Guu", "Google AI")])
    return db.session.scalar(select(Person).where(Person.name == "Kelvin Guu"))


def invite(actor, person, email=None) -> str:
    """A committed invitation; returns its token (what the link carries)."""
    _, link = invitations.create(actor, person, email, lambda token: f"http://localhost/invite/{token}")
    db.session.commit()
    return link.rsplit("/", 1)[1]


def fresh(model, row_id):
    db.session.expire_all()
    return db.session.get(model, row_id)


def log_actions() -> list[str]:
    return list(db.session.scalars(select(AdminLogEntry.action).order_by(AdminLogEntry.id)))


def test_only_a_hash_is_stored_and_creating_is_logged(factories, admin, guest_person):
    token = invite(admin, guest_person, "kelvin@example.org")
    stored = db.session.scalar(select(Invitation))
    assert stored.token_hash == hash_token(token) and token not in stored.token_hash
    assert stored.email == "kelvin@example.org" and stored.state() == "pending"
    assert stored.expires_at - stored.created_at == timedelta(days=14)
    assert log_actions() == ["invitation.create"]


@pytest.mark.parametrize("role", [Role.member, Role.researcher, Role.guest, Role.moderator])
def test_only_hosts_and_admins_invite(factories, guest_person, role):
    with pytest.raises(PermissionDenied):
        invite(factories.user(role=role), guest_person)
    db.session.rollback()
    assert db.session.scalar(select(func.count(Invitation.id))) == 0
    invite(factories.user(role=Role.host), guest_person)  # control: a host may


def test_accepting_links_the_account_and_keeps_its_role(factories, admin, guest_person):
    token = invite(admin, guest_person)
    researcher = factories.user("kelvin", role=Role.researcher)
    accepted = invitations.accept(researcher, token)
    db.session.commit()
    assert accepted.linked and accepted.person.id == guest_person.id
    assert fresh(Person, guest_person.id).user_id == researcher.id
    assert fresh(type(researcher), researcher.id).role == Role.researcher  # a guest keeps their own role
    invitation = db.session.scalar(select(Invitation))
    assert invitation.state() == "used" and invitation.used_by_id == researcher.id
    assert log_actions() == ["invitation.create", "invitation.accept"]


def test_the_invited_address_counts_as_confirmed(factories, admin, guest_person):
    """The link reached that mailbox: an account with that address needs no second link."""
    token = invite(admin, guest_person, "Kelvin@Example.org")
    other = factories.user("other", email="other@example.org", confirmed=False)
    assert not invitations.accept(other, token).invited_address_matches
    assert other.email_confirmed_at is None  # a link copied elsewhere proves nothing of this address
    db.session.rollback()
    kelvin = factories.user("kelvin", email="kelvin@example.org", confirmed=False)
    assert invitations.accept(kelvin, token).invited_address_matches
    db.session.commit()
    assert fresh(type(kelvin), kelvin.id).email_confirmed_at is not None


def test_a_link_is_used_once(factories, admin, guest_person):
    token = invite(admin, guest_person)
    kelvin, mallory = factories.user("kelvin"), factories.user("mallory")
    invitations.accept(kelvin, token)
    db.session.commit()
    for who in (mallory, kelvin):  # nobody again, not even the one who used it
        with pytest.raises(invitations.Unusable, match="already used"):
            invitations.accept(who, token)
        db.session.rollback()
    assert fresh(Person, guest_person.id).user_id == kelvin.id


def test_an_expired_link_is_refused(factories, admin, guest_person):
    token = invite(admin, guest_person)
    # The clock moved: the invitation was made 15 days ago.
    db.session.execute(update(Invitation).values(created_at=utcnow() - timedelta(days=15),
                                                 expires_at=utcnow() - timedelta(days=1)))
    db.session.commit()
    kelvin = factories.user("kelvin")
    with pytest.raises(invitations.Unusable, match="expired on"):
        invitations.accept(kelvin, token)
    db.session.rollback()
    assert fresh(Person, guest_person.id).user_id is None
    assert db.session.scalar(select(Invitation)).state() == "expired"


def test_a_revoked_link_is_refused_and_revoking_is_logged(factories, admin, guest_person):
    token = invite(admin, guest_person)
    invitations.revoke(admin, invitations.find(token))
    db.session.commit()
    with pytest.raises(invitations.Unusable, match="withdrawn"):
        invitations.accept(factories.user("kelvin"), token)
    db.session.rollback()
    assert fresh(Person, guest_person.id).user_id is None
    assert log_actions() == ["invitation.create", "invitation.revoke"]
    with pytest.raises(DomainError, match="revoked: there is nothing to revoke"):
        invitations.revoke(admin, invitations.find(token))


def test_a_used_invitation_cannot_be_revoked(factories, admin, guest_person):
    token = invite(admin, guest_person)
    invitations.accept(factories.user("kelvin"), token)
    db.session.commit()
    with pytest.raises(DomainError, match="used"):
        invitations.revoke(admin, invitations.find(token))


@pytest.mark.parametrize("tampered", ["", "x", "not-a-token", "TOKEN_WITH_ONE_CHANGE"])
def test_a_tampered_link_is_not_found(factories, admin, guest_person, tampered):
    token = invite(admin, guest_person)
    if tampered == "TOKEN_WITH_ONE_CHANGE":
        tampered = token[:-1] + ("A" if token[-1] != "A" else "B")
    with pytest.raises(NotFound, match="not valid"):
        invitations.accept(factories.user("kelvin"), tampered)
    db.session.rollback()
    assert fresh(Person, guest_person.id).user_id is None


def test_two_invitations_to_one_person_the_first_accepted_links(factories, admin, guest_person):
    first, second = invite(admin, guest_person, "a@example.org"), invite(admin, guest_person, "b@example.org")
    kelvin, impostor = factories.user("kelvin"), factories.user("impostor")
    invitations.accept(kelvin, second)  # whichever is accepted first
    db.session.commit()
    with pytest.raises(DomainError, match="Kelvin Guu is already linked to another account"):
        invitations.accept(impostor, first)
    db.session.rollback()
    assert fresh(Person, guest_person.id).user_id == kelvin.id
    assert invitations.find(first).state() == "pending"  # the refusal used nothing up
    # The same account may: it changes nothing but uses the invitation up.
    again = invitations.accept(kelvin, first)
    db.session.commit()
    assert not again.linked and fresh(Person, guest_person.id).user_id == kelvin.id
    assert invitations.find(first).state() == "used"


def test_an_account_stands_for_one_person(factories, admin, guest_person):
    factories.episode(8, "Sarah Hong on rendering", guests=[("Sarah Hong", "Latent Space")])
    sarah = db.session.scalar(select(Person).where(Person.name == "Sarah Hong"))
    kelvin = factories.user("kelvin")
    invitations.accept(kelvin, invite(admin, guest_person))
    db.session.commit()
    token = invite(admin, sarah)
    with pytest.raises(DomainError, match="Your account is already linked to Kelvin Guu"):
        invitations.accept(kelvin, token)
    db.session.rollback()
    assert fresh(Person, sarah.id).user_id is None and invitations.find(token).state() == "pending"


def test_two_accepts_of_one_link_at_once_exactly_one_wins(app, factories, admin, guest_person):
    token = invite(admin, guest_person)
    users = [factories.user(f"racer{i}") for i in range(4)]
    user_ids = [u.id for u in users]

    def accept_as(user_id):
        return lambda: invitations.accept(db.session.get(type(users[0]), user_id), token)

    errors = run_concurrently(app, [accept_as(uid) for uid in user_ids])
    assert len(errors) == 3 and all(isinstance(e, DomainError) for e in errors), errors
    # The losers are told the link is used (or, checking the Person after the winner, that it is taken).
    assert all("used" in str(e) or "already linked" in str(e) for e in errors), errors
    db.session.expire_all()
    invitation = db.session.scalar(select(Invitation))
    assert invitation.used_by_id in user_ids
    assert db.session.get(Person, guest_person.id).user_id == invitation.used_by_id
    assert log_actions().count("invitation.accept") == 1


def test_two_invitations_to_one_person_accepted_at_once_link_one_account(app, factories, admin, guest_person):
    tokens = [invite(admin, guest_person) for _ in range(3)]
    users = [factories.user(f"racer{i}") for i in range(3)]
    user_class = type(users[0])

    def accept(user_id, token):
        return lambda: invitations.accept(db.session.get(user_class, user_id), token)

    errors = run_concurrently(app, [accept(u.id, t) for u, t in zip(users, tokens)])
    assert len(errors) == 2 and all(isinstance(e, DomainError) for e in errors), errors
    db.session.expire_all()
    winner = db.session.get(Person, guest_person.id).user_id
    used = list(db.session.scalars(select(Invitation).where(Invitation.used_at.is_not(None))))
    assert len(used) == 1 and used[0].used_by_id == winner  # the losers' invitations stay usable
