"""A big thread renders with a constant, small number of queries, and correctly."""

from __future__ import annotations

import random
from datetime import timedelta
from html.parser import HTMLParser

import pytest

from community.extensions import db
from community.models import Post, PostKind, PostStatus
from community.models.base import utcnow
from community.services import discussion


def make_thread(episode, authors, size: int, seed: int = 7) -> list[Post]:
    """`size` comments in deep and wide trees, nested down to the depth cap."""
    rng = random.Random(seed)
    now = utcnow()
    posts: list[Post] = []
    while len(posts) < size:
        candidates = [p for p in posts if p.depth < discussion.MAX_DEPTH - 1]
        parent = rng.choice(candidates) if candidates and rng.random() < 0.8 else None
        post = Post(kind=PostKind.comment, author=rng.choice(authors), episode_id=episode.id,
                    parent_id=parent.id if parent else None, depth=parent.depth + 1 if parent else 0,
                    body_source="x", body_html=f"<p>comment {len(posts)}</p>", status=PostStatus.visible,
                    score=rng.randint(0, 20), flag_count=0, reply_count=0,
                    created_at=now - timedelta(minutes=size - len(posts)))
        db.session.add(post)
        db.session.flush()
        post.root_id = parent.root_id if parent else post.id
        posts.append(post)
    db.session.commit()
    return posts


class Nesting(HTMLParser):
    """Which comment <li> sits inside which, in document order."""

    def __init__(self):
        super().__init__()
        self.stack: list[int | None] = []
        self.parent: dict[int, int | None] = {}
        self.order: list[int] = []

    def handle_starttag(self, tag, attrs):
        if tag == "li":
            attrs = dict(attrs)
            post_id = int(attrs["data-id"]) if "data-id" in attrs else None
            if post_id is not None:
                assert post_id not in self.parent, f"comment {post_id} rendered twice"
                enclosing = next((i for i in reversed(self.stack) if i is not None), None)
                self.parent[post_id] = enclosing
                self.order.append(post_id)
            self.stack.append(post_id)

    def handle_endtag(self, tag):
        if tag == "li":
            self.stack.pop()


@pytest.fixture
def app_config():
    """Rows are inserted directly here, behind the services' backs: measure uncached rendering."""
    return {"PAGE_CACHE": False}


@pytest.fixture
def big_episode(factories):
    return factories.episode(1, "A very popular episode")


def test_query_count_is_constant_and_small(client, factories, login, big_episode, count_queries):
    authors = [factories.user(f"author{i}") for i in range(5)]
    url = f"/episodes/{big_episode.slug}"

    def counts():
        with count_queries() as anonymous:
            assert client.get(url).status_code == 200
        return anonymous.count

    make_thread(big_episode, authors, 10)
    small_anonymous = counts()
    make_thread(big_episode, authors, 990, seed=8)
    big_anonymous = counts()
    assert small_anonymous == big_anonymous <= 8

    login(factories.user("reader"))
    with count_queries() as first_visit:
        client.get(url)
    with count_queries() as small_logged_in:
        client.get(url)
    make_thread(big_episode, authors, 100, seed=9)
    with count_queries() as big_logged_in:
        client.get(url)
    assert small_logged_in.count == big_logged_in.count <= 8
    assert first_visit.count <= small_logged_in.count + 1  # a first visit also writes the visit down


@pytest.mark.parametrize("sort", discussion.SORTS)
def test_big_thread_renders_every_comment_once_in_its_parent_in_order(client, factories, big_episode, sort):
    authors = [factories.user(f"author{i}") for i in range(5)]
    posts = make_thread(big_episode, authors, 1000)
    html = client.get(f"/episodes/{big_episode.slug}?sort={sort}").get_data(as_text=True)
    nesting = Nesting()
    nesting.feed(html)
    assert set(nesting.parent) == {p.id for p in posts}
    by_id = {p.id: p for p in posts}
    for post_id, enclosing in nesting.parent.items():
        assert enclosing == by_id[post_id].parent_id
    key = discussion._sort_key(sort)
    siblings: dict[int | None, list[int]] = {}
    for post_id in nesting.order:
        siblings.setdefault(nesting.parent[post_id], []).append(post_id)
    for ids in siblings.values():
        assert ids == sorted(ids, key=lambda i: key(by_id[i]))
