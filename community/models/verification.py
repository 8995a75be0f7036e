"""Who someone is, as checked by a machine or a person: the addresses an account confirmed,
the verifications they earned (institution email, ORCID, invitation, moderator), and the
research-lab domains admins add to the shipped university list."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Enum, ForeignKey, Index, String, text
from sqlalchemy.orm import Mapped, mapped_column

from community.models.base import Base, utcnow


class AddressPurpose(str, enum.Enum):
    account = "account"  # the account's own address, waiting to be confirmed (new or a change)
    institutional = "institutional"  # an extra address that can verify an affiliation


class EmailAddress(Base):
    """An address waiting for its confirmation link, or an institutional one (kept once confirmed).

    The account's address itself lives on the users row (users.email, email_confirmed_at); a
    row of purpose `account` exists only while a new account or a change of address waits,
    and goes once confirmed. A confirmation token signs (id, email_key, confirmed_at): once the
    row is confirmed (or re-confirmed, or gone) every link sent for it stops working."""

    __tablename__ = "email_addresses"
    __table_args__ = (
        # Two accounts never hold one confirmed address; pending ones may race (the first to
        # confirm wins, services.emails refuses the other with the reason).
        Index("uq_email_addresses_confirmed_key", "email_key", unique=True,
              sqlite_where=text("confirmed_at IS NOT NULL"), postgresql_where=text("confirmed_at IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(String(254))
    email_key: Mapped[str] = mapped_column(String(254), index=True)
    purpose: Mapped[AddressPurpose] = mapped_column(
        Enum(AddressPurpose, native_enum=False, create_constraint=True, length=20, name="address_purpose"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    confirmed_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]  # the last link mailed: resending waits CONFIRM_RESEND_SECONDS

    @property
    def domain(self) -> str:
        return self.email_key.rpartition("@")[2]


class VerificationKind(str, enum.Enum):
    institution_email = "institution_email"  # a confirmed address on a research institution's domain
    orcid = "orcid"  # an ORCID iD proven by signing in with it
    invitation = "invitation"  # a guest invitation opened by its recipient
    moderator = "moderator"  # granted by hand


# What each kind says on a profile: "Researcher, verified by <how>".
VERIFICATION_HOW = {
    VerificationKind.institution_email: "institution email",
    VerificationKind.orcid: "ORCID",
    VerificationKind.invitation: "invitation",
    VerificationKind.moderator: "a moderator",
}
# The kinds that make a researcher (an invitation makes a guest: the Guest badge says so).
RESEARCHER_KINDS = (VerificationKind.institution_email, VerificationKind.orcid, VerificationKind.moderator)


class Verification(Base):
    """One fact checked about an account, since when and until when. Live while not revoked
    and not past expires_at (None: it does not lapse); read at request time, no cron. The
    users row carries a copy of the live researcher verification for bylines (verified_*)."""

    __tablename__ = "verifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[VerificationKind] = mapped_column(
        Enum(VerificationKind, native_enum=False, create_constraint=True, length=20, name="verification_kind"))
    # What was verified, shown beside the badge: the address's domain ("cs.stanford.edu"), the
    # ORCID iD ("0000-0002-1825-0097"), the invited Person's name, or the moderator's note.
    detail: Mapped[str] = mapped_column(String(255), default="")
    email_address_id: Mapped[int | None] = mapped_column(ForeignKey("email_addresses.id", ondelete="CASCADE"),
                                                         index=True)
    verified_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None]
    granted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    revoked_at: Mapped[datetime | None]
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    def is_live(self, now: datetime | None = None) -> bool:
        now = now or utcnow()
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)


class ResearchDomain(Base):
    """A research lab's mail domain (a company, an institute) that verifies like a university's."""

    __tablename__ = "research_domains"

    id: Mapped[int] = mapped_column(primary_key=True)
    domain: Mapped[str] = mapped_column(String(253), unique=True)
    name: Mapped[str] = mapped_column(String(120), default="")
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
