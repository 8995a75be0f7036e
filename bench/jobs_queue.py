"""The job queue's own costs, measured apart from any page (figures in bench/results.md).

    python bench/jobs_queue.py [--redis redis://127.0.0.1:6379/6] [--mails 300]

1. What a request pays after its commit to hand one job id to Huey (SqliteHuey on a
   file, RedisHuey), against what it paid before: starting a mail thread.
2. What it pays inside its transaction: one outbox row (INSERT + flush) on SQLite.
3. How fast one real worker process (`flask --app community worker`) empties a queue of
   mail jobs into a local SMTP server, with 1 and 4 threads.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.comment_mail import local_smtp  # noqa: E402


def per_call_us(function, n: int) -> float:
    """Median of 5 rounds of n calls, in microseconds per call."""
    rounds = []
    for _ in range(5):
        started = time.perf_counter()
        for i in range(n):
            function(i)
        rounds.append((time.perf_counter() - started) / n * 1e6)
    return statistics.median(rounds)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--redis", default=os.environ.get("TEST_REDIS_URL"))
    parser.add_argument("--mails", type=int, default=300)
    options = parser.parse_args()

    from huey import RedisHuey, SqliteHuey

    folder = Path(tempfile.mkdtemp(prefix="gi-jobs-bench-"))
    print("1. after the commit, per job handed over")
    thread = per_call_us(lambda i: threading.Thread(target=lambda: None, daemon=True).start(), 500)
    print(f"   a thread started (before):        {thread:8.1f} us")
    sqlite_huey = SqliteHuey("bench", filename=str(folder / "jobs.sqlite"), results=False)
    task = sqlite_huey.task(name="jobs.run")(lambda job_id: None)
    print(f"   SqliteHuey enqueue (file, WAL):    {per_call_us(task, 500):8.1f} us")
    if options.redis:
        redis_huey = RedisHuey("gi-community-bench", url=options.redis, results=False)
        redis_task = redis_huey.task(name="jobs.run")(lambda job_id: None)
        print(f"   RedisHuey enqueue (local Redis):   {per_call_us(redis_task, 500):8.1f} us")
        redis_huey.flush()

    from community import create_app
    from community.extensions import db
    from community.services import mail

    smtp, inbox = local_smtp()
    database = folder / "bench.sqlite"
    app = create_app({"SECRET_KEY": "bench", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}",
                      "PUBLIC_URL": "http://localhost", "RATELIMIT_STORAGE_URI": "memory://",
                      "CACHE_TYPE": "SimpleCache", "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": smtp.port,
                      "JOBS_SQLITE_PATH": str(folder / "instance" / "jobs.sqlite")})
    with app.app_context():
        db.create_all()

        def one_row(i):
            mail.send(f"reader{i}@example.org", "Bench", "A mail job.")
            db.session.flush()

        print("2. inside the transaction")
        print(f"   one outbox row (INSERT + flush):   {per_call_us(one_row, 200):8.1f} us")
        db.session.rollback()

    print(f"3. one worker process, {options.mails} mail jobs to a local SMTP server")
    env = {k: v for k, v in os.environ.items() if k not in ("FLASK_DEBUG", "REDIS_URL")}
    env.update(PYTHONPATH=str(ROOT), SECRET_KEY="bench", PUBLIC_URL="http://localhost",
               DATABASE_URL=f"sqlite:///{database}", INSTANCE_PATH=str(folder / "instance"),
               MAIL_SERVER="127.0.0.1", MAIL_PORT=str(smtp.port))
    for threads in (1, 4):
        before = inbox.count
        with app.app_context():
            for i in range(options.mails):
                mail.send(f"reader{i}@example.org", "Bench", "A mail job.")
            db.session.commit()  # handed over to the queue here
        worker = subprocess.Popen([sys.executable, "-m", "flask", "--app", "community", "worker",
                                   "--threads", str(threads)], cwd=ROOT, env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        started = None
        deadline = time.monotonic() + 300
        while inbox.count - before < options.mails and time.monotonic() < deadline:
            if started is None and inbox.count > before:
                started = time.perf_counter()  # from the first mail: leaves out the app's start
            time.sleep(0.01)
        elapsed = time.perf_counter() - (started or time.perf_counter())
        worker.terminate()
        worker.wait()
        sent = inbox.count - before
        print(f"   {threads} thread(s): {sent} mails in {elapsed:.1f} s = {sent / max(elapsed, 1e-9):.0f} mails/s")
    smtp.stop()


if __name__ == "__main__":
    main()
