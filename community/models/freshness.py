"""Version counters that say when cached pages went stale (see services.freshness), and
rate-limit counters (see shared_state)."""

from sqlalchemy import Float, String
from sqlalchemy.orm import Mapped, mapped_column

from community.models.base import Base


class ContentVersion(Base):
    __tablename__ = "content_versions"

    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    version: Mapped[int] = mapped_column(default=0)


class RateCounter(Base):
    """A rate-limit counter (fixed window) kept in the database when Redis is not
    configured or is down, so every worker and host counts against one budget."""

    __tablename__ = "rate_counters"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    count: Mapped[int] = mapped_column(default=0)
    expires_at: Mapped[float] = mapped_column(Float, index=True)  # Unix time: the same on every dialect
