"""Episodes of the show, the people on them, and who appeared where."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import JSON, Enum, ForeignKey, Integer, String, Text, UniqueConstraint, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from community.models.accounts import User
from community.models.base import Base, utcnow


class Episode(Base):
    __tablename__ = "episodes"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[int | None] = mapped_column(Integer, index=True)
    slug: Mapped[str] = mapped_column(String(120), unique=True)
    title: Mapped[str] = mapped_column(String(500))
    published_at: Mapped[datetime | None] = mapped_column(index=True)
    summary: Mapped[str] = mapped_column(Text, default="")
    show_notes_html: Mapped[str] = mapped_column(Text, default="")
    audio_url: Mapped[str | None] = mapped_column(String(2000))
    duration_seconds: Mapped[int | None]
    feed_guid: Mapped[str | None] = mapped_column(String(1000))
    # The importer's identity of the item (guid, else enclosure, link, title+date): see feed_parser.
    feed_identity: Mapped[str | None] = mapped_column(String(1000), unique=True)
    source_link: Mapped[str | None] = mapped_column(String(2000))
    image_url: Mapped[str | None] = mapped_column(String(2000))  # itunes:image, else the show's image
    # "Listen on" links for this episode: [{"label": "Spotify", "url": "https://..."}]
    listen_links: Mapped[list[dict]] = mapped_column(JSON, default=list, server_default="[]")
    # podcast:chapters: where they came from and the parsed list [{"start": 0.0, "title": "...", "url": ...}]
    chapters_url: Mapped[str | None] = mapped_column(String(2000))
    chapters: Mapped[list[dict]] = mapped_column(JSON, default=list, server_default="[]")
    # podcast:transcript, stored for the transcript work (not fetched on import)
    transcript_url: Mapped[str | None] = mapped_column(String(2000))
    transcript_type: Mapped[str | None] = mapped_column(String(100))
    transcript_language: Mapped[str | None] = mapped_column(String(35))
    # The number of the transcript revision shown (services.transcripts), None without one.
    transcript_revision: Mapped[int | None]
    # An unpublished episode is seen only in the console: lists, pages, feeds and the API leave it out.
    is_published: Mapped[bool] = mapped_column(default=True, server_default=true(), index=True)
    # Title, summary, guests and show notes as plain text: what full-text search indexes.
    search_text: Mapped[str] = mapped_column(Text, default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    appearances: Mapped[list[Appearance]] = relationship(
        back_populates="episode", cascade="all, delete-orphan", lazy="raise", order_by="Appearance.position"
    )

    @property
    def label(self) -> str:
        return f"#{self.number}" if self.number is not None else ""

    def people(self, role: AppearanceRole) -> list[Person]:
        return [a.person for a in self.appearances if a.role == role]

    @property
    def guests(self) -> list[Person]:
        return self.people(AppearanceRole.guest)

    @property
    def hosts(self) -> list[Person]:
        return self.people(AppearanceRole.host)

    @property
    def guest_user_ids(self) -> set[int]:
        """Accounts of this episode's guests: they get the Guest badge and answer its questions."""
        return {p.user_id for p in self.guests if p.user_id}


class Person(Base):
    """Someone on the show; linked to a User when they have an account here."""

    __tablename__ = "people"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    name_key: Mapped[str] = mapped_column(String(200), unique=True)
    affiliation: Mapped[str] = mapped_column(String(300), default="")
    links: Mapped[list[str]] = mapped_column(JSON, default=list)
    image_url: Mapped[str | None] = mapped_column(String(2000))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), unique=True)

    user: Mapped[User | None] = relationship(lazy="raise")
    appearances: Mapped[list[Appearance]] = relationship(back_populates="person", lazy="raise")


class AppearanceRole(str, enum.Enum):
    guest = "guest"
    host = "host"
    cohost = "cohost"


class Appearance(Base):
    __tablename__ = "appearances"
    __table_args__ = (UniqueConstraint("episode_id", "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    episode_id: Mapped[int] = mapped_column(ForeignKey("episodes.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    role: Mapped[AppearanceRole] = mapped_column(
        Enum(AppearanceRole, native_enum=False, create_constraint=True, length=10, name="appearance_role")
    )
    position: Mapped[int] = mapped_column(default=0)

    episode: Mapped[Episode] = relationship(back_populates="appearances", lazy="raise")
    person: Mapped[Person] = relationship(back_populates="appearances", lazy="joined")


class Follow(Base):
    """A user following a person: they hear of each new episode with that guest."""

    __tablename__ = "follows"
    __table_args__ = (UniqueConstraint("user_id", "person_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
