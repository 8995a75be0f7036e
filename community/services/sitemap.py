"""What crawlers are told exists: every published episode, the papers and people they
cite and feature, and the threads people are talking in (sitemaps.org protocol)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select

from community.extensions import db
from community.models import Appearance, Episode, Paper, Post, PostKind, PostStatus
from community.models.base import utcnow

# A thread is "active" with this many visible replies in this many days.
ACTIVE_REPLIES, ACTIVE_DAYS = 3, 90


@dataclass(frozen=True)
class Entry:
    kind: str  # "episode", "paper", "person", "thread": the view turns it into a URL
    key: str | int
    updated: datetime | None


def entries(now: datetime | None = None) -> Iterator[Entry]:
    """Four streaming queries, in a stable order (so sitemap pages do not shuffle)."""
    published = select(Episode.id).where(Episode.is_published)
    for slug, updated in db.session.execute(
            select(Episode.slug, Episode.updated_at).where(Episode.is_published).order_by(Episode.id)):
        yield Entry("episode", slug, updated)
    cited = (select(Paper.canonical_id, func.max(Post.created_at)).join(Post, Post.paper_id == Paper.id)
             .where(Post.kind == PostKind.paper, Post.status == PostStatus.visible, Post.episode_id.in_(published))
             .group_by(Paper.id, Paper.canonical_id).order_by(Paper.id))
    for canonical_id, updated in db.session.execute(cited):
        yield Entry("paper", canonical_id, updated)
    people = select(Appearance.person_id).where(Appearance.episode_id.in_(published)).distinct().order_by(Appearance.person_id)
    for (person_id,) in db.session.execute(people):
        yield Entry("person", person_id, None)
    since = (now or utcnow()) - timedelta(days=ACTIVE_DAYS)
    threads = (select(Post.root_id, func.max(Post.created_at))
               .where(Post.parent_id.is_not(None), Post.status == PostStatus.visible, Post.created_at >= since,
                      Post.episode_id.in_(published))
               .group_by(Post.root_id).having(func.count() >= ACTIVE_REPLIES).order_by(Post.root_id))
    for root_id, updated in db.session.execute(threads):
        yield Entry("thread", root_id, updated)
