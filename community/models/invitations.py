"""Invitations that link an account to a Person of the show (a guest): single use, 14 days."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from community.models.accounts import User
from community.models.base import Base, utcnow
from community.models.episodes import Person

PENDING, USED, EXPIRED, REVOKED = "pending", "used", "expired", "revoked"


class Invitation(Base):
    """Only a hash of the token is kept: the link carries the token itself, so a copy of the
    database (a backup, a leaked dump) holds no working link."""

    __tablename__ = "invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    email: Mapped[str | None] = mapped_column(String(254))  # where the link was mailed, if it was
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]
    used_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    revoked_at: Mapped[datetime | None]
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    person: Mapped[Person] = relationship(lazy="joined")
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id], lazy="joined")
    used_by: Mapped[User | None] = relationship(foreign_keys=[used_by_id], lazy="joined")
    revoked_by: Mapped[User | None] = relationship(foreign_keys=[revoked_by_id], lazy="joined")

    def state(self, now: datetime | None = None) -> str:
        """Used and revoked are facts; expired is the clock's (a used invitation stays used)."""
        if self.used_at is not None:
            return USED
        if self.revoked_at is not None:
            return REVOKED
        return EXPIRED if self.expires_at <= (now or utcnow()) else PENDING
