"""The operator console's append-only log: who changed what, with the values before and after."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from community.models.accounts import User
from community.models.base import Base, utcnow


class AdminLogEntry(Base):
    """Never updated or deleted (services.admin_log only inserts): admins read it at /admin/log."""

    __tablename__ = "admin_log"
    __table_args__ = (Index("ix_admin_log_created_at", "created_at"), Index("ix_admin_log_target", "target_type", "target_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    action: Mapped[str] = mapped_column(String(60))  # e.g. "episode.edit", "person.merge", "setting.change"
    target_type: Mapped[str] = mapped_column(String(30), default="")  # "episode", "person", "user", "setting", ...
    target_id: Mapped[str] = mapped_column(String(100), default="")  # a row id or a setting's name
    summary: Mapped[str] = mapped_column(String(500), default="")  # one line a person can read
    before: Mapped[dict | None] = mapped_column(JSON)
    after: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    actor: Mapped[User | None] = relationship(lazy="joined")


class SiteSetting(Base):
    """A policy value an admin changed in the console (services.site_settings declares the
    names, types and bounds); a name without a row has its default from app.config."""

    __tablename__ = "site_settings"

    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[object] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
