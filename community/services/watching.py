"""Watching: who hears of a new post besides the people it replies to or mentions.

A reader may watch an episode (every new post on it), a thread (a post and every reply
under it, at any depth) or a paper (new entries citing it in any episode, and their
threads); replies under one's own posts are watched by default (`User.watch_own_threads`
turns that off). Muting a thread beats every reason to notify, a direct reply or a
mention included: whoever muted a post hears of nothing under it.

One notification per event per user: a new post notifies a watcher only if nothing more
specific (a reply to them, a mention, a guest's answer, a question for a guest) already
told them of it. Callers send the specific ones first, then `tell_watchers`."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from sqlalchemy import bindparam, delete, or_, select

from community import markup
from community.extensions import db
from community.models import (
    Episode, Notification, NotificationKind, Paper, Post, PostKind, PostStatus, User, Watch,
)
from community.services import DomainError, notifications

WATCH, MUTE, NONE = "watch", "mute", "none"
STATES = (WATCH, MUTE, NONE)


# ---------------------------------------------------------------- a reader's choices

def set_state(user: User, state: str, *, episode: Episode | None = None, post: Post | None = None,
              paper: Paper | None = None) -> None:
    """Watch, mute (threads only) or forget one thing for this user."""
    if state not in STATES:
        raise DomainError("Choose watch, mute or stop watching.")
    if state == MUTE and post is None:
        raise DomainError("Only a thread can be muted; stop watching the episode or paper instead.")
    target = _target(episode=episode, post=post, paper=paper)
    db.session.execute(delete(Watch).where(Watch.user_id == user.id, target))
    if state != NONE:
        db.session.add(Watch(user_id=user.id, episode_id=episode.id if episode else None,
                             post_id=post.id if post else None, paper_id=paper.id if paper else None,
                             muted=state == MUTE))
    db.session.flush()


@dataclass
class Choices:
    """Everything one reader chose to hear about or not, newest choice first; a thread as
    (post, what names it: a quote of its text and its episode)."""
    episodes: list[Episode] = field(default_factory=list)
    threads: list[tuple[Post, str]] = field(default_factory=list)
    muted: list[tuple[Post, str]] = field(default_factory=list)
    papers: list[Paper] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.episodes or self.threads or self.muted or self.papers)


def choices_of(user: User, can_see: Callable[[Post], bool]) -> Choices:
    """The reader's watches and mutes, for their settings page: four queries whatever the
    count. A thread the reader may no longer see (`can_see`: hidden since) is left out
    (discussion's visibility rule is passed in: discussion imports this module)."""
    rows = db.session.scalars(select(Watch).where(Watch.user_id == user.id)
                              .order_by(Watch.created_at.desc(), Watch.id.desc())).all()

    def loaded(model, ids):
        return {row.id: row for row in db.session.scalars(select(model).where(model.id.in_(ids)))} if ids else {}

    posts = loaded(Post, {w.post_id for w in rows if w.post_id})
    episodes = loaded(Episode, {w.episode_id for w in rows if w.episode_id}
                      | {p.episode_id for p in posts.values() if p.episode_id})
    papers = loaded(Paper, {w.paper_id for w in rows if w.paper_id})

    def named(post: Post) -> str:
        if post.status in (PostStatus.removed, PostStatus.deleted):
            text = f"a {post.status.value} post"  # its words are not public any more
        else:
            text = f"“{_quote(post, 80)}”"
        episode = episodes.get(post.episode_id)
        return text + (f" on {' '.join(filter(None, (episode.label, episode.title)))}" if episode else "")

    found = Choices()
    for watch in rows:
        if watch.episode_id in episodes:
            found.episodes.append(episodes[watch.episode_id])
        elif watch.paper_id in papers:
            found.papers.append(papers[watch.paper_id])
        elif watch.post_id in posts and can_see(post := posts[watch.post_id]):
            (found.muted if watch.muted else found.threads).append((post, named(post)))
    return found


def _target(**thing):
    column, value = _column_of(**thing)
    return column == value


def _column_of(*, episode=None, post=None, paper=None):
    """(Watch's column for this kind of thing, the thing's id)."""
    if sum(x is not None for x in (episode, post, paper)) != 1:
        raise ValueError("watch exactly one thing")
    if episode is not None:
        return Watch.episode_id, episode.id
    return (Watch.post_id, post.id) if post is not None else (Watch.paper_id, paper.id)


def state_of(user: User | None, *, episode: Episode | None = None, post: Post | None = None,
             paper: Paper | None = None) -> str:
    """What the reader chose for this thing itself: WATCH, MUTE or NONE."""
    if user is None or not user.is_authenticated:
        return NONE
    column, target = _column_of(episode=episode, post=post, paper=paper)
    muted = db.session.scalar(_STATE[column.key], {"user_id": user.id, "target": target})
    return NONE if muted is None else MUTE if muted else WATCH


# Built once per kind of thing watched (every logged-in episode page asks).
_STATE = {column.key: select(Watch.muted).where(Watch.user_id == bindparam("user_id"), column == bindparam("target"))
          for column in (Watch.episode_id, Watch.post_id, Watch.paper_id)}


def thread_state(user: User | None, post: Post) -> str:
    """How a post's thread stands for the reader, for the permalink's words: "muted" (here
    or above), "watching" (here, above, the episode, the paper, or by their own post above),
    or "" (not told of replies)."""
    if user is None or not user.is_authenticated:
        return ""
    line = _line(post)
    if _muted([user.id], line):
        return "muted"
    return "watching" if user.id in _watchers(post, line) else ""


# ---------------------------------------------------------------- who hears of a post

def _line(post: Post) -> list[tuple[int, int, int | None]]:
    """(id, author, paper) of the post and each of its ancestors, the post first: its threads."""
    line = [(post.id, post.author_id, post.paper_id)]
    parent_id = post.parent_id
    while parent_id is not None:  # one indexed lookup per level: threads are a few levels deep
        row = db.session.execute(select(Post.id, Post.author_id, Post.paper_id, Post.parent_id)
                                 .where(Post.id == parent_id)).one_or_none()
        if row is None:
            break
        line.append(row[:3])
        parent_id = row[3]
    return line


def _muted(user_ids: Iterable[int], line) -> set[int]:
    ids = set(user_ids)
    if not ids:
        return set()
    return set(db.session.scalars(select(Watch.user_id).where(
        Watch.user_id.in_(ids), Watch.muted.is_(True), Watch.post_id.in_([pid for pid, _, _ in line]))))


def unmuted(user_ids: Iterable[int], post: Post) -> set[int]:
    """These users less those who muted the post's thread: muting beats replies and mentions too."""
    ids = set(user_ids)
    return ids - _muted(ids, _line(post)) if ids else ids


def _watchers(post: Post, line) -> set[int]:
    """Everyone watching the post's episode, one of its threads or its paper, and the
    authors above it who keep their own threads watched (mutes not yet taken off)."""
    thread_ids = [pid for pid, _, _ in line[1:]]  # a post's own watchers hear of replies, not of itself
    paper_ids = {paper for _, _, paper in line if paper}
    clauses = []
    if post.episode_id:
        clauses.append(Watch.episode_id == post.episode_id)
    if thread_ids:
        clauses.append(Watch.post_id.in_(thread_ids))
    if paper_ids:
        clauses.append(Watch.paper_id.in_(paper_ids))
    found = set()
    if clauses:
        found = set(db.session.scalars(select(Watch.user_id).where(Watch.muted.is_(False), or_(*clauses))))
    authors = {author for _, author, _ in line[1:]}
    if authors:
        found |= set(db.session.scalars(select(User.id).where(User.id.in_(authors), User.watch_own_threads.is_(True))))
    return found


def tell_watchers(post: Post, actor: User, *, already: Iterable[int] = ()) -> int:
    """Notify the post's watchers who were not already told of it (`already`, and anyone
    with a notification about this very post); returns how many were told."""
    line = _line(post)
    ids = _watchers(post, line) - set(already) - {actor.id}
    if not ids:
        return 0
    ids -= set(db.session.scalars(select(Notification.user_id).where(
        Notification.post_id == post.id, Notification.user_id.in_(ids))))
    ids -= _muted(ids, line)
    about = db.session.get(Post, post.parent_id) if post.parent_id else None
    return notifications.notify(ids, NotificationKind.watching, post=post, actor=actor,
                                message=describe(actor, post, about=about), about=about)


# ---------------------------------------------------------------- what a notification says

def describe(actor: User, post: Post, verb: str | None = None, about: Post | None = None) -> str:
    """'Ada replied to “How did you …” on #12 Title: $x^2$ is …': who did what, to which
    post (`about`: the parent, or the question answered), on which episode, and a snippet
    of the new text (Markdown source: math as written). Pass `about` to notify() too."""
    if verb is None:
        verb = _verb(post, about)
    quoted = f" “{_quote(about)}”" if about is not None and _quote(about) else ""
    episode = db.session.get(Episode, post.episode_id) if post.episode_id else None
    where = f" on {' '.join(filter(None, (episode.label, episode.title)))}" if episode else ""
    text = _quote(post, 140)
    return f"{actor.name} {verb}{quoted}{where}" + (f": {text}" if text else "")


def _verb(post: Post, about: Post | None) -> str:
    if about is None:
        return {PostKind.paper: "added a paper", PostKind.question: "asked a question",
                PostKind.suggestion: "suggested a guest"}.get(post.kind, "commented")
    if about.kind == PostKind.question and about.answer_id == post.id:
        return "answered"
    return "replied to"


def _quote(post: Post, limit: int = 60) -> str:
    """A paper by its title; anything else by its text (or title, for a suggestion)."""
    if post.kind == PostKind.paper and (title := post.title or (post.paper.title if post.paper else "")):
        return markup.snippet(title, limit)
    return markup.snippet(post.body_source or getattr(post, "title", None) or "", limit)


def set_own_threads(user: User, on: bool) -> None:
    """The default for replies under one's own posts (a mute on one thread still wins)."""
    user.watch_own_threads = on
    db.session.flush()
