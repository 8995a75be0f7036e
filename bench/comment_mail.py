"""What a reply costs the request that posts it, now that its notification mail is a job.

    python bench/comment_mail.py [--posts 300] [--database sqlite|URL] [--redis URL]

Posts replies to one member's comment through the app (Flask's test client: the whole
request, CSRF and rate limits off), each one notifying that member, with a local SMTP
server listening. Before issue 20 the mail went out in a thread started after the commit;
now the request writes one job row in its transaction and hands the id to the queue
(Huey on a SQLite file, or on Redis with --redis) after the commit. The same script runs
against the old code (PYTHONPATH=<old checkout>) for the comparison; bench/results.md
keeps the figures. Not part of `make bench` (it builds its own small database).
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

if not os.environ.get("PYTHONPATH"):  # PYTHONPATH=<old checkout> compares with older code
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


# bench/jobs_queue.py takes its SMTP server from here: this script keeps to itself (no
# import of the bench package), since it also runs with PYTHONPATH=<old checkout>.
class Inbox:
    """The mail a local SMTP server accepted, counted."""

    def __init__(self):
        self.count = 0

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's API)
        self.count += 1
        return "250 OK"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def local_smtp():
    """An SMTP server started on a free port of 127.0.0.1, and the inbox counting its mail."""
    from aiosmtpd.controller import Controller

    inbox = Inbox()
    smtp = Controller(inbox, hostname="127.0.0.1", port=free_port())
    smtp.start()
    return smtp, inbox


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--posts", type=int, default=300)
    parser.add_argument("--database", default="sqlite")
    parser.add_argument("--redis", default=None)
    options = parser.parse_args()

    from community import create_app
    from community.extensions import db
    from community.models import Episode, Notification, Post
    from community.services import accounts, discussion

    smtp, inbox = local_smtp()
    folder = Path(tempfile.mkdtemp(prefix="gi-comment-mail-"))
    uri = f"sqlite:///{folder / 'bench.sqlite'}" if options.database == "sqlite" else options.database
    config = {"SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": uri, "PUBLIC_URL": "http://localhost",
              "SERVER_NAME": "localhost", "WTF_CSRF_ENABLED": False, "RATELIMIT_ENABLED": False,
              "RATELIMIT_STORAGE_URI": "memory://", "CACHE_TYPE": "SimpleCache", "PAGE_CACHE": False,
              "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": smtp.port,
              "JOBS_SQLITE_PATH": str(folder / "jobs.sqlite")}
    if options.redis:
        config["JOBS_REDIS_URL"] = options.redis
    app = create_app(config)
    month_ago = datetime.now(timezone.utc) - timedelta(days=30)
    with app.app_context():
        if options.database != "sqlite":
            db.drop_all()
        db.create_all()
        ada = accounts.register("ada", "ada@example.org", "a long bench passphrase", confirmed=True)
        bob = accounts.register("bob", "bob@example.org", "a long bench passphrase", confirmed=True)
        ada.created_at = bob.created_at = month_ago
        episode = Episode(number=1, title="Bench", slug="1-bench", published_at=month_ago, appearances=[])
        db.session.add(episode)
        db.session.flush()
        top = discussion.create_post(bob, episode=episode, body="A comment to reply to.")
        db.session.commit()
        top_id = top.id
    client = app.test_client()
    assert client.post("/auth/login", data={"login": "ada", "password": "a long bench passphrase"}).status_code == 302
    timings = []
    for n in range(options.posts):
        started = time.perf_counter()
        response = client.post(f"/posts/{top_id}/reply", data={"body": f"Reply number {n}."})
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 302, (response.status_code, response.headers.get("Location"))
    with app.app_context():
        replies = db.session.query(Post).filter(Post.parent_id == top_id).count()
        notes = db.session.query(Notification).count()
    timings.sort()
    print(f"{options.posts} replies ({replies} saved, {notes} notifications), each notifying one member by mail")
    print(f"per reply: median {statistics.median(timings):.2f} ms, mean {statistics.fmean(timings):.2f} ms, "
          f"p90 {timings[int(len(timings) * 0.9)]:.2f} ms, p99 {timings[int(len(timings) * 0.99)]:.2f} ms")
    print(f"mail accepted by the SMTP server during the run: {inbox.count}")
    smtp.stop()


if __name__ == "__main__":
    main()
