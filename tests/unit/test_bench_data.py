"""flask bench-data: deterministic, internally consistent, cheap to render, re-runnable."""

from __future__ import annotations

import hashlib
from collections import Counter

from sqlalchemy import func, select, text

from community.extensions import db
from community.models import Episode, Flag, FlagReason, Paper, Post, PostKind, PostStatus, User, Vote
from community.seed import bench as bench_data
from community.services import accounts, discussion
from tests.conftest import make_test_app, reset_database

SIZES = {"posts": 3000, "users": 60, "episodes": 8}


def _digest() -> str:
    rows = db.session.execute(select(Post.id, Post.parent_id, Post.score, Post.kind).order_by(Post.id))
    return hashlib.sha256(repr([tuple(r) for r in rows]).encode()).hexdigest()


def test_same_seed_same_rows(app, database, tmp_path):
    counts = bench_data.generate(**SIZES, seed=7)
    first = _digest()
    assert sum(counts[k] for k in ("comments", "paper_links", "questions", "suggestions")) == SIZES["posts"]
    db.session.remove()  # release the connection: PostgreSQL's reset below truncates these tables

    if database == "sqlite":
        (tmp_path / "second").mkdir()
        other = make_test_app(database, tmp_path / "second")
    else:
        other = app  # one PostgreSQL database: empty it and generate again
    reset_database(other, database)
    with other.app_context():
        assert bench_data.generate(**SIZES, seed=7) == counts
        assert _digest() == first
        db.session.remove()
        if other is not app:
            db.engine.dispose()


def test_rows_are_consistent_and_benchmark_pages_cost_the_same(app, client, count_queries, login):
    progress = []
    bench_data.generate(**SIZES, seed=3, progress=progress.append)
    assert sum(progress) == SIZES["posts"]

    posts = list(db.session.execute(select(Post.id, Post.parent_id, Post.root_id, Post.depth, Post.score,
                                           Post.reply_count, Post.kind, Post.episode_id, Post.flag_count,
                                           Post.flag_weight, Post.status)))
    by_id = {p.id: p for p in posts}
    votes = Counter(db.session.scalars(select(Vote.post_id)))
    children = Counter(p.parent_id for p in posts if p.parent_id)
    for p in posts:
        assert p.score == votes[p.id], p
        assert p.reply_count == children[p.id], p
        if p.parent_id is None:
            assert (p.root_id, p.depth) == (p.id, 0), p
        else:
            parent = by_id[p.parent_id]
            assert (p.root_id, p.depth, p.episode_id) == (parent.root_id, parent.depth + 1, parent.episode_id), p
            assert parent.id < p.id
    # flag_count / flag_weight: the open flags that count towards hiding (citations never do).
    open_flags = db.session.execute(select(Flag.post_id, func.count(), func.sum(Flag.weight)).where(
        Flag.resolved_at.is_(None), Flag.reason != FlagReason.citation).group_by(Flag.post_id)).all()
    flagged = {post_id: (n, w) for post_id, n, w in open_flags}
    for p in posts:
        n, w = flagged.get(p.id, (0, 0.0))
        assert (p.flag_count, round(p.flag_weight, 6)) == (n, round(w, 6)), p
    # At most one entry per (episode, paper); papers are shared across episodes.
    entries = [(p.episode_id, p.id) for p in posts if p.kind == PostKind.paper]
    assert entries
    paper_of = dict(db.session.execute(select(Post.id, Post.paper_id).where(Post.kind == PostKind.paper)).all())
    pairs = [(episode, paper_of[post]) for episode, post in entries]
    assert len(pairs) == len(set(pairs))
    assert len({paper for _, paper in pairs}) < len(pairs)
    assert db.session.scalar(select(func.count(Paper.id))) == len({paper for _, paper in pairs})
    suggestion = db.session.scalars(select(Post).where(Post.kind == PostKind.suggestion)).first()
    assert suggestion.episode_id is None and suggestion.stage == "suggested" and suggestion.title_key
    assert set(suggestion.details) == {"affiliation", "links", "papers", "disclosure"}

    sizes = {}
    for slug, size in bench_data.BENCH_EPISODES:
        episode = db.session.scalar(select(Episode).where(Episode.slug == slug))
        bench_posts = [p for p in posts if p.episode_id == episode.id and p.kind == PostKind.comment]
        assert len(bench_posts) == size
        assert all(p.status == PostStatus.visible and by_id[p.root_id].kind == PostKind.comment for p in bench_posts)
        assert max(p.depth for p in bench_posts) <= bench_data.BENCH_MAX_DEPTH
        sizes[slug] = size

    bench = accounts.authenticate("bench", bench_data.BENCH_PASSWORD)
    assert bench.role.value == "member"
    for logged_in in (False, True):
        if logged_in:
            login(bench, password=bench_data.BENCH_PASSWORD)
        queries = {}
        for slug in ("bench-50", "bench-500"):
            with count_queries() as counter:
                response = client.get(f"/episodes/{slug}")
            assert response.status_code == 200
            assert f"Discussion ({sizes[slug]})" in response.get_data(as_text=True)
            queries[slug] = counter.count
        assert queries["bench-500"] == queries["bench-50"], (logged_in, queries)


def test_second_run_continues_the_ids(app):
    first = bench_data.generate(posts=2700, users=20, episodes=3, seed=1)
    max_post = db.session.scalar(select(func.max(Post.id)))
    users = db.session.scalar(select(func.count(User.id)))
    second = bench_data.generate(posts=300, users=20, episodes=3, seed=1)
    # The benchmark episodes and account exist already: the whole budget goes to new posts.
    assert second["users"] == 20 and first["users"] == 21
    assert db.session.scalar(select(func.count(User.id))) == users + 20
    assert db.session.scalar(select(func.min(Post.id)).where(Post.id > max_post)) == max_post + 1
    assert db.session.scalar(select(func.count(Post.id))) == 3000
    assert db.session.scalar(select(func.count(Episode.id)).where(Episode.slug.like("bench-%"))) == 3
    # The ORM keeps working after explicit ids (PostgreSQL's sequences were moved on).
    newcomer = accounts.register("newcomer", "newcomer@example.org", "a long enough passphrase")
    episode = db.session.scalar(select(Episode).where(Episode.slug == "bench-50"))
    post = discussion.create_post(newcomer, episode=episode, body="Still works.")
    db.session.add(Vote(user_id=newcomer.id, post_id=max_post, value=1))
    db.session.commit()
    assert post.id == max_post + 301


def test_generated_posts_are_searchable(app, client):
    """On PostgreSQL the search index is dropped for the bulk load and rebuilt after it."""
    bench_data.generate(**SIZES, seed=3, progress=lambda n: None)
    page = client.get("/search?q=estimator")
    assert page.status_code == 200 and "<mark>estimator</mark>" in page.get_data(as_text=True).lower()
    if db.session.get_bind().dialect.name == "postgresql":
        assert db.session.scalar(text("SELECT count(*) FROM pg_indexes WHERE indexname = 'ix_posts_search'")) == 1


def test_the_synthetic_transcript_is_two_hours_of_2000_cues_by_fictional_speakers():
    from community.seed.bench import SAMPLE_SPEAKERS, synthetic_vtt
    from community.transcripts import parse

    segments = parse(synthetic_vtt(2000, seed=1), "vtt")
    assert len(segments) == 2000 and segments[-1].end == 7200.0
    assert {s.speaker for s in segments} == set(SAMPLE_SPEAKERS)
    assert all(s.text.startswith("Sample sentence") for s in segments)
