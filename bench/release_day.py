"""Release day: readers of a hot 2,000-comment thread while others post and vote (issue 25).

    .venv/bin/python bench/release_day.py [--duration 60] [--rates 2,10] [--votes 20]
                                          [--database sqlite|postgresql] [--out bench/release-day-results.md]

The app runs as in production (gunicorn, 2 sync workers, 127.0.0.1). For each comment
rate, one mix of `--duration` seconds runs all of these at once against
/episodes/bench-2000:

- readers: wrk, 8 connections anonymous (gzip, as browsers ask) and 8 logged in as
  "bench" (16 in all);
- comment writers: open-loop, `rate` comments a second from four accounts, 30% new
  top-level comments and 70% replies to comments picked at random over the whole thread;
  each writer then loads the page its redirect names, as a browser does, and checks
  that its own comment is on it (read-your-writes);
- voters: `--votes` votes a second from four other accounts on random comments (up,
  then down again the next time the same voter picks the same comment);
- two observers (one anonymous with gzip, one logged in as a fifth account) reload the
  page back to back and note, for every comment written, the first page that shows it.

Staleness is measured, not assumed: for each comment, from the moment its POST was sent
(the commit happens before the answer, so this is an upper bound on commit time's
distance) to the moment the first observer page containing `id="c<id>"` was received.
An observer reloads as fast as its page comes, so the figure includes one page's time.

Prints and writes a Markdown report. Servers it starts are stopped on the way out.
"""

from __future__ import annotations

import argparse
import gzip
import http.client
import random
import re
import secrets
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.run import (  # noqa: E402
    BENCH, BENCH_PASSWORD, GZIP, HOST, OUT, USER_AGENT, WORKERS, WRK_THREADS, Result, Server, csrf_token, drop_database,
    flask, fresh_database, parse_wrk, prepare, publish,
)

SLUG = "bench-2000"
PAGE = f"/episodes/{SLUG}"
READERS_EACH = 8  # connections per reader class


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


class Session:
    """One logged-in account over its own keep-alive connection (not thread-safe: one user
    of it at a time)."""

    def __init__(self, port: int, username: str | None):
        self.port, self.cookie, self.token = port, None, ""
        self.conn = http.client.HTTPConnection(HOST, port, timeout=60)
        if username:
            self._log_in(username)

    def request(self, method: str, path: str, body: str | None = None, zipped: bool = False):
        headers = {"User-Agent": USER_AGENT}
        if self.cookie:
            headers["Cookie"] = f"session={self.cookie}"
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        if zipped:
            headers["Accept-Encoding"] = "gzip"
        for attempt in (1, 2):
            try:
                self.conn.request(method, path, body=body, headers=headers)
                response = self.conn.getresponse()
                data = response.read()
                break
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = http.client.HTTPConnection(HOST, self.port, timeout=60)
                if attempt == 2:
                    raise
        for value in response.headers.get_all("Set-Cookie") or ():
            if value.startswith("session="):
                self.cookie = value.split(";", 1)[0].split("=", 1)[1]
        if response.getheader("Content-Encoding") == "gzip":
            data = gzip.decompress(data)
        return response.status, response.getheader("Location", ""), data

    def _log_in(self, username: str) -> None:
        _, _, page = self.request("GET", "/auth/login")
        form = urllib.parse.urlencode({"login": username, "password": BENCH_PASSWORD,
                                       "csrf_token": csrf_token(page.decode())})
        status, _, _ = self.request("POST", "/auth/login", form)
        if status != 302:
            raise SystemExit(f"bench: logging in as {username} answered {status}")
        _, _, page = self.request("GET", PAGE)
        self.token = csrf_token(page.decode())


@dataclass
class Mix:
    rate: float
    votes: float
    readers: dict[str, Result] = field(default_factory=dict)
    comment_ms: list[float] = field(default_factory=list)
    vote_ms: list[float] = field(default_factory=list)
    write_errors: int = 0
    scheduled: list[int] = field(default_factory=lambda: [0, 0])  # comments and votes due during the mix
    own_missing: int = 0  # writer's next page without their own comment
    own_checked: int = 0
    stale_ms: dict[str, list[float]] = field(default_factory=lambda: {"anonymous": [], "logged in": []})
    unseen: dict[str, int] = field(default_factory=lambda: {"anonymous": 0, "logged in": 0})
    observer_pages: dict[str, int] = field(default_factory=lambda: {"anonymous": 0, "logged in": 0})


def thread_posts(database_url: str) -> tuple[list[int], list[str]]:
    """Comment ids of the hot thread that can take a reply, and accounts to write with."""
    from sqlalchemy import create_engine, text

    engine = create_engine(database_url)
    with engine.connect() as conn:
        ids = list(conn.execute(text(
            "SELECT p.id FROM posts p JOIN episodes e ON e.id = p.episode_id WHERE e.slug = :slug "
            "AND p.status = 'visible' AND p.kind = 'comment' AND p.depth < 6 ORDER BY p.id"), {"slug": SLUG}).scalars())
        names = list(conn.execute(text(
            "SELECT username FROM users WHERE role = 'member' AND deleted_at IS NULL AND username <> 'bench' "
            "ORDER BY id LIMIT 9")).scalars())
    engine.dispose()
    return ids, names


def run_mix(app: Server, mix: Mix, duration: float, reader_cookie: str, writers: list[Session],
            voters: list[Session], observers: dict[str, Session], replyable: list[int]) -> None:
    rng = random.Random(int(mix.rate * 1000 + mix.votes))
    written: dict[int, float] = {}  # comment id -> when its POST was sent
    seen: dict[str, set[int]] = {name: set() for name in observers}
    lock = threading.Lock()
    stop, watched = threading.Event(), threading.Event()  # writers stop, then observers
    voted: set[tuple[int, int]] = set()

    def comment(i: int) -> None:
        session = writers[i % len(writers)]
        with session_locks[id(session)]:
            sent = time.monotonic()
            if rng.random() < 0.3:
                path = f"{PAGE}/comments"
            else:
                path = f"/posts/{rng.choice(replyable)}/reply"
            body = urllib.parse.urlencode({"body": f"Release-day comment {i} on $e^{{i\\pi}}$.",
                                           "csrf_token": session.token})
            try:
                status, location, _ = session.request("POST", path, body)
            except OSError:
                status, location = 0, ""
            took = time.monotonic() - sent
            found = re.search(r"#c(\d+)$", location)
            if status != 302 or not found:
                with lock:
                    mix.write_errors += 1
                return
            post_id = int(found[1])
            with lock:
                mix.comment_ms.append(took * 1000)
                written[post_id] = sent
            # As a browser: follow the redirect, and the page must show the writer's comment.
            target = urllib.parse.urlsplit(location)
            _, _, page = session.request("GET", target.path + (f"?{target.query}" if target.query else ""))
            with lock:
                mix.own_checked += 1
                if f'id="c{post_id}"'.encode() not in page:
                    mix.own_missing += 1

    def vote(i: int) -> None:
        session = voters[i % len(voters)]
        with session_locks[id(session)]:
            target = rng.choice(replyable)
            up = (id(session), target) not in voted
            (voted.add if up else voted.discard)((id(session), target))
            sent = time.monotonic()
            try:
                status, _, _ = session.request("POST", f"/posts/{target}/vote", urllib.parse.urlencode(
                    {"up": "1" if up else "0", "csrf_token": session.token}))
            except OSError:
                status = 0
            with lock:
                if status in (200, 302):
                    mix.vote_ms.append((time.monotonic() - sent) * 1000)
                else:
                    mix.write_errors += 1

    def observe(name: str, session: Session) -> None:
        pattern = re.compile(rb'id="c(\d+)"')
        while not watched.is_set():
            try:
                _, _, page = session.request("GET", PAGE, zipped=name == "anonymous")
            except OSError:
                continue
            received = time.monotonic()
            with lock:
                mix.observer_pages[name] += 1
                pending = [post_id for post_id in written if post_id not in seen[name]]
            if not pending:
                continue
            shown = {int(m) for m in pattern.findall(page)}
            with lock:
                for post_id in pending:
                    if post_id in shown:
                        seen[name].add(post_id)
                        mix.stale_ms[name].append((received - written[post_id]) * 1000)

    def schedule(rate: float, work, pool: ThreadPoolExecutor) -> None:
        if rate <= 0:
            return
        start, i = time.monotonic(), 0
        while not stop.is_set():
            due = start + i / rate
            wait = due - time.monotonic()
            if wait > 0:
                stop.wait(wait)
                if stop.is_set():
                    break
            pool.submit(work, i)
            scheduled[0 if work is comment else 1] += 1
            i += 1

    scheduled = [0, 0]  # comments, votes
    session_locks = {id(s): threading.Lock() for s in writers + voters}
    readers = {
        "anonymous, gzip": ["-H", GZIP],
        "logged in": ["-H", f"Cookie: session={reader_cookie}"],
    }
    processes = {}
    for label, extra in readers.items():
        command = ["wrk", f"-t{WRK_THREADS}", f"-c{READERS_EACH}", f"-d{duration:.0f}s", "--latency", "--timeout", "30s",
                   "-H", f"User-Agent: {USER_AGENT}", *extra, app.base + PAGE]
        processes[label] = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    comments_pool, votes_pool = ThreadPoolExecutor(len(writers)), ThreadPoolExecutor(len(voters))
    threads = [threading.Thread(target=observe, args=(name, s), daemon=True) for name, s in observers.items()]
    threads += [threading.Thread(target=schedule, args=(mix.rate, comment, comments_pool), daemon=True),
                threading.Thread(target=schedule, args=(mix.votes, vote, votes_pool), daemon=True)]
    for t in threads:
        t.start()
    time.sleep(duration)
    stop.set()
    for t in threads[2:]:
        t.join()
    # Writes due but not yet sent when the mix ends: the server fell behind the rate.
    for pool in (comments_pool, votes_pool):
        pool.shutdown(wait=True, cancel_futures=True)
    mix.scheduled = scheduled[:]
    # Let the observers see the last writes (bounded), then stop them.
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(len(seen[n]) < len(written) for n in observers):
        time.sleep(0.2)
    watched.set()
    for t in threads[:2]:
        t.join(timeout=60)
    for name in observers:
        mix.unseen[name] = len(written) - len(seen[name])
    for label, process in processes.items():
        output, _ = process.communicate(timeout=duration + 120)
        result = Result(label, PAGE)
        parse_wrk(output, result)
        mix.readers[label] = result
        (OUT / f"wrk-release-day-{mix.rate:g}-{label.split(',')[0].replace(' ', '-')}.txt").write_text(output)


def report(info: dict, settings: dict, mixes: list[Mix]) -> str:
    lines = ["# Release day: a hot thread under writes (issue 25)", "",
             "Produced by `bench/release_day.py` (`make bench-release-day`); the module's docstring says "
             "what runs at once.", "", "## Machine", ""]
    lines += [f"- {k}: {v}" for k, v in info.items()] + ["", "## Settings", ""]
    lines += [f"- {k}: {v}" for k, v in settings.items()] + ["", "## Readers", "",
              "| mix | readers | req/s | p50 ms | p99 ms | errors |", "|---|---|---:|---:|---:|---:|"]
    for m in mixes:
        for label, r in m.readers.items():
            lines.append(f"| {m.rate:g} comments/s + {m.votes:g} votes/s | {label} | {r.requests_per_second:,.1f} "
                         f"| {r.p50_ms:.1f} | {r.p99_ms:.1f} | {r.errors} |")
    lines += ["", "## Writes", "", "| mix | comments | comment p50 / p99 ms | votes | vote p50 / p99 ms | errors "
              "| writer's next page without their comment |", "|---|---:|---:|---:|---:|---:|---:|"]
    behind = []
    for m in mixes:
        lines.append(f"| {m.rate:g} + {m.votes:g} | {len(m.comment_ms)} | {percentile(m.comment_ms, .5):.0f} / "
                     f"{percentile(m.comment_ms, .99):.0f} | {len(m.vote_ms)} | {percentile(m.vote_ms, .5):.0f} / "
                     f"{percentile(m.vote_ms, .99):.0f} | {m.write_errors} | {m.own_missing} of {m.own_checked} |")
        if len(m.comment_ms) + len(m.vote_ms) + m.write_errors < sum(m.scheduled):
            behind.append(f"- {m.rate:g} + {m.votes:g}: {m.scheduled[0]} comments and {m.scheduled[1]} votes were due; "
                          "the ones not sent were still waiting for a free writer when the mix ended "
                          "(the server did not keep up with the rate)")
    lines += [""] + behind if behind else []
    lines += ["", "## Staleness (comment POST sent -> first observer page showing it, received)", "",
              "| mix | observer | comments seen | p50 ms | p99 ms | max ms | never seen | observer pages |",
              "|---|---|---:|---:|---:|---:|---:|---:|"]
    for m in mixes:
        for name, values in m.stale_ms.items():
            lines.append(f"| {m.rate:g} + {m.votes:g} | {name} | {len(values)} | {percentile(values, .5):.0f} | "
                         f"{percentile(values, .99):.0f} | {max(values, default=float('nan')):.0f} | {m.unseen[name]} "
                         f"| {m.observer_pages[name]} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=60, help="seconds per mix")
    parser.add_argument("--rates", default="2,10", help="comment rates per second, one mix each")
    parser.add_argument("--votes", type=float, default=20, help="votes per second in every mix")
    parser.add_argument("--posts", type=int, default=4000, help="posts generated by flask bench-data")
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--out", type=Path, default=BENCH / "release-day-results.md")
    args = parser.parse_args(argv)
    info = prepare()
    database_url = fresh_database(args.database, "gi_bench_release")
    env = dict(__import__("os").environ, DATABASE_URL=database_url, SECRET_KEY=secrets.token_hex(32),
               RATELIMIT_ENABLED="false", INSTANCE_PATH=str(OUT / "instance-release"), FLASK_DEBUG="0",
               PUBLIC_URL="http://127.0.0.1")
    env.pop("SERVER_NAME", None)
    mixes: list[Mix] = []
    app = None
    try:
        flask(env, "db", "upgrade", timeout=600)
        summary = flask(env, "bench-data", "--posts", str(args.posts), timeout=900 + args.posts / 500)
        replyable, names = thread_posts(database_url)
        app = Server("release-day", "wsgi:app", env)
        app.wait_ready("/healthz")
        reader = Session(app.port, "bench")
        writers = [Session(app.port, n) for n in names[:4]]
        voters = [Session(app.port, n) for n in names[4:8]]
        observers = {"anonymous": Session(app.port, None), "logged in": Session(app.port, names[8])}
        for rate in (float(r) for r in args.rates.split(",")):
            print(f"mix: {rate:g} comments/s + {args.votes:g} votes/s for {args.duration:g} s ...", flush=True)
            mix = Mix(rate, args.votes)
            run_mix(app, mix, args.duration, reader.cookie, writers, voters, observers, replyable)
            mixes.append(mix)
    finally:
        if app is not None:
            app.stop()
        drop_database(args.database, "gi_bench_release")
    settings = {"database": args.database, "data": summary,
                "server": f"gunicorn, {WORKERS} sync workers, 127.0.0.1, in-process cache (no REDIS_URL)",
                "readers": f"wrk -t{WRK_THREADS} -c{READERS_EACH} per class, {args.duration:g} s per mix",
                "writers": "4 commenting accounts, 4 voting accounts, 2 observers (see the docstring)"}
    publish(report(info, settings, mixes), args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
