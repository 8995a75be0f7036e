"""Every query the main pages run is served by an index: EXPLAIN on SQLite and PostgreSQL.

Tables that grow with the community (posts, votes, flags, notifications, ...) must never be
scanned whole; small reference tables (episodes, people) may be."""

from __future__ import annotations

import pytest
from sqlalchemy import event, text

from community.extensions import db
from community.models import Role
from community.services import moderation, papers, questions
from community.models import FlagReason

GROWING = {"posts", "votes", "flags", "notifications", "moderation_actions", "revisions", "thread_visits",
           "user_sessions", "users", "follows", "papers"}
# Whole-table reads that are the point of the page, each with its reason.
ALLOWED_SCANS = {
    ("papers", "/papers/"),  # the graph groups every paper: an aggregate over all of them
}


@pytest.fixture
def app_config():
    return {"PAGE_CACHE": False}


@pytest.fixture
def community(factories):
    ada, bob = factories.user("ada"), factories.user("bob")
    moderator = factories.user("mod", role=Role.moderator)
    episode = factories.episode(1, "Kelvin Guu on retrieval", guests=[("Kelvin Guu", "Google AI")])
    top = factories.comment(ada, episode, body="retrieval as a latent variable")
    factories.comment(bob, parent=top, body="a reply")
    papers.submit(ada, episode, link="2005.11401", title="RAG")
    questions.ask(bob, episode, "How is the retriever trained?")
    moderation.flag(bob, top, FlagReason.unkind)
    db.session.commit()
    return {"episode": episode, "post": top, "ada": ada, "mod": moderator}


def _capture(app, client, url):
    statements = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if statement.lstrip().upper().startswith("SELECT"):
            statements.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        assert client.get(url).status_code == 200, url
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    return statements


def _scans(statement, parameters, dialect) -> set[str]:
    with db.engine.connect() as conn:
        if dialect == "sqlite":
            rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters).all()
            scans = set()
            for row in rows:
                detail = row[-1]
                if detail.startswith("SCAN ") and "USING" not in detail and "CONSTANT" not in detail:
                    scans.add(detail.split()[1])
            return scans
        conn.exec_driver_sql("SET enable_seqscan = off")
        plan = conn.exec_driver_sql("EXPLAIN (FORMAT JSON) " + statement, parameters).scalar()

        def walk(node):
            found = {node["Relation Name"]} if node.get("Node Type") == "Seq Scan" else set()
            for child in node.get("Plans", []):
                found |= walk(child)
            return found

        return walk(plan[0]["Plan"])


def test_main_pages_use_indexes(app, database, login, community):
    episode, post = community["episode"], community["post"]
    member = login(community["ada"], the_client=app.test_client())
    moderator = login(community["mod"], the_client=app.test_client())
    pages = [(app.test_client(), "/"), (app.test_client(), "/episodes/"), (member, f"/episodes/{episode.slug}"),
             (member, f"/posts/{post.id}"), (app.test_client(), "/papers/"), (app.test_client(), "/questions/"),
             (app.test_client(), "/guests/suggestions"), (member, "/notifications/"), (member, "/search?q=retrieval"),
             (moderator, "/moderation/queue"), (app.test_client(), "/moderation/log"), (app.test_client(), "/u/ada")]
    problems = []
    for client, url in pages:
        for statement, parameters in _capture(app, client, url):
            if "posts_fts" in statement or "episodes_fts" in statement:
                continue  # the FTS5 virtual tables are their own index
            for table in _scans(statement, parameters, database) & GROWING:
                if (table, url) not in ALLOWED_SCANS:
                    problems.append(f"{url}: full scan of {table}: {' '.join(statement.split())[:300]}")
    assert problems == [], "\n".join(problems)
