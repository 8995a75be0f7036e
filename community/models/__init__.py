"""Every model, importable from one place (Alembic reads the metadata from here)."""

from community.models.accounts import Role, User, UserSession
from community.models.base import Base
from community.models.episodes import Appearance, AppearanceRole, Episode, Person

__all__ = ["Appearance", "AppearanceRole", "Base", "Episode", "Person", "Role", "User", "UserSession"]
