"""Every model, importable from one place (Alembic reads the metadata from here)."""

from community.models.accounts import Role, User, UserSession
from community.models.admin import AdminLogEntry, SiteSetting
from community.models.base import Base
from community.models.discussion import Post, PostKind, PostStatus, Revision, ThreadVisit, Vote
from community.models.drafts import Draft, PendingSubmission
from community.models.episodes import Appearance, AppearanceRole, Episode, Follow, Person
from community.models.feeds import FeedSource
from community.models.freshness import ContentVersion, RateCounter
from community.models.invitations import Invitation
from community.models.jobs import Job, JobStatus
from community.models.moments import Moment
from community.models.moderation import FLAG_REASON_LABELS, Flag, FlagReason, ModerationAction
from community.models.notifications import Notification, NotificationKind
from community.models.papers import MetadataStatus, Paper
from community.models.transcripts import TranscriptRevision, TranscriptSegment
from community.models.verification import (
    AddressPurpose, EmailAddress, ResearchDomain, Verification, VerificationKind,
)
from community.models import search  # noqa: E402,F401  (search indexes and FTS tables join the metadata)

__all__ = [
    "FLAG_REASON_LABELS", "AdminLogEntry", "Appearance", "AppearanceRole", "Base", "ContentVersion", "Draft", "Flag", "FlagReason", "Follow", "Episode", "FeedSource", "Invitation", "Job", "JobStatus", "MetadataStatus", "Moment", "ModerationAction", "Notification", "NotificationKind",
    "Paper", "PendingSubmission", "Person", "Post", "PostKind", "PostStatus", "RateCounter",
    "Revision", "Role", "SiteSetting", "ThreadVisit", "TranscriptRevision", "TranscriptSegment", "User", "UserSession",
    "Vote", "AddressPurpose", "EmailAddress", "ResearchDomain", "Verification", "VerificationKind",
]
