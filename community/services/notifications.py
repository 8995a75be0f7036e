"""Creating and reading notifications. Rules: one per (user, event), none for your own
actions, none about posts that are not public, none for suspended users."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, select, update
from sqlalchemy.orm import selectinload

from community.extensions import db
from community.models import Notification, NotificationKind, Post, PostStatus, User
from community.models.base import utcnow
from community.services import mail


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
    live = User.id.in_(ids) & User.deleted_at.is_(None)  # a deleted account hears nothing
    if kind == NotificationKind.moderation:
        active = set(db.session.scalars(select(User.id).where(live)))  # a suspended author still hears why
    else:
        active = set(db.session.scalars(select(User.id).where(
            live, (User.suspended_until.is_(None)) | (User.suspended_until < now))))
    already = set(db.session.scalars(select(Notification.user_id).where(
        Notification.user_id.in_(active), Notification.kind == kind,
        Notification.post_id == (post.id if post else None), Notification.event_key == event_key)))
    fresh = sorted(active - already)
    created = [Notification(user_id=user_id, kind=kind, post_id=post.id if post else None,
                            actor_id=actor.id if actor else None, message=message[:500],
                            event_key=event_key, created_at=now) for user_id in fresh]
    db.session.add_all(created)
    db.session.flush()
    # Emailed once the request's transaction commits (never for one that rolls back).
    db.session.info.setdefault("notifications_to_mail", []).extend(n.id for n in created)
    return len(fresh)


def unread_count(user: User) -> int:
    return db.session.scalar(select(func.count(Notification.id)).where(
        Notification.user_id == user.id, Notification.read_at.is_(None)))


def recent(user: User, page: int, per_page: int = 30):
    # Each post's status only (whether its quote may show): one lookup by primary key.
    query = select(Notification).where(Notification.user_id == user.id).order_by(
        Notification.created_at.desc(), Notification.id.desc()).options(
        selectinload(Notification.post).load_only(Post.id, Post.status).raiseload("*"))
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


# ---------------------------------------------------------------- email

EMAIL_MODES = ("none", "immediately", "daily")
EMAIL_DEFAULTS = {
    NotificationKind.reply: "immediately",
    NotificationKind.mention: "immediately",
    NotificationKind.answer: "immediately",
    NotificationKind.moderation: "immediately",
    NotificationKind.citation: "immediately",
    NotificationKind.merged: "daily",
    NotificationKind.episode: "daily",
    # A guest hears of each new question in the daily digest unless they ask for it at once.
    NotificationKind.question: "daily",
}
KIND_LABELS = {
    NotificationKind.reply: "Replies to your posts",
    NotificationKind.mention: "Mentions of @you",
    NotificationKind.answer: "Answers to questions you asked or upvoted",
    NotificationKind.merged: "Your question merged into another",
    NotificationKind.moderation: "Moderation decisions about your posts",
    NotificationKind.citation: "Requests for a citation",
    NotificationKind.episode: "New episodes with guests you follow",
    NotificationKind.question: "New questions on episodes you were a guest on",
}


def email_mode(user: User, kind: NotificationKind) -> str:
    return (user.email_prefs or {}).get(kind.value, EMAIL_DEFAULTS[kind])


def set_email_prefs(user: User, prefs: dict[str, str]) -> None:
    clean = {}
    for kind in NotificationKind:
        mode = prefs.get(kind.value, email_mode(user, kind))
        if mode not in EMAIL_MODES:
            raise ValueError(f"unknown email mode {mode!r}")
        clean[kind.value] = mode
    user.email_prefs = clean
    db.session.flush()


def _unsubscribe_serializer():
    from flask import current_app
    from itsdangerous import URLSafeSerializer

    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="unsubscribe")


def unsubscribe_token(user: User, kind: NotificationKind) -> str:
    return _unsubscribe_serializer().dumps({"uid": user.id, "kind": kind.value})


def read_unsubscribe_token(token: str) -> tuple[User, NotificationKind] | None:
    from itsdangerous import BadSignature

    try:
        data = _unsubscribe_serializer().loads(token)
        user = db.session.get(User, int(data["uid"]))
        kind = NotificationKind(data["kind"])
    except (BadSignature, KeyError, ValueError, TypeError):
        return None
    return (user, kind) if user is not None else None


def _target_url(notification: Notification) -> str:
    from flask import url_for

    if notification.post_id:
        return url_for("discussion.permalink", post_id=notification.post_id, _external=True,
                       _anchor=f"c{notification.post_id}")
    return url_for("notifications.index", _external=True)


def _email_parts(user: User, items: list[Notification]) -> tuple[str, str]:
    """Plain text (math kept as its LaTeX source, readable anywhere) and HTML."""
    from html import escape

    from flask import render_template, url_for

    lines = []
    for n in items:
        lines.append(f"- {n.text}")
        if n.post is not None and n.post.is_live and n.post.body_source:
            lines.append("  " + " ".join(n.post.body_source.split())[:400])
        lines.append(f"  {_target_url(n)}")
    kinds = sorted({n.kind for n in items}, key=lambda k: k.value)
    unsubscribe = [f"Stop these emails ({KIND_LABELS[k].lower()}): "
                   f"{url_for('notifications.unsubscribe', token=unsubscribe_token(user, k), _external=True)}"
                   for k in kinds]
    text = "\n".join([f"Hello {user.name},", "", *lines, "", "Change what we email you: "
                      + url_for("notifications.settings", _external=True), *unsubscribe, ""])
    html = render_template("notifications/email.html", user=user, items=items, target=_target_url,
                           unsubscribe=[(KIND_LABELS[k], url_for('notifications.unsubscribe',
                                                                 token=unsubscribe_token(user, k), _external=True))
                                        for k in kinds], escape=escape)
    return text, html


def deliver(notification_ids: list[int]) -> int:
    """Email the given notifications to users who want them immediately; returns mails sent."""
    sent = 0
    items = list(db.session.scalars(select(Notification).where(
        Notification.id.in_(notification_ids), Notification.emailed_at.is_(None)).options(selectinload(Notification.post))))
    for n in items:
        user = db.session.get(User, n.user_id)
        if user is None or email_mode(user, n.kind) != "immediately":
            continue
        text, html = _email_parts(user, [n])
        mail.send(user.email, f"GI Community: {n.text[:80]}", text, html)
        n.emailed_at = utcnow()
        sent += 1
    db.session.commit()
    return sent


def send_digests() -> int:
    """One email per user gathering the unread, un-emailed notifications they get daily."""
    pending = list(db.session.scalars(select(Notification).where(
        Notification.emailed_at.is_(None), Notification.read_at.is_(None)).order_by(Notification.created_at)
        .options(selectinload(Notification.post))))
    by_user: dict[int, list[Notification]] = {}
    for n in pending:
        by_user.setdefault(n.user_id, []).append(n)
    sent = 0
    for user_id, items in by_user.items():
        user = db.session.get(User, user_id)
        daily = [n for n in items if email_mode(user, n.kind) == "daily"]
        if not daily or user.is_suspended():
            continue
        text, html = _email_parts(user, daily)
        mail.send(user.email, f"GI Community: {len(daily)} new notification{'s' if len(daily) != 1 else ''}", text, html)
        for n in daily:
            n.emailed_at = utcnow()
        # Recorded as soon as it is sent: if the mail server fails for a later user, the
        # next run mails only those still waiting, never this digest a second time.
        db.session.commit()
        sent += 1
    return sent
