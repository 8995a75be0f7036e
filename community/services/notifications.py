"""Creating and reading notifications. Rules: one per (user, event), none for your own
actions, none about posts that are not public, none for suspended users."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, select, update

from community.extensions import db
from community.models import Notification, NotificationKind, Post, PostStatus, User
from community.models.base import utcnow


def notify(recipients: Iterable[User | int], kind: NotificationKind, *, post: Post | None = None,
           actor: User | None = None, message: str = "", event_key: str = "") -> int:
    """Notify each recipient once; returns how many new notifications were written."""
    if post is not None and post.status != PostStatus.visible and kind != NotificationKind.moderation:
        return 0
    ids = {r if isinstance(r, int) else r.id for r in recipients}
    if actor is not None:
        ids.discard(actor.id)
    if not ids:
        return 0
    now = utcnow()
    if kind == NotificationKind.moderation:
        active = ids  # a suspended author still hears why (that is the receipt)
    else:
        active = set(db.session.scalars(select(User.id).where(
            User.id.in_(ids), (User.suspended_until.is_(None)) | (User.suspended_until < now))))
    already = set(db.session.scalars(select(Notification.user_id).where(
        Notification.user_id.in_(active), Notification.kind == kind,
        Notification.post_id == (post.id if post else None), Notification.event_key == event_key)))
    fresh = sorted(active - already)
    for user_id in fresh:
        db.session.add(Notification(user_id=user_id, kind=kind, post_id=post.id if post else None,
                                    actor_id=actor.id if actor else None, message=message[:500],
                                    event_key=event_key, created_at=now))
    db.session.flush()
    return len(fresh)


def unread_count(user: User) -> int:
    return db.session.scalar(select(func.count(Notification.id)).where(
        Notification.user_id == user.id, Notification.read_at.is_(None)))


def recent(user: User, page: int, per_page: int = 30):
    query = select(Notification).where(Notification.user_id == user.id).order_by(
        Notification.created_at.desc(), Notification.id.desc())
    return db.paginate(query, page=page, per_page=per_page, error_out=False)


def mark_all_read(user: User) -> None:
    db.session.execute(update(Notification).where(
        Notification.user_id == user.id, Notification.read_at.is_(None)).values(read_at=utcnow()))


def mark_read(user: User, notification_id: int) -> Notification | None:
    notification = db.session.get(Notification, notification_id)
    if notification is None or notification.user_id != user.id:
        return None
    if notification.read_at is None:
        notification.read_at = utcnow()
    return notification
