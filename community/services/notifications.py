"""Creating and reading notifications. Rules: one per (user, event), none for your own
actions, none about posts that are not public, none for suspended users."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import func, select, update
from sqlalchemy.orm import selectinload

from community.extensions import db
from community.models import Notification, NotificationKind, Post, PostStatus, User
from community.models.base import utcnow
from community.services import jobs, mail


def notify(recipients: Iterable[User | int], kind: NotificationKind, *, post: Post | None = None,
           actor: User | None = None, message: str = "", event_key: str = "", about: Post | None = None) -> int:
    """Notify each recipient once; returns how many new notifications were written. `about`:
    the other post the message quotes, if any (Notification.text)."""
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
        prefs = dict(db.session.execute(select(User.id, User.email_prefs).where(live)).all())  # a suspended author still hears why
    else:
        prefs = dict(db.session.execute(select(User.id, User.email_prefs).where(
            live, (User.suspended_until.is_(None)) | (User.suspended_until < now))).all())
    active = set(prefs)
    already = set(db.session.scalars(select(Notification.user_id).where(
        Notification.user_id.in_(active), Notification.kind == kind,
        Notification.post_id == (post.id if post else None), Notification.event_key == event_key)))
    fresh = sorted(active - already)
    created = [Notification(user_id=user_id, kind=kind, post_id=post.id if post else None,
                            actor_id=actor.id if actor else None, message=message[:500],
                            about_id=about.id if about else None,
                            event_key=event_key, created_at=now) for user_id in fresh]
    db.session.add_all(created)
    db.session.flush()
    # One mail job each, in this transaction: mailed once it commits, never if it rolls back.
    for notification in created:
        if (prefs[notification.user_id] or {}).get(kind.value, EMAIL_DEFAULTS[kind]) == "immediately":
            jobs.enqueue("notifications.email", notification_id=notification.id)
    return len(fresh)


def unread_count(user: User) -> int:
    return db.session.scalar(select(func.count(Notification.id)).where(
        Notification.user_id == user.id, Notification.read_at.is_(None)))


def recent(user: User, page: int, per_page: int = 30):
    # Each post's status only (whether its quote may show): one lookup by primary key.
    query = select(Notification).where(Notification.user_id == user.id).order_by(
        Notification.created_at.desc(), Notification.id.desc()).options(
        selectinload(Notification.post).load_only(Post.id, Post.status).raiseload("*"),
        selectinload(Notification.about).load_only(Post.id, Post.status).raiseload("*"))
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
    # What you watch can be busy: once a day unless asked for at once.
    NotificationKind.watching: "daily",
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
    NotificationKind.watching: "New posts in episodes, threads and papers you watch",
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


DIGEST = "digest"  # an unsubscribe scope beside the kinds: the daily digest as a whole


def unsubscribe_label(scope: NotificationKind | str) -> str:
    return "Daily digests" if scope == DIGEST else KIND_LABELS[scope]


def unsubscribe(user: User, scope: NotificationKind | str) -> None:
    """Stop one kind of email, or (DIGEST) every kind the user gets in a daily digest."""
    if scope == DIGEST:
        set_email_prefs(user, {k.value: "none" for k in NotificationKind if email_mode(user, k) == "daily"})
    else:
        set_email_prefs(user, {scope.value: "none"})


def _unsubscribe_serializer():
    from flask import current_app
    from itsdangerous import URLSafeSerializer

    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="unsubscribe")


def unsubscribe_token(user: User, scope: NotificationKind | str) -> str:
    return _unsubscribe_serializer().dumps({"uid": user.id, "kind": scope if scope == DIGEST else scope.value})


def read_unsubscribe_token(token: str) -> tuple[User, NotificationKind | str] | None:
    from itsdangerous import BadSignature

    try:
        data = _unsubscribe_serializer().loads(token)
        user = db.session.get(User, int(data["uid"]))
        kind = DIGEST if data["kind"] == DIGEST else NotificationKind(data["kind"])
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


def _unsubscribe_url(user: User, scope: NotificationKind | str) -> str:
    from flask import url_for

    return url_for("notifications.unsubscribe", token=unsubscribe_token(user, scope), _external=True)


def _message_id(what: str) -> str:
    """Fixed by what the mail is about: a mail sent again (a worker killed after the mail
    server accepted it, before the job was recorded done) carries the same Message-ID."""
    return f"<{what}@{mail.mail_domain()}>"


@jobs.handler("notifications.email")
def email_one(notification_id: int) -> None:
    """Email one notification to a user who wants it immediately; recorded in emailed_at
    in the job's own transaction, so a done job and a mailed notification go together."""
    n = db.session.scalars(select(Notification).where(Notification.id == notification_id)
                           .options(selectinload(Notification.post), selectinload(Notification.about))).one_or_none()
    if n is None or n.emailed_at is not None:
        return  # deleted since (with its account or post), or already mailed
    user = db.session.get(User, n.user_id)
    if user is None or email_mode(user, n.kind) != "immediately":
        return
    text, html = _email_parts(user, [n])
    stamp = int(n.created_at.timestamp())
    mail.deliver(user.email, f"GI Community: {n.text[:80]}", text, html, headers={
        "Message-ID": _message_id(f"notification.{n.id}.{stamp}"),
        **mail.unsubscribe_headers(_unsubscribe_url(user, n.kind))})
    n.emailed_at = utcnow()
    db.session.flush()


def send_digests() -> int:
    """Queue one digest job per user who has unread, un-emailed notifications they get daily;
    returns how many were queued. Each job sends one user's digest and records it as sent
    in its own transaction: a mail server failing for one user delays only that digest
    (retried), and no digest is ever recorded for a user who did not get it, or sent twice."""
    rows = db.session.execute(select(Notification.user_id, Notification.kind).where(
        Notification.emailed_at.is_(None), Notification.read_at.is_(None)).distinct()).all()
    kinds_by_user: dict[int, set[NotificationKind]] = {}
    for user_id, kind in rows:
        kinds_by_user.setdefault(user_id, set()).add(kind)
    queued = 0
    for user_id, kinds in sorted(kinds_by_user.items()):
        user = db.session.get(User, user_id)
        if user is None or user.is_suspended() or not any(email_mode(user, k) == "daily" for k in kinds):
            continue
        jobs.enqueue("notifications.digest", unique_key=f"digest:{user_id}", user_id=user_id)
        queued += 1
    return queued


@jobs.handler("notifications.digest")
def email_digest(user_id: int) -> None:
    """One user's digest: what is still unread and un-emailed when the job runs."""
    user = db.session.get(User, user_id)
    if user is None or user.is_suspended():
        return
    pending = list(db.session.scalars(select(Notification).where(
        Notification.user_id == user_id, Notification.emailed_at.is_(None), Notification.read_at.is_(None))
        .order_by(Notification.created_at, Notification.id).options(selectinload(Notification.post), selectinload(Notification.about))))
    daily = [n for n in pending if email_mode(user, n.kind) == "daily"]
    if not daily:
        return
    text, html = _email_parts(user, daily)
    mail.deliver(user.email, f"GI Community: {len(daily)} new notification{'s' if len(daily) != 1 else ''}",
                 text, html, headers={
                     "Message-ID": _message_id(f"digest.{user_id}.{daily[0].id}.{daily[-1].id}"),
                     **mail.unsubscribe_headers(_unsubscribe_url(user, DIGEST))})
    now = utcnow()
    for n in daily:
        n.emailed_at = now
    db.session.flush()
