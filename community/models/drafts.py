"""Words typed but not yet posted: a logged-in writer's drafts, and submissions that arrived
after their session had ended (kept for the login that follows)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from community.models.base import Base, utcnow


class Draft(Base):
    """One per writer and form. `form_key` is the form's action path (the same key the
    browser's own copy uses); `page` is where that form is shown."""

    __tablename__ = "drafts"
    __table_args__ = (UniqueConstraint("user_id", "form_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    form_key: Mapped[str] = mapped_column(String(300))
    page: Mapped[str] = mapped_column(String(500), default="/")
    fields: Mapped[dict] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class PendingSubmission(Base):
    """A form sent by a browser whose session had ended. Found only by the random token kept
    in that browser's session cookie; it grants nothing: after login its fields come back as
    the writer's draft, to be posted with their own click. Gone after a day."""

    __tablename__ = "pending_submissions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(64), unique=True)
    form_key: Mapped[str] = mapped_column(String(300))
    page: Mapped[str] = mapped_column(String(500), default="/")
    fields: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
