"""What the header tells a logged-in reader: unread notifications, and for a guest of the
show the questions waiting for them. One query for both: every logged-in page asks."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from community.extensions import db
from community.models import Notification, Post, User
from community.services import questions


@dataclass(frozen=True)
class HeaderCounts:
    unread: int
    waiting: int


def header_counts(user: User) -> HeaderCounts:
    unread = select(func.count(Notification.id)).where(
        Notification.user_id == user.id, Notification.read_at.is_(None)).scalar_subquery()
    waiting = select(func.count(Post.id)).where(*questions.waiting_filter(user.id)).scalar_subquery()
    row = db.session.execute(select(unread, waiting)).one()
    return HeaderCounts(unread=row[0], waiting=row[1])
