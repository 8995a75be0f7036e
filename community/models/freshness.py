"""Version counters that say when cached pages went stale (see services.freshness)."""

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from community.models.base import Base


class ContentVersion(Base):
    __tablename__ = "content_versions"

    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    version: Mapped[int] = mapped_column(default=0)
