"""Flags, the review queue, moderator actions with receipts, appeals, and the numbers
behind the dashboard. Every moderator decision writes one ModerationAction (the public
log) and tells the author once."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select, union, update
from sqlalchemy.orm import selectinload

from community.extensions import db
from community.formatting import sentence
from community.models import (
    FLAG_REASON_LABELS, Flag, FlagReason, ModerationAction, NotificationKind, Post, PostKind, PostStatus, Role, User,
)
from community.models.base import utcnow
from community.services import (
    DomainError, PermissionDenied, admin_log, dialect_insert, discussion, notifications, questions, site_settings,
)

FOREVER = datetime(9999, 1, 1, tzinfo=utcnow().tzinfo)

# What a moderator may do to a post or its author; labels are what the log shows.
ACTIONS = {
    "dismiss": "dismissed flags",
    "hide": "hid",
    "remove": "removed",
    "restore": "restored",
    "lock": "locked thread",
    "unlock": "unlocked thread",
    "suspend": "suspended author",
    "ban": "banned author",
    "unsuspend": "lifted suspension",
    "edit": "edited",
}
# The same actions as a moderator chooses them (imperative), in the queue's menu.
ACTION_CHOICES = {
    "dismiss": "Dismiss flags (the post stays)",
    "hide": "Hide (reversible)",
    "remove": "Remove (placeholder stays)",
    "restore": "Restore",
    "lock": "Lock thread",
    "unlock": "Unlock thread",
    "suspend": "Suspend author",
    "ban": "Ban author",
    "unsuspend": "Lift suspension",
}
REASONS = ["Spam", "Off-topic", "Unkind or personal attack", "Misinformation or unsupported claim",
           "Duplicate", "Looks fine", "Other"]


# ---------------------------------------------------------------- flags

def flag_weight(user: User, now: datetime | None = None) -> float:
    """How much one flag counts towards auto-hiding (the threshold is FLAG_THRESHOLD)."""
    if user.role in (Role.moderator, Role.admin):
        return float(site_settings.value("FLAG_THRESHOLD"))
    if user.role in (Role.researcher, Role.guest, Role.host):
        return site_settings.value("FLAG_WEIGHT_TRUSTED")
    young = (now or utcnow()) - user.created_at < timedelta(days=site_settings.value("FLAG_NEW_MEMBER_DAYS"))
    return site_settings.value("FLAG_WEIGHT_NEW_MEMBER" if young else "FLAG_WEIGHT_MEMBER")


def ensure_can_flag(user: User) -> None:
    discussion.ensure_can_write(user)
    if user.role == Role.member:
        min_age = timedelta(hours=site_settings.value("FLAG_MIN_ACCOUNT_AGE_HOURS"))
        if utcnow() - user.created_at < min_age:
            raise PermissionDenied(f"New accounts can flag after their first day: you can from "
                                   f"{user.created_at + min_age:%Y-%m-%d %H:%M} UTC. Thanks for looking out, though!")


def flag(actor: User, post: Post, reason: FlagReason, note: str = "") -> Flag:
    ensure_can_flag(actor)
    note = " ".join((note or "").split())
    if post.author_id == actor.id:
        raise DomainError("You cannot flag your own post; edit or delete it instead.")
    if not post.is_live:
        raise DomainError("This post is already with the moderators.")
    if reason == FlagReason.other and not note:
        raise DomainError("Say what is wrong in a short note.")
    weight = 0.0 if reason == FlagReason.citation else flag_weight(actor)
    # ON CONFLICT DO NOTHING: the unique (user, post) constraint decides races, and no
    # savepoint is needed (see discussion.set_vote for why that matters on SQLite).
    flag_id = db.session.execute(dialect_insert(Flag).values(
        user_id=actor.id, post_id=post.id, reason=reason, note=note[:500], weight=weight, created_at=utcnow()
    ).on_conflict_do_nothing(index_elements=["user_id", "post_id"]).returning(Flag.id)).scalar()
    if flag_id is None:
        raise DomainError("You have already flagged this post.")
    new = db.session.get(Flag, flag_id)
    if reason == FlagReason.citation:
        # A gentle request for a source: the author hears about it, nothing is hidden.
        notifications.notify([post.author_id], NotificationKind.citation, post=post, actor=None,
                             message="A reader asks for a citation or source for a claim in your post.",
                             event_key=f"citation:{new.id}")
        return new
    db.session.execute(update(Post).where(Post.id == post.id).values(
        flag_count=Post.flag_count + 1, flag_weight=Post.flag_weight + weight))
    db.session.refresh(post, ["flag_count", "flag_weight", "status"])
    if post.status == PostStatus.visible and post.flag_weight >= site_settings.value("FLAG_THRESHOLD"):
        _auto_hide(post)
    db.session.flush()
    return new


def _auto_hide(post: Post) -> None:
    reasons = sorted({FLAG_REASON_LABELS[f.reason] for f in open_flags([post.id]).get(post.id, [])})
    post.status = PostStatus.hidden
    post.status_reason = "hidden until a moderator reviews it (flagged: " + ", ".join(reasons) + ")"
    action = ModerationAction(moderator_id=None, action="auto_hide", post_id=post.id, target_user_id=post.author_id,
                              reason=post.status_reason)
    db.session.add(action)
    db.session.flush()
    notifications.notify([post.author_id], NotificationKind.moderation, post=post,
                         message=f"Your post was {sentence(post.status_reason)} You can appeal from the post's page.",
                         event_key=f"action:{action.id}")


def withdraw_flag(actor: User, post: Post) -> None:
    existing = db.session.scalar(select(Flag).where(Flag.user_id == actor.id, Flag.post_id == post.id,
                                                    Flag.resolved_at.is_(None)))
    if existing is None:
        raise DomainError("You have no open flag on this post.")
    if existing.reason != FlagReason.citation:
        db.session.execute(update(Post).where(Post.id == post.id).values(
            flag_count=Post.flag_count - 1, flag_weight=Post.flag_weight - existing.weight))
    db.session.delete(existing)
    db.session.flush()


def open_flags(post_ids: list[int]) -> dict[int, list[Flag]]:
    if not post_ids:
        return {}
    found: dict[int, list[Flag]] = {}
    query = select(Flag).where(Flag.post_id.in_(post_ids), Flag.resolved_at.is_(None)).order_by(Flag.created_at)
    for f in db.session.scalars(query):
        found.setdefault(f.post_id, []).append(f)
    return found


def my_flag(user: User | None, post: Post) -> Flag | None:
    if user is None or not user.is_authenticated:
        return None
    return db.session.scalar(select(Flag).where(Flag.user_id == user.id, Flag.post_id == post.id,
                                                Flag.resolved_at.is_(None)))


# ---------------------------------------------------------------- actions

def _require_moderator(actor: User) -> None:
    if not actor.is_moderator:
        raise PermissionDenied("Only moderators can do that.")


def thread_locked(post: Post) -> bool:
    root = post if post.root_id in (None, post.id) else db.session.get(Post, post.root_id)
    return bool(root and root.locked)


def applicable_actions(post: Post, locked: bool) -> list[str]:
    """The actions that change something for this post in its state, in ACTION_CHOICES'
    order (no Restore on a live post, no Unlock on an open thread, no Lift suspension for
    an author who is not suspended). `locked`: whether its thread is."""
    status, author = post.status, post.author
    open_item = post.flag_count > 0 or (post.appealed_at is not None and post.appeal_resolved_at is None)
    applies = {
        "dismiss": open_item,
        "hide": status in (PostStatus.visible, PostStatus.pending),
        "remove": status in (PostStatus.visible, PostStatus.pending, PostStatus.hidden),
        "restore": status in (PostStatus.pending, PostStatus.hidden, PostStatus.removed),
        "lock": not locked,
        "unlock": locked,
        "suspend": not author.is_moderator and not author.is_suspended(),
        "ban": not author.is_moderator and author.suspended_until != FOREVER,
        "unsuspend": author.is_suspended(),
    }
    return [action for action in ACTION_CHOICES if applies[action]]


# Why an action that does not apply is refused (applicable_actions says which apply).
_DOES_NOT_APPLY = {
    "dismiss": "There are no open flags or appeal to dismiss on this post.",
    "hide": "This post is not public: there is nothing to hide.",
    "remove": "This post is already gone (removed by moderators or deleted by its author).",
    "restore": "This post is already public: there is nothing to restore.",
    "lock": "This thread is already locked.",
    "unlock": "This thread is not locked.",
    "suspend": "The author cannot be suspended: a moderator or admin, or suspended already.",
    "ban": "The author cannot be banned: a moderator or admin, or banned already.",
    "unsuspend": "The author is not suspended.",
}


def act(actor: User, post: Post, action: str, reason: str, days: int | None = None) -> ModerationAction:
    """One moderator decision on a post (or its author): applied, logged once, author told
    once. The queue, its bulk form and the menu on each post all come here."""
    _require_moderator(actor)
    reason = " ".join((reason or "").split())
    if action not in ACTIONS or action == "edit":
        raise DomainError("Choose an action.")
    if action not in applicable_actions(post, thread_locked(post)):
        raise DomainError(_DOES_NOT_APPLY[action])
    if not reason:
        raise DomainError("Every action needs a reason: the author and the public log see it.")
    author = post.author
    target_user = None
    was_pending = post.status == PostStatus.pending
    if action == "dismiss":
        if post.status == PostStatus.hidden and post.appealed_at is None and post.status_reason and \
                post.status_reason.startswith("hidden until a moderator"):
            post.status, post.status_reason = PostStatus.visible, None
    elif action in ("hide", "remove"):
        post.status = PostStatus.hidden if action == "hide" else PostStatus.removed
        post.status_reason = reason
    elif action == "restore":
        post.status, post.status_reason = PostStatus.visible, None
    elif action in ("lock", "unlock"):
        root = db.session.get(Post, post.root_id) or post
        root.locked = action == "lock"
    elif action in SUSPENSIONS:
        target_user = author
        _suspend(author, action, reason, days)
    _resolve(post)
    if post.kind == PostKind.question and post.status == PostStatus.visible and post.stage == questions.OPEN:
        questions.tell_guests(post)  # a question held for a moderator reaches the guests once let through
    if was_pending and post.status == PostStatus.visible:
        discussion.announce_approved(post)  # after the guests: nobody is told twice
    record = ModerationAction(moderator_id=actor.id, action=action, post_id=post.id, target_user_id=author.id,
                              reason=reason + (f" ({days} days)" if action == "suspend" else ""))
    db.session.add(record)
    db.session.flush()
    notifications.notify([author.id], NotificationKind.moderation, post=post, actor=actor,
                         message=_outcome_message(action, reason, author, target_user), event_key=f"action:{record.id}")
    return record


SUSPENSIONS = ("suspend", "ban", "unsuspend")


def _suspend(user: User, action: str, reason: str, days: int | None) -> None:
    """The one place an account's suspension changes (from a post in the queue, or from
    the console's user page: suspend_user)."""
    if user.is_moderator and action != "unsuspend":
        raise DomainError("Moderators and admins cannot be suspended here; ask an admin to change the role first.")
    if action == "suspend":
        if not days or days < 1:
            raise DomainError("Choose how many days the suspension lasts.")
        user.suspended_until = utcnow() + timedelta(days=days)
    elif action == "ban":
        user.suspended_until = FOREVER
    else:
        user.suspended_until = None
    user.suspension_reason = reason if action != "unsuspend" else None


def suspend_user(actor: User, user: User, action: str, reason: str, days: int | None = None) -> ModerationAction:
    """Suspend, ban or lift a suspension from the console (no post involved): the same rule,
    the same public log entry and notice to the account as from the queue, plus the
    console's admin-log row."""
    _require_moderator(actor)
    reason = " ".join((reason or "").split())
    if action not in SUSPENSIONS:
        raise DomainError("Choose suspend, ban or lift the suspension.")
    if not reason:
        raise DomainError("Every action needs a reason: the account and the public log see it.")
    if action == "unsuspend" and not user.is_suspended():
        raise DomainError(f"@{user.username} is not suspended.")
    before = {"suspended_until": user.suspended_until.isoformat() if user.suspended_until else None}
    _suspend(user, action, reason, days)
    record = ModerationAction(moderator_id=actor.id, action=action, target_user_id=user.id,
                              reason=reason + (f" ({days} days)" if action == "suspend" else ""))
    db.session.add(record)
    db.session.flush()
    message = (f"Your suspension was lifted: {reason}" if action == "unsuspend"
               else _outcome_message(action, reason, user, user))
    notifications.notify([user.id], NotificationKind.moderation, actor=actor, message=message,
                         event_key=f"action:{record.id}")
    admin_log.record(actor, f"user.{action}", target_type="user", target_id=user.id,
                     summary=f"{ACTIONS[action].replace(' author', '').capitalize()} @{user.username}: {record.reason}",
                     before=before,
                     after={"suspended_until": user.suspended_until.isoformat() if user.suspended_until else None})
    return record


def _outcome_message(action: str, reason: str, author: User, target_user: User | None) -> str:
    if action in ("suspend", "ban"):
        until = "for good" if author.suspended_until == FOREVER else f"until {author.suspended_until:%Y-%m-%d %H:%M} UTC"
        return f"Your account is suspended {until}: {reason}"
    return f"Moderators {ACTIONS[action]} your post: {reason}"


def _resolve(post: Post) -> None:
    """The post leaves the queue: open flags and any appeal are settled."""
    now = utcnow()
    db.session.execute(update(Flag).where(Flag.post_id == post.id, Flag.resolved_at.is_(None)).values(resolved_at=now))
    post.flag_count, post.flag_weight = 0, 0.0
    if post.appealed_at is not None and post.appeal_resolved_at is None:
        post.appeal_resolved_at = now


def log_edit(actor: User, post: Post, reason: str = "edited by a moderator") -> None:
    """A moderator's edit of someone else's post: logged and told like any action."""
    if actor.id == post.author_id:
        return
    record = ModerationAction(moderator_id=actor.id, action="edit", post_id=post.id, target_user_id=post.author_id,
                              reason=reason)
    db.session.add(record)
    db.session.flush()
    notifications.notify([post.author_id], NotificationKind.moderation, post=post, actor=actor,
                         message="A moderator edited your post; the earlier text is in its history.",
                         event_key=f"action:{record.id}")


def appeal(actor: User, post: Post, text: str) -> None:
    """Once per post, by its author, while it is hidden or removed."""
    if post.author_id != actor.id:
        raise PermissionDenied("Only the author can appeal.")
    if post.status not in (PostStatus.hidden, PostStatus.removed):
        raise DomainError("Only hidden or removed posts can be appealed.")
    if post.appealed_at is not None:
        raise DomainError("You have already appealed this decision.")
    text = " ".join((text or "").split())
    if not text:
        raise DomainError("Say briefly why the decision should change.")
    post.appeal_note = text[:1000]
    post.appealed_at = utcnow()
    db.session.flush()


def revise_for_review(actor: User, post: Post, body: str) -> None:
    """The author of a hidden or removed post rewrites it (adds the source a moderator asked
    for, say): the old text is kept in its history and the post goes back to the moderators'
    queue, as an appeal with the new text, still unpublished until one of them restores it."""
    discussion.ensure_can_write(actor)
    if post.author_id != actor.id:
        raise PermissionDenied("Only the author can revise a post for review.")
    if post.status not in (PostStatus.hidden, PostStatus.removed):
        raise DomainError("Only a hidden or removed post goes back for review; edit a public one directly.")
    discussion.replace_body(actor, post, body)
    post.appeal_note = "Revised by the author for review."
    post.appealed_at, post.appeal_resolved_at = utcnow(), None
    db.session.flush()


# ---------------------------------------------------------------- queue

@dataclass
class QueueRow:
    post: Post
    flags: list[Flag]
    parent: Post | None
    history: list[ModerationAction]
    is_appeal: bool
    account_age_days: int
    reasons: list[str] = field(default_factory=list)
    actions: list[str] = field(default_factory=list)  # applicable_actions: only those are offered


def queue(reason: str | None = None, kind: str | None = None, limit: int = 100) -> list[QueueRow]:
    """Flagged, pending and appealed posts: highest flag weight first, then oldest. Six queries."""
    query = select(Post).where(Post.id.in_(_queue_ids())).options(selectinload(Post.episode))
    if kind in {k.value for k in PostKind}:
        query = query.where(Post.kind == PostKind(kind))
    if reason in {r.value for r in FlagReason}:
        query = query.where(Post.id.in_(select(Flag.post_id).where(Flag.reason == FlagReason(reason),
                                                                   Flag.resolved_at.is_(None))))
    posts = list(db.session.scalars(query.order_by(Post.flag_weight.desc(), Post.created_at.asc(), Post.id).limit(limit)))
    flags = open_flags([p.id for p in posts])
    parent_ids = {p.parent_id for p in posts if p.parent_id}
    parents = {p.id: p for p in db.session.scalars(select(Post).where(Post.id.in_(parent_ids)))} if parent_ids else {}
    author_ids = {p.author_id for p in posts}
    history: dict[int, list[ModerationAction]] = {}
    if author_ids:
        for record in db.session.scalars(select(ModerationAction).where(ModerationAction.target_user_id.in_(author_ids))
                                          .order_by(ModerationAction.created_at.desc())):
            history.setdefault(record.target_user_id, []).append(record)
    root_ids = {p.root_id or p.id for p in posts}
    locked = set(db.session.scalars(select(Post.id).where(Post.id.in_(root_ids), Post.locked))) if root_ids else set()
    now = utcnow()
    return [QueueRow(post=p, flags=flags.get(p.id, []), parent=parents.get(p.parent_id),
                     history=history.get(p.author_id, [])[:5],
                     is_appeal=p.appealed_at is not None and p.appeal_resolved_at is None,
                     account_age_days=(now - p.author.created_at).days,
                     reasons=sorted({FLAG_REASON_LABELS[f.reason] for f in flags.get(p.id, [])}),
                     actions=applicable_actions(p, (p.root_id or p.id) in locked))
            for p in posts]


def _queue_ids():
    """Flagged, pending or appealed: a union of three index lookups (an OR would scan posts)."""
    return union(
        select(Post.id).where(Post.flag_count > 0),
        select(Post.id).where(Post.status == PostStatus.pending),
        select(Post.id).where(Post.appealed_at.is_not(None), Post.appeal_resolved_at.is_(None)),
    )


def queue_size_query():
    """How many items wait in the queue, as a scalar subquery (the header asks it with its other counts)."""
    return select(func.count()).select_from(_queue_ids().subquery()).scalar_subquery()


def queue_size() -> int:
    return db.session.scalar(select(queue_size_query()))


def log_page(page: int, action: str | None = None, per_page: int = 50):
    query = select(ModerationAction)
    if action:
        query = query.where(ModerationAction.action == action)
    return db.paginate(query.order_by(ModerationAction.created_at.desc(), ModerationAction.id.desc()),
                       page=page, per_page=per_page, error_out=False)


# ---------------------------------------------------------------- dashboard

@dataclass
class Dashboard:
    open_items: int
    median_hours_to_resolution: float | None
    flags_per_day: list[tuple[str, int]]
    actions_by_type: list[tuple[str, int]]


def dashboard(now: datetime | None = None) -> Dashboard:
    now = now or utcnow()
    since = now - timedelta(days=30)
    resolved = db.session.execute(select(Flag.created_at, Flag.resolved_at).where(
        Flag.resolved_at.is_not(None), Flag.resolved_at >= now - timedelta(days=90))).all()
    durations = [(r - c).total_seconds() / 3600 for c, r in resolved]
    created = db.session.scalars(select(Flag.created_at).where(Flag.created_at >= since)).all()
    per_day: dict[str, int] = {(since + timedelta(days=i + 1)).strftime("%m-%d"): 0 for i in range(30)}
    for moment in created:
        key = moment.strftime("%m-%d")
        if key in per_day:
            per_day[key] += 1
    by_type = db.session.execute(select(ModerationAction.action, func.count(ModerationAction.id))
                                 .group_by(ModerationAction.action).order_by(func.count(ModerationAction.id).desc())).all()
    return Dashboard(open_items=queue_size(),
                     median_hours_to_resolution=round(statistics.median(durations), 1) if durations else None,
                     flags_per_day=list(per_day.items()), actions_by_type=[(a, n) for a, n in by_type])

