"""This process's copy of a hot episode's posts, kept between rebuilds of its page.

Under a stream of writes an episode page is rebuilt every staleness window, and loading
2,000 posts as ORM objects was the largest part of each rebuild (about 110 ms of 380 on
the bench machine). Instead each process keeps the posts it loaded, in a session of its
own that never expires them, and on the next rebuild asks only for each post's small
columns (its signature): the posts whose signature moved, and new ones, are loaded
again; the others are reused as they are. A post's text cannot change without its
signature moving (an edit stamps `edited_at`, a removal or deletion changes `status`);
what changes every post at once (a rebake of every text, a renamed author, whose name is
on each post) bumps the version of everything, and then every post is loaded afresh.
Paper entries are always loaded again: a paper's own title or metadata changes in its
row, not the post's.

Only the shared rebuild uses it (pages/frames.py); a rendering without the page cache
loads from scratch, as the bench's uncached rows measure."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from sqlalchemy import select, type_coerce
from sqlalchemy.orm import Session
from sqlalchemy.types import NullType

from community.extensions import db
from community.models import Episode, Post, PostKind
from community.services import discussion

# Every column a page shows or orders by, but the texts: a change to a text comes with one of these.
SIGNATURE = (Post.id, Post.created_at, Post.author_id, Post.parent_id, Post.kind, Post.status, Post.status_reason,
             Post.score, Post.flag_count, Post.flag_weight, Post.reply_count, Post.edited_at, Post.paper_id,
             Post.stage, Post.stage_note, Post.answer_id, Post.linked_episode_id, Post.merged_into_id, Post.title,
             Post.locked)
# Read as the driver gives them (no conversion to enums and datetimes): only compared, and
# 2,000 rows convert in a third of the time the query takes.
_RAW_SIGNATURE = tuple(type_coerce(column, NullType()) for column in SIGNATURE)
KEEP = 8  # episodes kept per process: the hot ones
RELOAD_ALL = 500  # more changed posts than this: load them all again


@dataclass
class Snapshot:
    epoch: str  # the version of everything it was loaded under
    session: Session
    signatures: dict[int, tuple] = field(default_factory=dict)
    posts: dict[int, Post] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    reloaded: int = 0  # posts loaded by the latest refresh (tests bound it)


def _snapshots(app) -> dict[int, Snapshot]:
    return app.extensions.setdefault("episode_posts", {})


def episode_posts(app, episode: Episode, epoch: str) -> list[Post]:
    """The episode's posts, oldest first, as `discussion.episode_posts` gives them, from
    this process's copy brought up to date. `epoch`: the version of everything now."""
    snapshots = _snapshots(app)
    snapshot = snapshots.get(episode.id)
    if snapshot is None or snapshot.epoch != epoch:
        if snapshot is not None:
            snapshot.session.close()
        if len(snapshots) >= KEEP:
            snapshots.pop(next(iter(snapshots))).session.close()
        snapshot = snapshots[episode.id] = Snapshot(epoch, Session(db.engine, expire_on_commit=False, autoflush=False))
    with snapshot.lock:
        try:
            _refresh(snapshot, episode.id)
        finally:
            snapshot.session.commit()  # ends the read: the next refresh sees what was committed since
        return [snapshot.posts[post_id] for post_id in sorted(snapshot.posts)]


def _refresh(snapshot: Snapshot, episode_id: int) -> None:
    session = snapshot.session
    current = {row[0]: tuple(row) for row in session.execute(select(*_RAW_SIGNATURE).where(Post.episode_id == episode_id))}
    kept = snapshot.posts
    changed = [post_id for post_id, signature in current.items()
               if snapshot.signatures.get(post_id) != signature or kept[post_id].kind == PostKind.paper]
    for gone in snapshot.posts.keys() - current.keys():
        session.expunge(snapshot.posts.pop(gone))
    query = select(Post).where(Post.episode_id == episode_id).options(*discussion.PAGE_LOAD)
    if len(changed) > RELOAD_ALL or not snapshot.posts:
        query = query.execution_options(populate_existing=True)
    elif changed:
        query = query.where(Post.id.in_(changed)).execution_options(populate_existing=True)
    else:
        snapshot.reloaded = 0
        snapshot.signatures = current
        return
    loaded = list(session.scalars(query).unique())
    snapshot.posts.update((post.id, post) for post in loaded)
    snapshot.reloaded = len(loaded)
    # What was loaded is as of this transaction, like the signatures read in it.
    snapshot.signatures = {post_id: signature for post_id, signature in current.items() if post_id in snapshot.posts}
