"""What the header tells a logged-in reader: unread notifications, for a guest of the
show the questions waiting for them, for a moderator the size of the queue. One query
for all three: every logged-in page asks."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, literal, select

from community.extensions import db
from community.models import Notification, Post, User
from community.services import moderation, questions


@dataclass(frozen=True)
class HeaderCounts:
    unread: int
    waiting: int
    queue: int = 0  # moderators only


def header_counts(user: User) -> HeaderCounts:
    unread = select(func.count(Notification.id)).where(
        Notification.user_id == user.id, Notification.read_at.is_(None)).scalar_subquery()
    waiting = select(func.count(Post.id)).where(*questions.waiting_filter(user.id)).scalar_subquery()
    queue = moderation.queue_size_query() if user.is_moderator else literal(0)
    row = db.session.execute(select(unread, waiting, queue)).one()
    return HeaderCounts(unread=row[0], waiting=row[1], queue=row[2])
