"""Load-test the real stack (gunicorn + Flask + SQLite or PostgreSQL) with wrk.

    .venv/bin/python bench/run.py [--posts 10000] [--duration 10] [--connections 16]
                                  [--database sqlite|postgresql] [--rows all|scale|front] [--transcripts 1]
                                  [--out bench/results.md]

Builds a fresh database with `flask bench-data`, serves the app and a hello-world app
with gunicorn on free ports of 127.0.0.1 (nothing else is contacted), runs wrk against
each page anonymously and logged in, plus the comment write path, and writes a Markdown
table to --out (and stdout). Every server it starts is stopped on the way out.
See bench/README.md for what each row means.
"""

from __future__ import annotations

import argparse
import html
import http.client
import http.cookiejar
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
OUT = BENCH / "out"
VENV_BIN = ROOT / ".venv" / "bin"
HOST = "127.0.0.1"  # the only address this script ever talks to
PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_DATABASE = "gi_bench"
BENCH_USER, BENCH_PASSWORD = "bench", "bench-password-123"
USER_AGENT = "gi-bench/1.0"  # the same everywhere: the login session is tied to it
WRK_THREADS = 2
WORKERS = 2


@dataclass
class Result:
    label: str
    path: str
    requests_per_second: float = 0.0
    p50_ms: float = 0.0
    p99_ms: float = 0.0
    requests: int = 0
    errors: int = 0  # non-2xx/3xx responses plus socket errors (timeouts included)
    queries: str = "?"
    notes: list[str] = field(default_factory=list)


def fail(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr)
    raise SystemExit(1)


# ---------------------------------------------------------------- tools and machine

def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        fail("wrk is not installed. Install it (Debian/Ubuntu: sudo apt-get install wrk) and run again.")
    print("wrk not found: installing Debian's wrk with apt-get ...", flush=True)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    install = ["apt-get", "install", "-y", "-q", "wrk"]
    if subprocess.run(install, env=env, capture_output=True, timeout=600).returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True, timeout=600)
        done = subprocess.run(install, env=env, capture_output=True, text=True, timeout=600)
        if done.returncode != 0:
            fail(f"apt-get install wrk failed:\n{done.stderr[-2000:]}")
    return shutil.which("wrk") or fail("wrk still not found after apt-get install")


def prepare() -> dict[str, str]:
    """What every benchmark script does first: wrk at hand, bench/out/ made, and the
    machine described (before the load, so the load average is the machine's own)."""
    ensure_wrk()
    OUT.mkdir(parents=True, exist_ok=True)
    return machine()


def machine() -> dict[str, str]:
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:  # other work on the machine skews every row; say how busy it was
        load = " / ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        load = "unknown"
    wrk_version = subprocess.run(["wrk", "--version"], capture_output=True, text=True).stdout.splitlines()
    return {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpus (nproc)": str(os.cpu_count()),
        "cpu": cpu,
        "python": platform.python_version(),
        "os": platform.platform(),
        "load average at start (1/5/15 min)": load,
        "wrk": wrk_version[0].strip() if wrk_version else "wrk",
    }


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


# ---------------------------------------------------------------- database and data

def fresh_database(kind: str, name: str = PG_DATABASE) -> str:
    OUT.mkdir(parents=True, exist_ok=True)
    if kind == "sqlite":
        path = OUT / "bench.sqlite"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return f"sqlite:///{path}"
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=10) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
    return f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"


def drop_database(kind: str, name: str = PG_DATABASE) -> None:
    if kind != "postgresql":
        return  # the SQLite file stays in bench/out/ for a look afterwards
    import psycopg

    with psycopg.connect(PG_ADMIN_URL, autocommit=True, connect_timeout=10) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def flask(env: dict, *args: str, timeout: float) -> str:
    command = [str(VENV_BIN / "flask"), "--app", "community", *args]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        fail(f"{' '.join(args)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}")
    return done.stdout.strip()


# ---------------------------------------------------------------- servers

class Server:
    """A gunicorn master on a free port of 127.0.0.1, stopped by stop()."""

    def __init__(self, name: str, target: str, env: dict) -> None:
        self.name, self.port, self.env = name, free_port(), env
        self.log = open(OUT / f"gunicorn-{name}.log", "w")
        command = [str(VENV_BIN / "gunicorn"), "--workers", str(WORKERS), "--worker-class", "sync",
                   "--bind", f"{HOST}:{self.port}", "--timeout", "120", target]
        self.process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT)

    @property
    def base(self) -> str:
        return f"http://{HOST}:{self.port}"

    def wait_ready(self, path: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                fail(f"gunicorn ({self.name}) exited early; see {self.log.name}")
            try:
                with urllib.request.urlopen(self.base + path, timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.2)
        fail(f"gunicorn ({self.name}) did not answer {path} within {timeout:.0f} s; see {self.log.name}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # gunicorn's graceful shutdown of its workers
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self.log.close()


# ---------------------------------------------------------------- HTTP helpers

def single(server: Server, method: str, path: str, cookie: str | None = None, body: str | None = None):
    """One request, redirects not followed: (status, X-Query-Count, body)."""
    conn = http.client.HTTPConnection(HOST, server.port, timeout=60)
    headers = {"User-Agent": USER_AGENT}
    if cookie:
        headers["Cookie"] = f"session={cookie}"
    if body is not None:
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    try:
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        return response.status, response.getheader("X-Query-Count", "?"), response.read().decode("utf-8", "replace")
    finally:
        conn.close()


def csrf_token(page: str) -> str:
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page) or \
        re.search(r'value="([^"]+)"[^>]*name="csrf_token"', page)
    if not match:
        fail("no csrf_token hidden input found on the page")
    return html.unescape(match.group(1))


def log_in(server: Server) -> tuple[str, str]:
    """Log in through the real form. Returns (session cookie, a CSRF token valid for it)."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    opener.addheaders = [("User-Agent", USER_AGENT)]
    with opener.open(server.base + "/auth/login", timeout=30) as response:
        token = csrf_token(response.read().decode())
    form = urllib.parse.urlencode({"login": BENCH_USER, "password": BENCH_PASSWORD, "csrf_token": token}).encode()
    opener.open(server.base + "/auth/login", data=form, timeout=30).close()  # checked below, by the cookie
    # The episode page puts the session's CSRF token in its forms (and may update the cookie).
    with opener.open(server.base + "/episodes/bench-500", timeout=60) as response:
        token = csrf_token(response.read().decode())
    cookie = next((c.value for c in jar if c.name == "session"), None)
    if not cookie:
        fail("logging in as 'bench' gave no session cookie (wrong password? was bench-data run?)")
    status, _, _ = single(server, "GET", "/settings/profile", cookie)  # login_required: 302 when logged out
    if status != 200:
        fail(f"the session cookie does not log in (GET /settings/profile answered {status})")
    return cookie, token


# ---------------------------------------------------------------- wrk

_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text.strip())
    return float(match.group(1)) * _UNITS[match.group(2)] if match else float("nan")


def parse_wrk(output: str, result: Result) -> None:
    def find(pattern: str, default: str = "0") -> str:
        match = re.search(pattern, output, re.M)
        return match.group(1) if match else default

    result.requests_per_second = float(find(r"^Requests/sec:\s+([\d.]+)"))
    result.p50_ms = _ms(find(r"^\s+50%\s+(\S+)", "nan"))
    result.p99_ms = _ms(find(r"^\s+99%\s+(\S+)", "nan"))
    result.requests = int(find(r"^\s+(\d+) requests in"))
    non_ok = int(find(r"Non-2xx or 3xx responses:\s+(\d+)"))
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    result.errors = non_ok + (sum(int(n) for n in socket_errors.groups()) if socket_errors else 0)
    if not result.requests:
        result.notes.append("no request completed within the run: each takes longer than the run lasts under load")
    if non_ok:
        result.notes.append(f"{non_ok} non-2xx/3xx responses")
    if socket_errors:
        result.notes.append("socket errors: " + socket_errors.group(0).removeprefix("Socket errors: "))


def run_wrk(result: Result, url: str, args: argparse.Namespace, cookie: str | None = None,
            script_args: list[str] | None = None, headers: tuple[str, ...] = (),
            connections: int | None = None) -> None:
    connections = connections or args.connections
    command = ["wrk", f"-t{min(WRK_THREADS, connections)}", f"-c{connections}", f"-d{args.duration}s", "--latency",
               "--timeout", "30s", "-H", f"User-Agent: {USER_AGENT}"]
    for header in headers:
        command += ["-H", header]
    if cookie:
        command += ["-H", f"Cookie: session={cookie}"]
    if script_args is not None:
        command += ["-s", str(BENCH / "post_comment.lua"), url, "--", *script_args]
    else:
        command.append(url)
    print(f"  wrk {result.label} ...", flush=True)
    done = subprocess.run(command, capture_output=True, text=True, timeout=args.duration + 120)
    name = re.sub(r"[^a-z0-9]+", "-", result.label.lower().replace("/ ", "/home ", 1)).strip("-")
    # The raw output is kept; the session cookie and CSRF token are not written to disk.
    shown = [arg.split("=", 1)[0] + "=..." if arg.startswith("Cookie:") else arg
             for arg in (command[:-len(script_args)] if script_args else command)]
    (OUT / f"wrk-{name}.txt").write_text(" ".join(shown) + "\n\n" + done.stdout + done.stderr)
    if done.returncode != 0:
        fail(f"wrk failed for {result.label}:\n{done.stderr}")
    parse_wrk(done.stdout, result)
    if result.requests and result.errors > result.requests / 2:
        fail(f"{result.label}: {result.errors} errors out of {result.requests} requests; see bench/out/wrk-{name}.txt")


# ---------------------------------------------------------------- report

def table(results: list[Result], hello_rps: float) -> str:
    lines = ["| page | req/s | p50 ms | p99 ms | SQL queries/request | ratio to hello world | errors |",
             "|---|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        ratio = f"{r.requests_per_second / hello_rps:.3f}" if hello_rps else "-"
        queries = "n/a" if r.path.startswith("hello") else r.queries
        lines.append(f"| {r.label} | {r.requests_per_second:,.1f} | {r.p50_ms:.2f} | {r.p99_ms:.2f} | {queries} "
                     f"| {ratio} | {r.errors} |")
    return "\n".join(lines)


def report(args, info, settings, results, notes, data_summary) -> str:
    hello = next((r.requests_per_second for r in results if r.path == "hello"), 0.0)
    parts = ["# GI Community benchmark", "",
             "Produced by `bench/run.py` (`make bench`); see `bench/README.md` for what each row means.", "",
             "## Machine", ""]
    parts += [f"- {key}: {value}" for key, value in info.items()]
    parts += ["", "## Settings", ""]
    parts += [f"- {key}: {value}" for key, value in settings.items()]
    parts += [f"- data: `{data_summary}`", "", "## Results", "", table(results, hello), ""]
    checked = targets(results)
    if checked:
        parts += ["## Targets", ""] + checked + [""]
    row_notes = [f"- {r.label}: {'; '.join(r.notes)}" for r in results if r.notes]
    if notes or row_notes:
        parts += ["## Notes", ""] + [f"- {n}" for n in notes] + row_notes + [""]
    return "\n".join(parts)


# ---------------------------------------------------------------- a report script's course

def report_options(doc: str, out: str, duration: int) -> argparse.ArgumentParser:
    """The options every script that writes a report has (this one, scale.py, scale_out.py):
    --help from the first paragraph of its docstring, seconds per wrk run, and the report's file."""
    found = argparse.ArgumentParser(description=doc.split("\n\n")[0],
                                    formatter_class=argparse.RawDescriptionHelpFormatter)
    found.add_argument("--duration", type=int, default=duration, help="seconds per wrk run")
    found.add_argument("--out", type=Path, default=BENCH / out, help="the Markdown report")
    return found


def run_report(options: argparse.ArgumentParser, argv: list[str] | None,
               measure: Callable[[argparse.Namespace, dict[str, str]], str]) -> int:
    """Such a script from start to end: its options read, the machine prepared and described,
    then the report that `measure(args, machine)` returns written to --out and shown."""
    args = options.parse_args(argv)
    info = prepare()
    publish(measure(args, info), args.out)
    return 0


def publish(text: str, out: Path) -> None:
    """The report written to `out`, and shown after the progress lines."""
    out.write_text(text)
    print("\n" + text)
    print(f"Written to {out}")


# ---------------------------------------------------------------- targets

GZIP = "Accept-Encoding: gzip, deflate, br"  # what every browser sends


def targets(results: list[Result]) -> list[str]:
    """The issue's targets, each checked against this run's figures."""
    by_label = {r.label: r for r in results}
    hello = by_label.get(HELLO_LABEL)

    def ratio(label: str) -> float | None:
        found = by_label.get(label)
        return found.requests_per_second / hello.requests_per_second if found and hello else None

    lines = []

    def check(name: str, value: float | None, goal: str, ok) -> None:
        if value is not None:
            lines.append(f"| {name} | {value:.3f} | {goal} | {'met' if ok(value) else 'NOT met'} |")

    check("anonymous /episodes/bench-500 (gzip, as browsers ask), ratio to hello world",
          ratio("/episodes/bench-500 anonymous, gzip"), ">= 0.5", lambda v: v >= 0.5)
    check("anonymous /episodes/bench-500 (no compression), ratio to hello world",
          ratio("/episodes/bench-500 anonymous"), ">= 0.5", lambda v: v >= 0.5)
    static = next((r for r in results if r.path == "hello-bytes"), None)
    if static and hello:
        lines.append(f"| (bound for the row above: the same number of bytes from bench/hello.py, no work) "
                     f"| {static.requests_per_second / hello.requests_per_second:.3f} | | |")
    check("anonymous / (the activity front page), ratio to hello world", ratio("/ anonymous"), ">= 0.5",
          lambda v: v >= 0.5)
    check("logged-in /episodes/bench-500, ratio to hello world", ratio("/episodes/bench-500 logged in"),
          ">= 0.05", lambda v: v >= 0.05)
    small, big = by_label.get("/episodes/bench-500 uncached"), by_label.get("/episodes/bench-2000 uncached")
    if small and big and big.requests_per_second:
        check("uncached bench-2000 cost / bench-500 cost", small.requests_per_second / big.requests_per_second,
              "<= 4.5", lambda v: v <= 4.5)
    for label in (POST_LABEL + f" ({WORKERS} clients)", POST_LABEL + " (16 clients)"):
        if label in by_label:
            check(f"{label}: p50 ms", by_label[label].p50_ms, "< 25", lambda v: v < 25)
    if not lines:
        return []
    return ["| target | this run | goal | |", "|---|---:|---|---|"] + lines


# ---------------------------------------------------------------- main

HELLO_LABEL = "hello world (bench/hello.py)"
POST_LABEL = "POST /episodes/bench-500/comments logged in"
ROWS = ("all", "scale", "front")


def bench(args: argparse.Namespace) -> tuple[dict, list[Result], list[str], str, float]:
    """Generate the data, serve it, measure each row. Returns (settings, results, notes,
    data summary, seconds spent generating)."""
    database_url = fresh_database(args.database)
    env = dict(os.environ, DATABASE_URL=database_url, SECRET_KEY=secrets.token_hex(32), RATELIMIT_ENABLED="false",
               QUERY_COUNT_HEADER="1", INSTANCE_PATH=str(OUT / "instance"), FLASK_DEBUG="0",
               PUBLIC_URL="http://127.0.0.1")  # hosts are compared without the port
    env.pop("SERVER_NAME", None)  # requests go to 127.0.0.1:<port>; a fixed host name would 404 them
    servers: list[Server] = []
    results: list[Result] = []
    notes: list[str] = []
    try:
        print(f"Database: {args.database}; generating {args.posts:,} posts ...", flush=True)
        flask(env, "db", "upgrade", timeout=600)
        started = time.monotonic()
        data_summary = flask(env, "bench-data", "--posts", str(args.posts), "--transcripts", str(args.transcripts),
                             timeout=900 + args.posts / 500)
        generated_in = time.monotonic() - started
        print(f"  {data_summary} ({generated_in:.1f} s)", flush=True)

        hello = Server("hello", "bench.hello:app", env)
        app = Server("app", "wsgi:app", env)
        # The same app with PAGE_CACHE=false: every view renders the page from the database.
        uncached = Server("uncached", "wsgi:app", dict(env, PAGE_CACHE="false"))
        servers += [hello, app, uncached]
        hello.wait_ready("/")
        app.wait_ready("/healthz")
        uncached.wait_ready("/healthz")
        cookie, token = log_in(app)

        def measure(label: str, path: str, server: Server = app, logged_in: bool = False,
                    headers: tuple[str, ...] = ()) -> Result:
            result = Result(label, path)
            status, result.queries, _ = single(server, "GET", path, cookie if logged_in else None)
            if status >= 400:
                fail(f"GET {path} answered {status} before the run")
            run_wrk(result, server.base + path, args, cookie if logged_in else None, headers=headers)
            results.append(result)
            return result

        slugs = {"all": ("bench-50", "bench-500", "bench-2000"), "scale": ("bench-500", "bench-2000"), "front": ()}[args.rows]
        measure(HELLO_LABEL, "/", hello).path = "hello"
        if args.rows in ("all", "front"):
            # The activity front page (services/activity.py): cached for anonymous readers;
            # rendered per request, with "new since your last visit", for a logged-in one.
            measure("/ anonymous", "/")
            measure("/ anonymous, gzip", "/", headers=(GZIP,))
            measure("/ logged in", "/", logged_in=True)
            measure("/ uncached", "/", uncached)
        if args.rows == "front":
            return settings_for(args, generated_in), results, notes, data_summary, generated_in
        for slug in slugs:
            measure(f"/episodes/{slug} anonymous", f"/episodes/{slug}")
        # What sending that many bytes costs when the app does nothing: the bound for the page.
        size = len(single(app, "GET", "/episodes/bench-500")[2].encode())
        static = measure(f"{size:,} static bytes, the 500-comment page's size (bench/hello.py)", f"/bytes/{size}", hello)
        static.path = "hello-bytes"
        for slug in slugs:
            measure(f"/episodes/{slug} anonymous, gzip", f"/episodes/{slug}", headers=(GZIP,))
        for slug in slugs:
            measure(f"/episodes/{slug} logged in", f"/episodes/{slug}", logged_in=True)
        for slug in ("bench-500", "bench-2000"):
            measure(f"/episodes/{slug} uncached", f"/episodes/{slug}", uncached)
        # bench-500 carries a synthetic two-hour transcript (2,000 segments) beside its 500 comments.
        transcript = "/episodes/bench-500/transcript"
        if args.transcripts:
            measure(f"{transcript} (2,000 segments) anonymous", transcript)
            measure(f"{transcript} (2,000 segments) logged in", transcript, logged_in=True)
            measure(f"{transcript} (2,000 segments) uncached", transcript, uncached)
        if args.rows == "all":
            for path in ("/papers/", "/questions/", "/guests/suggestions"):
                measure(f"{path} anonymous", path)
        measure("/search?q=model anonymous", "/search?q=model")
        measure("/search?q=model logged in", "/search?q=model", logged_in=True)

        if args.rows == "all":
            # The write path last: it adds comments to bench-500. At saturation (16 clients on 2
            # workers) a request mostly waits its turn; one client per worker shows the work itself.
            body = urllib.parse.urlencode({"body": "One comment to count the queries of a post.", "csrf_token": token})
            path = "/episodes/bench-500/comments"
            for clients in (args.connections, WORKERS):
                write = Result(f"{POST_LABEL} ({clients} clients)", path)
                status, write.queries, _ = single(app, "POST", path, cookie, body)
                if status != 302:
                    fail(f"posting a comment answered {status}, not a redirect (bad CSRF token or session?)")
                run_wrk(write, app.base + path, args, script_args=[token, cookie, USER_AGENT], connections=clients)
                results.append(write)
    finally:
        for server in servers:
            server.stop()
        try:
            drop_database(args.database)
        except Exception as error:  # never hide the real failure behind the cleanup
            print(f"bench: could not drop {PG_DATABASE}: {error}", file=sys.stderr)

    return settings_for(args, generated_in), results, notes, data_summary, generated_in


def settings_for(args: argparse.Namespace, generated_in: float) -> dict[str, str]:
    return {
        "database": args.database + (" (bench/out/bench.sqlite, WAL)" if args.database == "sqlite" else
                                     f" ({PG_DATABASE} on 127.0.0.1:5432)"),
        "posts": f"{args.posts:,} (generated in {generated_in:.0f} s); transcripts: {args.transcripts}",
        "server": f"gunicorn, {WORKERS} sync workers, one host",
        "load": f"wrk -t{WRK_THREADS} -c{args.connections} -d{args.duration}s --latency --timeout 30s "
                f"(the POST rows say their client count)",
        "app settings": "RATELIMIT_ENABLED=false, QUERY_COUNT_HEADER=1, in-process cache (no REDIS_URL)"
        if not os.environ.get("REDIS_URL") else "RATELIMIT_ENABLED=false, QUERY_COUNT_HEADER=1, REDIS_URL set",
        "rows": "gzip rows send `" + GZIP + "`; uncached rows are the same app with PAGE_CACHE=false",
    }


def parser() -> argparse.ArgumentParser:
    found = report_options(__doc__, "results.md", duration=10)
    found.add_argument("--posts", type=int, default=10_000, help="posts generated by flask bench-data")
    found.add_argument("--transcripts", type=int, default=1,
                       help="episodes given a 2,000-segment transcript (bench-500 first); 0: the pages as "
                            "before transcripts, to compare with older code")
    found.add_argument("--connections", type=int, default=16, help="wrk connections")
    found.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    found.add_argument("--rows", choices=ROWS, default="all",
                       help="all: every row; scale: the episode pages and search only (bench/scale.py); "
                            "front: hello world and the front page only")
    return found


def bench_report(args: argparse.Namespace, info: dict[str, str]) -> str:
    settings, results, notes, data_summary, _ = bench(args)
    return report(args, info, settings, results, notes, data_summary)


def main(argv: list[str] | None = None) -> int:
    return run_report(parser(), argv, bench_report)


if __name__ == "__main__":
    sys.exit(main())
