"""Scale-out on one machine: two app instances (gunicorn, 2 sync workers each, on their
own ports) share one PostgreSQL database and one Redis, as two app servers behind a load
balancer would.

    .venv/bin/python bench/scale_out.py [--posts 10000] [--duration 10] [--out bench/scale-out-results.md]

It checks, over real HTTP, that the two behave as one site:
- a session made on A is good on B (sessions live in the database);
- a vote through A is on the very next page served by B, even though B had that page
  cached (the cache is Redis, versions are in the database);
- the login rate limit counts attempts made through both (its counters are in Redis);
then loads both at once with wrk (one process per instance) and compares with the same
load on one instance. Needs PostgreSQL and Redis on 127.0.0.1 (Redis database 14 is
emptied before and after); every server it starts is stopped on the way out.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import subprocess
import sys
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.run import (  # noqa: E402
    GZIP, OUT, USER_AGENT, Result, Server, drop_database, fail, flask, fresh_database, log_in, parse_wrk,
    report_options, run_report, single,
)

DATABASE = "gi_scale_out"
REDIS_URL = "redis://127.0.0.1:6379/14"


def flush_redis() -> None:
    import redis

    redis.Redis.from_url(REDIS_URL).flushdb()


def page(server: Server, path: str, cookie: str | None = None) -> tuple[int, str, str]:
    """(status, X-Cache, body) of one GET."""
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    headers = {"User-Agent": USER_AGENT, **({"Cookie": f"session={cookie}"} if cookie else {})}
    try:
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        return response.status, response.getheader("X-Cache", "-"), response.read().decode()
    finally:
        conn.close()


def score_of(body: str, post_id: int) -> int:
    match = re.search(rf'data-score="{post_id}">(-?\d+) point', body)
    if not match:
        fail(f"post {post_id} not found on the page")
    return int(match.group(1))


def coherence(a: Server, b: Server) -> list[str]:
    """The three checks; each line says what was seen. Stops the run if one fails."""
    lines = []
    cookie, token = log_in(a)
    status, _, _ = single(b, "GET", "/settings/profile", cookie)
    if status != 200:
        fail(f"a session made on A is refused by B ({status})")
    lines.append("| a session made on A | B accepts it: GET /settings/profile answers 200 | yes |")

    path = "/episodes/bench-50"
    _, first, body = page(b, path)
    _, second, _ = page(b, path)
    if second != "hit":
        fail(f"B did not serve {path} from the cache the second time (X-Cache: {second})")
    post_id = votable_post(a.env["DATABASE_URL"], "bench-50")
    before = score_of(body, post_id)
    form = urllib.parse.urlencode({"csrf_token": token, "up": "1"})
    status, _, _ = single(a, "POST", f"/posts/{post_id}/vote", cookie, form)
    if status != 302:
        fail(f"voting through A answered {status}")
    _, third, after_body = page(b, path)
    after = score_of(after_body, post_id)
    if after != before + 1:
        fail(f"B still shows {after} points for post {post_id} after a vote through A (was {before})")
    lines.append(f"| anonymous page on B ({first}, then {second}); vote through A | the next page from B "
                 f"({third}) shows {before} → {after} points | yes |")

    statuses = []
    for attempt in range(12):
        statuses.append(failed_login((a, b)[attempt % 2]))
    limited = statuses.index(429) + 1 if 429 in statuses else None
    if limited != 11:
        fail(f"login rate limit across instances: statuses {statuses}")
    lines.append(f"| 12 wrong passwords for one account, alternating A and B | attempts 1-10 answered "
                 f"{statuses[0]}, attempt 11 ({'A' if limited % 2 else 'B'}) and 12 answered 429 | yes |")
    return lines


def votable_post(database_url: str, slug: str) -> int:
    """A visible comment on the page, by someone else, that `bench` has not voted for."""
    import psycopg

    with psycopg.connect(database_url.replace("+psycopg", ""), connect_timeout=10) as conn:
        found = conn.execute(
            "SELECT posts.id FROM posts JOIN episodes ON episodes.id = posts.episode_id "
            "JOIN users AS me ON me.username = 'bench' WHERE episodes.slug = %s AND posts.kind = 'comment' "
            "AND posts.status = 'visible' AND posts.author_id != me.id AND NOT EXISTS "
            "(SELECT 1 FROM votes WHERE votes.post_id = posts.id AND votes.user_id = me.id) "
            "ORDER BY posts.id LIMIT 1", (slug,)).fetchone()
    return found[0] if found else fail(f"no comment on {slug} that bench may vote for")


def failed_login(server: Server) -> int:
    """One wrong password for `bench` through the real form; the response status."""
    import http.cookiejar
    import urllib.error
    import urllib.request

    from bench.run import csrf_token

    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    opener.addheaders = [("User-Agent", USER_AGENT)]
    with opener.open(server.base + "/auth/login", timeout=30) as response:
        token = csrf_token(response.read().decode())
    form = urllib.parse.urlencode({"login": "bench", "password": "not the password", "csrf_token": token}).encode()
    try:
        with opener.open(server.base + "/auth/login", data=form, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def wrk_both(servers: list[Server], path: str, duration: int, connections: int, label: str,
             headers: tuple[str, ...] = (), cookie: str | None = None) -> list[Result]:
    """wrk against each server at the same time, connections split evenly."""
    share = max(1, connections // len(servers))
    processes = []
    for server in servers:
        command = ["wrk", "-t1", f"-c{share}", f"-d{duration}s", "--latency", "--timeout", "30s",
                   "-H", f"User-Agent: {USER_AGENT}"]
        for header in headers + ((f"Cookie: session={cookie}",) if cookie else ()):
            command += ["-H", header]
        processes.append((server, subprocess.Popen(command + [server.base + path], stdout=subprocess.PIPE,
                                                    stderr=subprocess.STDOUT, text=True)))
    results = []
    for server, process in processes:
        output, _ = process.communicate(timeout=duration + 120)
        result = Result(f"{label} via {server.name}", path)
        parse_wrk(output, result)
        results.append(result)
    return results


def main(argv: list[str] | None = None) -> int:
    options = report_options(__doc__, "scale-out-results.md", duration=10)
    options.add_argument("--posts", type=int, default=10_000)
    options.add_argument("--connections", type=int, default=16)
    return run_report(options, argv, two_instances)


def two_instances(args: argparse.Namespace, info: dict[str, str]) -> str:
    """The report: the coherence checks, then the load on one instance and on both."""
    flush_redis()
    env = dict(os.environ, DATABASE_URL=fresh_database("postgresql", DATABASE), REDIS_URL=REDIS_URL,
               SECRET_KEY=secrets.token_hex(32), INSTANCE_PATH=str(OUT / "instance"), FLASK_DEBUG="0",
               QUERY_COUNT_HEADER="1", PUBLIC_URL="http://127.0.0.1")  # hosts are compared without the port
    env.pop("SERVER_NAME", None)
    servers: list[Server] = []
    rows: list[str] = []
    try:
        flask(env, "db", "upgrade", timeout=600)
        flask(env, "bench-data", "--posts", str(args.posts), timeout=900 + args.posts / 500)
        a, b = Server("A", "wsgi:app", env), Server("B", "wsgi:app", env)
        servers += [a, b]
        a.wait_ready("/healthz")
        b.wait_ready("/healthz")
        checks = coherence(a, b)
        flush_redis()  # the rate-limit counters of the check; the cache refills itself
        cookie, _ = log_in(a)
        for label, path, headers, logged_in in (
                ("/episodes/bench-500 anonymous, gzip", "/episodes/bench-500", (GZIP,), False),
                ("/episodes/bench-500 logged in", "/episodes/bench-500", (), True)):
            session = cookie if logged_in else None
            page(a, path, session)  # warm both caches
            page(b, path, session)
            one = wrk_both([a], path, args.duration, args.connections, label, headers, session)
            both = wrk_both([a, b], path, args.duration, args.connections, label, headers, session)
            total = sum(r.requests_per_second for r in both)
            rows.append(f"| {label} | {one[0].requests_per_second:,.1f} | "
                        + " | ".join(f"{r.requests_per_second:,.1f} (p50 {r.p50_ms:.1f} ms)" for r in both)
                        + f" | {total:,.1f} | {sum(r.errors for r in one + both)} |")
    finally:
        for server in servers:
            server.stop()
        flush_redis()
        drop_database("postgresql", DATABASE)

    return "\n".join([
        "# Two app instances, one PostgreSQL, one Redis", "",
        "Produced by `bench/scale_out.py`; A and B are gunicorn (2 sync workers each) on two ports of "
        "127.0.0.1, with the same `DATABASE_URL` (PostgreSQL) and `REDIS_URL`.", "",
        "## Machine", "", *[f"- {k}: {v}" for k, v in info.items()],
        f"- data: `flask bench-data --posts {args.posts}`", "",
        "## Coherence (over HTTP)", "", "| what | seen | coherent |", "|---|---|---|", *checks, "",
        "## Load spread over both", "",
        f"wrk for {args.duration} s with {args.connections} connections: all on A, then half on each "
        "(one wrk process per instance, both at once).", "",
        "| page | A alone, req/s | through A | through B | A + B, req/s | errors |", "|---|---:|---:|---:|---:|---:|",
        *rows, "",
        "Both instances share this machine's 2 cores with wrk and PostgreSQL, so two instances here add "
        "coherence, not capacity: on separate hosts each would bring its own cores.", ""])


if __name__ == "__main__":
    sys.exit(main())
