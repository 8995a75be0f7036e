"""Where the conversation is: the front page's active discussions, recent guest answers,
open questions people are voting on, and new papers.

Ranking, in the spirit of Hacker News (points over age to a power) and Lobsters (a
story's hotness counts its comments too): a thread is as hot as the sum, over what
happened in it in the last WINDOW_DAYS, of each event's weight decayed by its age,

    hotness = sum(weight(event) / (1 + age_hours / HALF_LIFE_HOURS) ** GRAVITY)

with weights: a reply 1, a vote on a post of the thread 0.5, an answer by the episode's
guest 3 (what the site exists for). A thread with one burst of activity a week ago ranks
below one with steady replies today; a quiet old thread with a new reply comes back up.
Only visible posts count, and the thread's own root must be visible. Computed in Python
over one window's events: three queries whatever the site's size (bounded by the window),
and kept a minute (RANKING_SECONDS)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import aliased

from community.extensions import cache, db
from community.models import Episode, Post, PostKind, PostStatus, ThreadVisit, Vote
from community.models.base import utcnow
from community.services import freshness, questions

WINDOW_DAYS = 14
HALF_LIFE_HOURS = 12.0
GRAVITY = 1.5
WEIGHTS = {"reply": 1.0, "vote": 0.5, "answer": 3.0}


def decay(age: timedelta) -> float:
    return 1.0 / (1.0 + max(age.total_seconds(), 0) / 3600 / HALF_LIFE_HOURS) ** GRAVITY


@dataclass
class ActiveThread:
    root: Post
    episode: Episode
    hotness: float
    replies: int  # in the window
    last_activity: datetime


def hotness(events: list[tuple[str, datetime]], now: datetime) -> float:
    """The formula above for one thread's events: (kind, when)."""
    return sum(WEIGHTS[kind] * decay(now - when) for kind, when in events)


# The ranking reads every event of its window: kept for a minute per version of the lists
# (a new thread or post moves that version), so logged-in readers, who do not get the
# cached anonymous page, do not pay for it on every visit. Hotness drifts little in a minute.
RANKING_SECONDS = 60


def active_threads(limit: int = 6, now: datetime | None = None) -> list[ActiveThread]:
    """The hottest threads; `now` given (tests, the documented fixture) ranks afresh."""
    if now is not None:
        ranked = _ranking(limit, now)
    else:
        key = f"activity.ranking.{limit}.{freshness.versions(freshness.LISTS)}"
        ranked = cache.get(key)
        if ranked is None:
            ranked = _ranking(limit, utcnow())
            cache.set(key, ranked, timeout=RANKING_SECONDS)
    if not ranked:
        return []
    rows = db.session.execute(select(Post, Episode).join(Episode, Episode.id == Post.episode_id)
                              .where(Post.id.in_([r[0] for r in ranked]), Post.status == PostStatus.visible,
                                     Episode.is_published)).all()
    found = {post.id: (post, episode) for post, episode in rows}
    return [ActiveThread(found[rid][0], found[rid][1], heat, replies, last)
            for rid, heat, replies, last in ranked if rid in found]


def _ranking(limit: int, now: datetime) -> list[tuple[int, float, int, datetime]]:
    """(root id, hotness, replies in the window, last activity) of the hottest threads."""
    since = now - timedelta(days=WINDOW_DAYS)
    root = aliased(Post)
    replies = db.session.execute(
        select(Post.root_id, Post.created_at, Post.author_id, Post.parent_id)
        .join(root, root.id == Post.root_id)
        .where(Post.parent_id.is_not(None), Post.status == PostStatus.visible, Post.created_at >= since,
               root.status == PostStatus.visible, root.episode_id.is_not(None))).all()
    votes = db.session.execute(
        select(Post.root_id, Vote.created_at).join(Post, Post.id == Vote.post_id)
        .join(root, root.id == Post.root_id)
        .where(Vote.created_at >= since, Post.status == PostStatus.visible, root.status == PostStatus.visible,
               root.episode_id.is_not(None))).all()
    events: dict[int, list[tuple[str, datetime]]] = defaultdict(list)
    counts: dict[int, int] = defaultdict(int)
    for root_id, created_at, _author, _parent in replies:
        events[root_id].append(("reply", created_at))
        counts[root_id] += 1
    for root_id, created_at in votes:
        events[root_id].append(("vote", created_at))
    for answer in _answers_since(since):
        events[answer.root_id].append(("answer", answer.created_at))
    ranked = sorted(events, key=lambda rid: (-hotness(events[rid], now), -rid))[:limit]
    return [(rid, hotness(events[rid], now), counts[rid], max(when for _, when in events[rid])) for rid in ranked]


def _answers_since(since: datetime) -> list[Post]:
    """Guests' answers to questions in the window (a question's answer_id points at one)."""
    question = aliased(Post)
    return list(db.session.scalars(
        select(Post).join(question, question.answer_id == Post.id)
        .where(question.kind == PostKind.question, Post.created_at >= since, Post.status == PostStatus.visible)))


@dataclass
class FrontPage:
    latest: Episode | None
    latest_counts: dict[str, int]
    more_episodes: list[Episode]
    active: list[ActiveThread]
    answers: list[tuple[Post, Post, Episode]]  # (question, answer, episode)
    open_questions: list[Post]
    new_papers: list[tuple[Post, Episode]]


def front_page(episodes_list: list[Episode], counts: dict[int, dict[str, int]], now: datetime | None = None) -> FrontPage:
    given, now = now, now or utcnow()
    question, answer = aliased(Post), aliased(Post)
    answered = db.session.execute(
        select(question, answer, Episode).join(answer, answer.id == question.answer_id)
        .join(Episode, Episode.id == question.episode_id)
        .where(question.kind == PostKind.question, question.status == PostStatus.visible,
               answer.status == PostStatus.visible, question.stage == questions.ANSWERED, Episode.is_published)
        .order_by(answer.created_at.desc()).limit(4)).all()
    open_rows, _ = questions.listing("open", None, 1, per_page=5)
    papers = db.session.execute(
        select(Post, Episode).join(Episode, Episode.id == Post.episode_id)
        .where(Post.kind == PostKind.paper, Post.status == PostStatus.visible, Episode.is_published)
        .order_by(Post.created_at.desc(), Post.id.desc()).limit(5)).all()
    latest = episodes_list[0] if episodes_list else None
    return FrontPage(latest, counts.get(latest.id, {}) if latest else {}, episodes_list[1:], active_threads(now=given),
                     [tuple(row) for row in answered], open_rows, [tuple(row) for row in papers])


def new_since_last_visit(user, limit: int = 8) -> list[tuple[Episode, int]]:
    """For a logged-in reader: each episode they have read whose discussion has grown
    since (visible posts by others after their last visit, ThreadVisit.visited_at), most
    new first. One query; anonymous readers (the cached front page) get nothing."""
    if user is None or not user.is_authenticated:
        return []
    # Counted per visit, from the reader's few visits: each count is a range of one
    # episode's posts (ix_posts_episode_id_created_at), whatever the size of the site.
    # Joined the other way round, SQLite walked every visible post of the site.
    new = (select(func.count(Post.id))
           .where(Post.episode_id == ThreadVisit.episode_id, Post.created_at > ThreadVisit.visited_at,
                  Post.author_id != user.id, Post.status == PostStatus.visible)
           .correlate(ThreadVisit).scalar_subquery().label("new"))
    counted = (select(ThreadVisit.episode_id, new).where(ThreadVisit.user_id == user.id).subquery())
    rows = db.session.execute(
        select(Episode, counted.c.new).join(counted, counted.c.episode_id == Episode.id)
        .where(counted.c.new > 0, Episode.is_published)
        .order_by(counted.c.new.desc(), Episode.id.desc()).limit(limit)).all()
    return [(episode, count) for episode, count in rows]
