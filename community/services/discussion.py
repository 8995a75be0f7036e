"""Threaded discussion: posting, replying, editing, deleting, voting, and reading threads."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.orm import defer, joinedload

from community import markup
from community.extensions import db
from community.models import (
    Episode, NotificationKind, Post, PostKind, PostStatus, Revision, Role, ThreadVisit, User, Vote,
)
from community.models.base import utcnow
from community.services import (
    DomainError, NotFound, PermissionDenied, dialect_insert, notifications, site_settings, watching,
)

MAX_DEPTH = 8  # deeper replies continue on the parent's permalink
MAX_BODY = 20_000
EDIT_WINDOW = timedelta(hours=2)
SORTS = ("best", "newest", "oldest")


def ensure_can_write(actor: User) -> None:
    if actor.is_suspended():
        until = actor.suspended_until.strftime("%Y-%m-%d %H:%M UTC")
        raise PermissionDenied(
            f"Your account is suspended {'for good' if actor.suspended_until.year == 9999 else 'until ' + until}: you "
            f"can read but not post, vote or flag (the moderators' reason: {actor.suspension_reason or 'not given'}).")


def render_body(source: str) -> tuple[str, set[int]]:
    """Markdown -> HTML with @mentions of real accounts linked; returns the mentioned user ids."""
    candidates = markup.mention_candidates(source)
    users = {}
    if candidates:
        users = {key: uid for key, uid in db.session.execute(
            select(User.username_key, User.id).where(User.username_key.in_(candidates)))}
    return markup.render(source, set(users)), set(users.values())


def preview_html(source: str) -> str:
    """What posting this source would show, @mentions linked alike; nothing is written and
    nobody is told. The live preview and every Preview button show this."""
    return render_body(source[:MAX_BODY])[0]


# A link in rendered HTML that leads off the site: every <a href> but site paths such as
# the /u/name of an @mention. The sanitiser writes attributes with double quotes.
_OUTSIDE_LINK = re.compile(r'<a\s[^>]*?href="(?!/(?!/))')


def count_links(body_html: str) -> int:
    """Links a rendered body holds: bare URLs, [text](url), <url> and reference links alike,
    as the one renderer (markup.py) made them, not what merely looks like a URL in code."""
    return len(_OUTSIDE_LINK.findall(body_html or ""))


def _when(moment: datetime, now: datetime) -> str:
    """14:05 UTC today / tomorrow / on 2026-06-09."""
    clock = moment.strftime("%H:%M UTC")
    days = (moment.date() - now.date()).days
    return f"{clock} today" if days == 0 else f"{clock} tomorrow" if days == 1 else f"{clock} on {moment:%Y-%m-%d}"


def new_account_until(user: User) -> datetime:
    """When an account stops being new: NEW_ACCOUNT_HOURS after sign-up. Until then it
    posts under a stricter rate limit and, for members, a link cap."""
    return user.created_at + timedelta(hours=site_settings.value("NEW_ACCOUNT_HOURS"))


def posting_rate_limit(user: User | None, kind: str = "comments", now: datetime | None = None) -> str:
    """The posting rate limit for this user, in flask-limiter's syntax: stricter for new accounts.
    Papers have their own, looser one: a reading list is built in a burst of ten or twenty."""
    young = user is not None and user.is_authenticated and (now or utcnow()) < new_account_until(user)
    if kind == "papers":
        return site_settings.value("PAPER_RATE_LIMIT_NEW_ACCOUNT" if young else "PAPER_RATE_LIMIT")
    return site_settings.value("COMMENT_RATE_LIMIT_NEW_ACCOUNT" if young else "COMMENT_RATE_LIMIT")


def check_new_account_links(actor: User, body_html: str, now: datetime | None = None) -> None:
    """Accounts younger than NEW_ACCOUNT_HOURS may put at most NEW_ACCOUNT_MAX_LINKS links in
    a post (members only: researchers, guests and staff are vouched for). A paper entry's own
    link is a field of its own and does not count; links in its note do."""
    if actor.role != Role.member:
        return
    now = now or utcnow()
    grown_up = new_account_until(actor)
    if now >= grown_up:
        return
    cap = site_settings.value("NEW_ACCOUNT_MAX_LINKS")
    found = count_links(body_html)
    if found <= cap:
        return
    allowed = "may not include links in posts" if cap == 0 else (
        f"may include at most {cap} link{'' if cap == 1 else 's'} per post")
    raise DomainError(
        f"New accounts {allowed} until {_when(grown_up, now)} "
        f"(a rule against spam for an account's first {site_settings.value('NEW_ACCOUNT_HOURS')} hours); "
        f"this one has {found}. Remove some links, or post it then.")


def _check_body(body: str) -> str:
    body = (body or "").strip()
    if not body:
        raise DomainError("Write something first.")
    if len(body) > MAX_BODY:
        raise DomainError(f"That is {len(body):,} characters; the limit is {MAX_BODY:,}.")
    return body


def create_post(actor: User, *, episode: Episode | None, body: str, parent: Post | None = None,
                kind: PostKind = PostKind.comment, notify_parent: bool = True, tell_watchers: bool = True,
                **fields) -> Post:
    """A new post, top-level or a reply; rendered once, here.

    notify_parent=False when the caller sends a more specific notification for the same
    event (a guest's answer tells the asker "answered", not also "replied");
    tell_watchers=False when it then tells the watchers itself, after that one."""
    ensure_can_write(actor)
    body = _check_body(body) if kind == PostKind.comment or body else ""
    if parent is not None:
        if not parent.is_live:
            raise DomainError("You cannot reply to this post: " + (
                "a moderator removed it." if parent.status == PostStatus.removed else f"it is {parent.status.value}."))
        root = db.session.get(Post, parent.root_id) if parent.root_id else parent
        if root is not None and root.locked:
            raise DomainError("Moderators have locked this thread: it takes no new replies.")
        episode_id = parent.episode_id
    else:
        episode_id = episode.id if episode else None
    body_html, mentioned = render_body(body) if body else ("", set())
    check_new_account_links(actor, body_html)
    post = Post(
        kind=kind, author=actor, episode_id=episode_id, parent_id=parent.id if parent else None,
        depth=parent.depth + 1 if parent else 0, body_source=body, body_html=body_html,
        status=PostStatus.pending if _needs_premoderation(actor) else PostStatus.visible,
        score=0, flag_count=0, reply_count=0, **fields,
    )
    db.session.add(post)
    db.session.flush()
    post.root_id = parent.root_id if parent else post.id
    if parent is not None:
        db.session.execute(update(Post).where(Post.id == parent.id).values(reply_count=Post.reply_count + 1))
    db.session.flush()
    _notify_new_post(actor, post, parent if notify_parent else None, mentioned)
    if tell_watchers:
        watching.tell_watchers(post, actor)  # after the reply and mentions: never told twice
    return post


def _notify_new_post(actor: User, post: Post, parent: Post | None, mentioned: set[int]) -> None:
    """A reply tells the parent's author; a mention tells the one mentioned (once each);
    not those who muted the thread (services.watching)."""
    if parent is not None:
        notifications.notify(watching.unmuted([parent.author_id], post), NotificationKind.reply, post=post,
                             actor=actor, message=watching.describe(actor, post, "replied to", parent), about=parent)
    if mentioned := mentioned - ({parent.author_id} if parent else set()):
        above = get_post_or_none(post.parent_id) if post.parent_id else None
        notifications.notify(watching.unmuted(mentioned, post), NotificationKind.mention, post=post, actor=actor,
                             message=watching.describe(actor, post, "mentioned you in a reply to" if above
                                                       else "mentioned you", above), about=above)


def announce_approved(post: Post) -> None:
    """A post held for a moderator, let through: those create_post would have told (the
    parent's author, the mentioned, the watchers) hear of it now; notify() told nobody of it
    while it was not public."""
    parent = get_post_or_none(post.parent_id) if post.parent_id else None
    mentioned = render_body(post.body_source)[1] if post.body_source else set()
    author = db.session.get(User, post.author_id)
    _notify_new_post(author, post, parent, mentioned)
    watching.tell_watchers(post, author)


def _needs_premoderation(actor: User) -> bool:
    """The first N posts of a member's account wait for a moderator (N=0: never)."""
    first = site_settings.value("PREMODERATION_FIRST_POSTS")
    if not first or actor.role != Role.member:
        return False
    return db.session.scalar(select(func.count(Post.id)).where(Post.author_id == actor.id)) < first


def can_edit(actor: User | None, post: Post, now: datetime | None = None) -> bool:
    return can_edit_facts(actor, post.author_id, post.created_at, post.is_tombstone, now)


def can_edit_facts(actor: User | None, author_id: int, created_at: datetime, is_tombstone: bool,
                   now: datetime | None = None) -> bool:
    """Authors for 2 hours, moderators any time; never a tombstone."""
    if actor is None or not actor.is_authenticated or is_tombstone:
        return False
    if actor.is_moderator:
        return True
    return author_id == actor.id and (now or utcnow()) - created_at <= EDIT_WINDOW


def edit_time_left(created_at: datetime, now: datetime | None = None) -> timedelta:
    """How long the author may still edit a post written at `created_at` (zero once closed)."""
    return max(timedelta(0), created_at + EDIT_WINDOW - (now or utcnow()))


def edit_post(actor: User, post: Post, body: str) -> Post:
    ensure_can_write(actor)
    if not can_edit(actor, post):
        if post.author_id == actor.id and not post.is_tombstone:
            closed = post.created_at + EDIT_WINDOW
            raise PermissionDenied(
                f"The edit window closed at {closed:%H:%M} UTC on {closed:%Y-%m-%d} (posts can be edited for "
                f"{EDIT_WINDOW.total_seconds() / 3600:g} hours). You can still reply to add to it, or delete it.")
        raise PermissionDenied("You cannot edit this post: " + (
            "a moderator removed it." if post.status == PostStatus.removed else "it is deleted." if post.is_tombstone
            else f"only its author (for {EDIT_WINDOW.total_seconds() / 3600:g} hours) and the moderators can."))
    return replace_body(actor, post, body)


def replace_body(actor: User, post: Post, body: str) -> Post:
    """A post's new text, the old one kept as a Revision; the caller checked the right."""
    body = _check_body(body)
    if body == post.body_source:
        return post
    body_html, mentioned = render_body(body)
    check_new_account_links(actor, body_html)
    db.session.add(Revision(post_id=post.id, editor_id=actor.id, body_source=post.body_source))
    post.body_source = body
    post.body_html = body_html
    post.edited_at = utcnow()
    db.session.flush()
    _notify_new_post(actor, post, None, mentioned)  # only people newly mentioned hear of it
    return post


def delete_post(actor: User, post: Post) -> None:
    """The author's delete: a tombstone that keeps its replies where they are."""
    if post.author_id != actor.id:
        raise PermissionDenied("Only the author can delete a post.")
    if post.status == PostStatus.deleted:
        return
    # Only a public post's delete can be undone: undoing must never publish a post that a
    # moderator held or hid.
    post.deleted_at = utcnow() if post.status == PostStatus.visible else None
    post.status = PostStatus.deleted
    db.session.flush()


UNDO_WINDOW = timedelta(seconds=10)


def undelete_post(actor: User, post: Post, now: datetime | None = None) -> None:
    """The author's "Undo" right after deleting: the post is back as it was, for UNDO_WINDOW."""
    if post.author_id != actor.id:
        raise PermissionDenied("Only the author can undo deleting a post.")
    if post.status != PostStatus.deleted or post.deleted_at is None:
        raise DomainError("This post is not one you have just deleted.")
    if (now or utcnow()) - post.deleted_at > UNDO_WINDOW:
        raise DomainError(f"Deleting can be undone for {UNDO_WINDOW.seconds} seconds; that time has passed.")
    post.status, post.deleted_at = PostStatus.visible, None
    db.session.flush()


def revisions(post: Post) -> list[Revision]:
    return list(db.session.scalars(select(Revision).where(Revision.post_id == post.id).order_by(Revision.id.desc())))


# What a new upvote on a kind of post must pass besides the rules below, added by the
# service that owns the kind (guests: the endorsement cap). Those services import this
# one, never the reverse: a rule raises DomainError to refuse.
UpvoteRule = Callable[[User, Post], None]
_upvote_rules: dict[PostKind, UpvoteRule] = {}


def upvote_rule(kind: PostKind) -> Callable[[UpvoteRule], UpvoteRule]:
    """Decorator: the rule every new upvote on a post of this kind passes first."""
    def register(rule: UpvoteRule) -> UpvoteRule:
        _upvote_rules[kind] = rule
        return rule
    return register


def upvote_rules() -> dict[PostKind, UpvoteRule]:
    return dict(_upvote_rules)


def set_vote(actor: User, post: Post, up: bool) -> int:
    """Idempotent: up=True makes sure the vote exists, False that it does not.

    The unique (user, post) constraint decides races; the score moves by a relative
    UPDATE only when a row really was inserted or deleted. Returns the new score."""
    ensure_can_write(actor)
    if post.author_id == actor.id:
        raise DomainError("You cannot vote on your own post.")
    if not post.is_live:
        raise DomainError("You cannot vote on this post: " + (
            "a moderator removed it." if post.status == PostStatus.removed else f"it is {post.status.value}."))
    changed = 0
    if up and (rule := _upvote_rules.get(post.kind)) is not None:
        rule(actor, post)
    if up:
        # ON CONFLICT DO NOTHING rather than a savepoint: on SQLite a savepoint opened first
        # in a transaction commits by itself on release, splitting the vote from its score.
        inserted = db.session.execute(dialect_insert(Vote).values(
            user_id=actor.id, post_id=post.id, value=1, created_at=utcnow()
        ).on_conflict_do_nothing(index_elements=["user_id", "post_id"]).returning(Vote.id)).scalar()
        changed = 1 if inserted is not None else 0
    else:
        result = db.session.execute(delete(Vote).where(Vote.user_id == actor.id, Vote.post_id == post.id))
        changed = -result.rowcount
    if changed:
        db.session.execute(update(Post).where(Post.id == post.id).values(score=Post.score + changed))
    db.session.flush()
    return db.session.scalar(select(Post.score).where(Post.id == post.id))


def get_post_or_none(post_id: int) -> Post | None:
    return db.session.get(Post, post_id)


def get_post(post_id: int) -> Post:
    post = db.session.get(Post, post_id)
    if post is None:
        raise NotFound("No such post.")
    return post


def wilson_lower_bound(ups: int, downs: int, z: float = 1.281551565545) -> float:
    """Lobsters' "confidence": the 80% lower bound of the upvote share."""
    n = ups + downs
    if n == 0:
        return 0.0
    phat = ups / n
    return (phat + z * z / (2 * n) - z * math.sqrt((phat * (1 - phat) + z * z / (4 * n)) / n)) / (1 + z * z / n)


def _sort_key(sort: str):
    if sort == "newest":
        return lambda p: (-p.created_at.timestamp(), -p.id)
    if sort == "oldest":
        return lambda p: (p.created_at.timestamp(), p.id)
    # "best": confidence from upvotes (+1 for the author's own implicit vote) against flags.
    return lambda p: (-wilson_lower_bound(p.score + 1, p.flag_count), p.created_at.timestamp(), p.id)


@dataclass
class Node:
    post: Post
    children: list[Node] = field(default_factory=list)


@dataclass
class Thread:
    roots: list[Node]
    posts: dict[int, Post]
    count: int


def build_tree(posts: list[Post], sort: str, root_ids: set[int] | None = None) -> list[Node]:
    """Posts -> nested nodes, each level in the chosen order. Pure Python, no queries."""
    nodes = {p.id: Node(p) for p in posts}
    roots: list[Node] = []
    for post in posts:
        parent = nodes.get(post.parent_id) if post.parent_id else None
        if root_ids is not None and post.id in root_ids:
            roots.append(nodes[post.id])
        elif parent is not None:
            parent.children.append(nodes[post.id])
        elif root_ids is None:
            roots.append(nodes[post.id])
    key = _sort_key(sort)

    def order(level: list[Node]) -> None:
        level.sort(key=lambda n: key(n.post))
        for n in level:
            order(n.children)

    order(roots)
    return roots


def visible_to(viewer: User | None, post: Post) -> bool:
    """Pending and hidden posts show to moderators and their author only."""
    if post.status in (PostStatus.visible, PostStatus.deleted, PostStatus.removed):
        return True
    return viewer is not None and viewer.is_authenticated and (viewer.is_moderator or viewer.id == post.author_id)


def _prune(posts: list[Post], viewer: User | None) -> list[Post]:
    """Drop what the viewer may not see, and tombstones with nothing under them."""
    shown = [p for p in posts if visible_to(viewer, p)]
    children: dict[int, int] = {}
    for p in shown:
        if p.parent_id:
            children[p.parent_id] = children.get(p.parent_id, 0) + 1
    # A tombstone is kept only while it holds replies; leaves are dropped bottom-up, in one
    # pass: deepest first, so a post's replies are decided before it is.
    dropped: set[int] = set()
    for p in sorted(shown, key=lambda p: p.depth, reverse=True):
        if not children.get(p.id) and p.is_tombstone:
            dropped.add(p.id)
            if p.parent_id in children:
                children[p.parent_id] -= 1
    if not dropped:
        return shown
    return [p for p in shown if p.id not in dropped]


# The page shows rendered HTML and names: the Markdown sources and account details stay in the database.
PAGE_LOAD = (
    defer(Post.body_source), defer(Post.appeal_note),
    joinedload(Post.author).load_only(User.id, User.username, User.display_name, User.affiliation, User.role,
                                      User.deleted_at, User.verified_via, User.verified_detail, User.verified_until),
)


def episode_posts(episode: Episode) -> list[Post]:
    """Every post of an episode, of every kind, with authors: the page's ONE content query."""
    query = select(Post).where(Post.episode_id == episode.id).order_by(Post.id).options(*PAGE_LOAD)
    return list(db.session.scalars(query))


def episode_thread(posts: list[Post], viewer: User | None, sort: str) -> Thread:
    """The #discussion tree. Replies under a paper link or a question belong to that
    item's own small thread, so only trees whose root is a comment are taken."""
    kinds = {p.id: p.kind for p in posts}
    comments = _prune([p for p in posts if p.kind == PostKind.comment and kinds.get(p.root_id) == PostKind.comment], viewer)
    return Thread(roots=build_tree(comments, sort), posts={p.id: p for p in comments},
                  count=sum(1 for p in comments if p.is_live))


def post_context(post: Post, viewer: User | None, sort: str) -> tuple[list[Post], list[Node]]:
    """A permalink: the ancestors (oldest first) and the post's subtree, from one query."""
    thread = list(db.session.scalars(select(Post).where(Post.root_id == post.root_id).order_by(Post.id)))
    by_id = {p.id: p for p in thread}
    ancestors, cursor = [], by_id.get(post.parent_id)
    while cursor is not None:
        ancestors.append(cursor)
        cursor = by_id.get(cursor.parent_id)
    ancestors.reverse()
    subtree_ids, frontier = {post.id}, [post.id]
    children: dict[int, list[int]] = {}
    for p in thread:
        children.setdefault(p.parent_id, []).append(p.id)
    while frontier:
        current = frontier.pop()
        for child in children.get(current, []):
            subtree_ids.add(child)
            frontier.append(child)
    shown = _prune([p for p in thread if p.id in subtree_ids], viewer)
    if post not in shown:
        shown.append(post)  # the permalink target itself always shows (a tombstone at worst)
    return ancestors, build_tree(shown, sort, root_ids={post.id})


def user_votes(user: User | None, post_ids) -> set[int]:
    """Which of these posts the user has upvoted: one query for the whole page."""
    if user is None or not user.is_authenticated:
        return set()
    ids = list(post_ids)
    if not ids:
        return set()
    return set(db.session.scalars(select(Vote.post_id).where(Vote.user_id == user.id, Vote.post_id.in_(ids))))


def episode_votes(user: User | None, episode: Episode) -> set[int]:
    """The user's upvotes on this episode's posts: one query, no matter the thread size."""
    if user is None or not user.is_authenticated:
        return set()
    return set(db.session.scalars(_EPISODE_VOTES, {"user_id": user.id, "episode_id": episode.id}))


# Built once (a logged-in episode page asks both on every view).
_EPISODE_VOTES = select(Vote.post_id).join(Post, Post.id == Vote.post_id).where(
    Vote.user_id == bindparam("user_id"), Post.episode_id == bindparam("episode_id"))
_LAST_VISIT = select(ThreadVisit.visited_at).where(
    ThreadVisit.user_id == bindparam("user_id"), ThreadVisit.episode_id == bindparam("episode_id"))


def mark_visit(user: User | None, episode: Episode, newest_shown: datetime | None = None) -> datetime | None:
    """Record this visit and return the previous one (None on a first visit): one statement.

    `newest_shown`: when the newest post on the page being shown was written. A visit
    that shows nothing newer than the last one recorded is not written (a read instead of a
    write on most page views): what is "new since your last visit" comes out the same, here
    and on the front page, since no post lies between the two moments."""
    if user is None or not user.is_authenticated:
        return None
    if newest_shown is not None:
        last = db.session.scalar(_LAST_VISIT, {"user_id": user.id, "episode_id": episode.id})
        if last is not None and last >= newest_shown:
            return last
    statement = dialect_insert(ThreadVisit).values(user_id=user.id, episode_id=episode.id, visited_at=utcnow())
    statement = statement.on_conflict_do_update(
        index_elements=["user_id", "episode_id"],
        set_={"previous_visited_at": ThreadVisit.visited_at, "visited_at": statement.excluded.visited_at},
    ).returning(ThreadVisit.previous_visited_at)
    return db.session.execute(statement).scalar()


def latest_by_author(author: User, limit: int = 50) -> list[Post]:
    query = select(Post).where(Post.author_id == author.id, Post.status == PostStatus.visible)
    return list(db.session.scalars(query.order_by(Post.created_at.desc(), Post.id.desc()).limit(limit)))


def latest_visible(episode: Episode | None = None, limit: int = 50, kinds=(PostKind.comment,)) -> list[Post]:
    """Newest public posts (for feeds): visible status only, never hidden or pending."""
    query = select(Post).where(Post.status == PostStatus.visible, Post.kind.in_(kinds))
    if episode is not None:
        query = query.where(Post.episode_id == episode.id)
    return list(db.session.scalars(query.order_by(Post.created_at.desc(), Post.id.desc()).limit(limit)))


def counts_by_episode(episode_ids: list[int]) -> dict[int, dict[str, int]]:
    """Visible posts per episode and kind, for lists of episodes: one grouped query."""
    if not episode_ids:
        return {}
    query = (select(Post.episode_id, Post.kind, func.count(Post.id))
             .where(Post.episode_id.in_(episode_ids), Post.status == PostStatus.visible)
             .group_by(Post.episode_id, Post.kind))
    counts: dict[int, dict[str, int]] = {}
    for episode_id, kind, count in db.session.execute(query):
        counts.setdefault(episode_id, {})[kind.value] = count
    return counts


def rebake(batch_size: int = 500) -> int:
    """Re-render every post and bio from its source (after the markup rules change)."""
    done = 0
    last_id = 0
    while True:
        batch = list(db.session.scalars(select(Post).where(Post.id > last_id).order_by(Post.id).limit(batch_size)))
        if not batch:
            break
        for post in batch:
            post.body_html = render_body(post.body_source)[0] if post.body_source else ""
        last_id = batch[-1].id
        done += len(batch)
        db.session.flush()
    for user in db.session.scalars(select(User).where(User.bio_source != "")):
        user.bio_html = markup.render(user.bio_source)
    db.session.flush()
    return done
