"""What the reliability tests share: real gunicorn servers, cookie-keeping HTTP clients
that go through the real forms, throwaway databases, and a TCP proxy that can make
PostgreSQL "go away" without touching the real server.

Nothing here talks to anything but 127.0.0.1. Every server is started in its own
process group and killed in a `finally`; every PostgreSQL database is created with a
name of our own (never `test`) and dropped afterwards.
"""

from __future__ import annotations

import html
import http.client
import json
import os
import re
import secrets
import select
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

import pytest

ROOT = Path(__file__).resolve().parents[2]
try:
    import gunicorn  # noqa: F401 - only whether it imports
    GUNICORN_AVAILABLE = True
except ImportError:
    GUNICORN_AVAILABLE = False
PG_URL = os.environ.get("TEST_DATABASE_URL")

requires_gunicorn = pytest.mark.skipif(
    not GUNICORN_AVAILABLE, reason="gunicorn is not importable: the reliability tests start real gunicorn servers"
)
requires_postgres = pytest.mark.skipif(
    not PG_URL, reason="TEST_DATABASE_URL is unset: the PostgreSQL reliability test needs a server"
)

PASSWORD = "reliability-passphrase-7f3a"
HTTP_TIMEOUT = 60.0  # per request: nothing waits forever, whatever the server does

# Settings a developer's shell may carry that must not leak into the servers we start:
# no shared Redis, no mail, no debug mode, no absolute-URL host.
_STRIPPED_ENV = (
    "REDIS_URL", "MAIL_SERVER", "MAIL_PORT", "MAIL_USERNAME", "MAIL_PASSWORD", "MAIL_USE_TLS", "SERVER_NAME",
    "PUBLIC_URL", "HOST_ALIASES", "TRUSTED_PROXIES",
    "FLASK_DEBUG", "QUERY_COUNT_HEADER", "SESSION_COOKIE_SECURE", "PREFERRED_URL_SCHEME", "DATABASE_URL",
    "SECRET_KEY", "INSTANCE_PATH", "RATELIMIT_ENABLED", "PAPER_METADATA_LOOKUP",
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class MailInbox:
    """A local SMTP server (aiosmtpd) the servers we start mail to: new accounts read their
    confirmation link here, as a person reads it in their inbox. One per test process."""

    def __init__(self):
        from aiosmtpd.controller import Controller

        self.messages: list = []
        self.port = free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's API)
        import email

        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"

    def confirmation_path(self, address: str, wait: float = 60) -> str:
        """The path of the last confirmation link mailed to `address`. The mail is a job: the
        server's job worker sends it after the sign-up commits, so it may take a moment
        (`wait` bounds it; not a timing assertion)."""
        deadline = time.monotonic() + wait
        while True:
            for message in reversed(list(self.messages)):
                if message["To"] == address:
                    found = re.search(r"https?://[^/\s]+(/auth/confirm/\S+)", message.get_payload(decode=True).decode())
                    if found:
                        return found.group(1)
            if time.monotonic() > deadline:
                raise AssertionError(f"no confirmation mail to {address} within {wait:.0f} s")
            time.sleep(0.05)


_inbox: MailInbox | None = None


def mail_inbox() -> MailInbox:
    global _inbox
    if _inbox is None:
        _inbox = MailInbox()
    return _inbox


def app_env(tmp_path: Path, database_url: str) -> dict:
    """The environment of a deployed app, as the README's Deployment section sets it, with
    mail going to this process's local SMTP server (mail_inbox)."""
    env = {k: v for k, v in os.environ.items() if k not in _STRIPPED_ENV}
    instance = tmp_path / "instance"
    instance.mkdir(exist_ok=True)
    env.update(
        SECRET_KEY=secrets.token_hex(32),
        DATABASE_URL=database_url,
        RATELIMIT_ENABLED="false",
        INSTANCE_PATH=str(instance),
        PYTHONUNBUFFERED="1",
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=str(mail_inbox().port),
    )
    return env


FEED = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:itunes="http://www.itunes.com/dtds/podcast-1.0.dtd">
  <channel>
    <title>Reliability Cast</title>
    <link>https://example.org/</link>
    <description>One episode for the reliability tests.</description>
    <item>
      <title>Episode 1: Reliability under load</title>
      <itunes:episode>1</itunes:episode>
      <guid>gi-reliability-episode-1</guid>
      <pubDate>Mon, 04 Jan 2021 10:00:00 +0000</pubDate>
      <description>Votes, replies, crashes and outages.</description>
    </item>
  </channel>
</rss>
"""


def prepare_database(env: dict, tmp_path: Path) -> None:
    """Schema by `flask db upgrade`, one episode by `flask import-feed`: the operator's
    commands, run in this process through Flask's CLI runner (a subprocess per command
    would import the app again each time: seconds on a busy machine)."""
    from community import create_app
    from community.extensions import db

    feed = tmp_path / "reliability-feed.xml"
    feed.write_text(FEED, encoding="utf-8")
    app = create_app({
        "SECRET_KEY": env["SECRET_KEY"], "SQLALCHEMY_DATABASE_URI": env["DATABASE_URL"],
        "RATELIMIT_STORAGE_URI": "memory://", "CACHE_TYPE": "SimpleCache", "MAIL_SERVER": None,
        "PUBLIC_URL": "http://127.0.0.1",
    })
    runner = app.test_cli_runner()
    try:
        for args in (["db", "upgrade"], ["import-feed", str(feed)]):
            with app.app_context():  # as the `flask` command pushes one around every command
                result = runner.invoke(args=args)
            if result.exit_code != 0:
                raise AssertionError(f"flask {' '.join(args)} exited {result.exit_code}:\n{result.output}") from result.exception
    finally:
        with app.app_context():
            db.engine.dispose()


# --------------------------------------------------------------------------- servers


def _no_control_socket() -> list[str]:
    """gunicorn 27 opens a control socket at one fixed path per user (~/.gunicorn/gunicorn.ctl),
    shared with every other gunicorn on the machine; ours need none, and a SIGKILLed master
    would leave it behind."""
    try:
        from gunicorn.config import KNOWN_SETTINGS
    except ImportError:
        return []
    return ["--no-control-socket"] if any(s.name == "control_socket_disable" for s in KNOWN_SETTINGS) else []


class Server:
    """`gunicorn --workers N --bind 127.0.0.1:PORT wsgi:app` in its own process group, and
    beside it, as deployed, one job worker (`flask --app community worker`: it sends the mail)."""

    def __init__(self, env: dict, log_path: Path, workers: int = 4, lifetime: float = 240, config: Path | None = None):
        """`config`: a gunicorn config file (deploy/gunicorn.conf.py) instead of the bare flags."""
        self.env, self.log_path, self.workers, self.config = env, log_path, workers, config
        self.proc: subprocess.Popen | None = None
        self.jobs: subprocess.Popen | None = None  # the job worker; it outlives gunicorn restarts
        self.port = 0
        # A watchdog bounds every test: past its lifetime the server is killed, so no
        # client can wait on it forever and the test fails instead of hanging.
        self.lifetime = lifetime
        self._watchdog: threading.Timer | None = None
        self.expired = False

    def _expire(self) -> None:
        if not self.running:
            return
        self.expired = True
        with open(self.log_path, "ab") as log:
            log.write(f"\n===== watchdog: killed after {self.lifetime:.0f} s =====\n".encode())
        self.kill(signal.SIGKILL)

    def start(self, timeout: float = 90) -> "Server":
        for _attempt in range(3):  # a free port can be taken between our probe and gunicorn's bind
            self.port = free_port()
            with open(self.log_path, "ab") as log:
                log.write(f"\n===== starting gunicorn on 127.0.0.1:{self.port} =====\n".encode())
                log.flush()
                # The site's address, as the deployment steps set it (the app requires it).
                env = {"PUBLIC_URL": f"http://127.0.0.1:{self.port}", **self.env}
                config = ["--config", str(self.config)] if self.config else []
                self.proc = subprocess.Popen(
                    [sys.executable, "-m", "gunicorn", *config, "--workers", str(self.workers),
                     "--bind", f"127.0.0.1:{self.port}", "--graceful-timeout", "5", *_no_control_socket(), "wsgi:app"],
                    cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                )
            if self._wait_ready(timeout):
                if self.jobs is None or self.jobs.poll() is not None:
                    with open(self.log_path.with_suffix(".jobs.log"), "ab") as log:
                        self.jobs = subprocess.Popen(
                            [sys.executable, "-m", "flask", "--app", "community", "worker"],
                            cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
                if self._watchdog is None:
                    self._watchdog = threading.Timer(self.lifetime, self._expire)
                    self._watchdog.daemon = True
                    self._watchdog.start()
                return self
            if self.proc.poll() is not None and "Address already in use" in self.log_text():
                continue
            self.stop()
            raise AssertionError(f"gunicorn did not become ready within {timeout:.0f} s:\n{self.log_tail()}")
        raise AssertionError(f"gunicorn could not bind a free port:\n{self.log_tail()}")

    def _wait_ready(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                if Client(self.port, timeout=10).get("/healthz").status == 200:
                    return True
            except OSError:
                pass
            time.sleep(0.1)
        return False

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Signal the whole process group: the master and every worker at once."""
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, sig)
        except ProcessLookupError:
            pass
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=30)

    def stop(self) -> None:
        """SIGTERM (graceful), SIGKILL if that takes too long; then SIGKILL any straggler in the group."""
        if self._watchdog is not None:
            self._watchdog.cancel()
        if self.jobs is not None and self.jobs.poll() is None:
            self.jobs.terminate()  # running jobs finish first
            try:
                self.jobs.wait(timeout=40)
            except subprocess.TimeoutExpired:
                self.jobs.kill()
                self.jobs.wait()
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.kill(signal.SIGTERM)
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass

    def worker_pids(self) -> set[int]:
        try:
            children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text()
        except OSError:
            return set()
        return {int(pid) for pid in children.split()}

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def log_tail(self, chars: int = 6000) -> str:
        return self.log_text()[-chars:]

    def tracebacks(self) -> list[str]:
        """Every Python traceback the server logged (what a 500 leaves behind)."""
        return re.findall(r"Traceback \(most recent call last\):.*?(?=\n\S*\[\d{4}-|\n=====|\Z)", self.log_text(), re.S)


# ------------------------------------------------------------------------------ HTTP


@dataclass
class Response:
    status: int
    headers: http.client.HTTPMessage
    text: str

    @property
    def location(self) -> str:
        return self.headers.get("Location", "")

    def json(self):
        return json.loads(self.text)

    def message(self) -> str:
        """The human-readable text of the answer: the JSON error, or the page's visible text."""
        try:
            data = self.json()
            return str(data.get("detail") or data.get("error") or data) if isinstance(data, dict) else str(data)
        except ValueError:
            body = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", self.text, flags=re.S)
            return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


_INPUT_RE = re.compile(r"<input\b[^>]*>", re.I)
_ANCHOR_RE = re.compile(r"#c(\d+)$")


def csrf_token_in(page: str) -> str:
    for tag in _INPUT_RE.findall(page):
        if re.search(r'\bname="csrf_token"', tag):
            value = re.search(r'\bvalue="([^"]*)"', tag)
            if value:
                return html.unescape(value.group(1))
    raise AssertionError("no csrf_token hidden input on the page")


def post_id_from(location: str) -> int:
    """A new post's id from the '#c<id>' anchor of the redirect."""
    match = _ANCHOR_RE.search(location)
    if not match:
        raise AssertionError(f"no #c<id> anchor in Location {location!r}")
    return int(match.group(1))


class Client:
    """A browser without JavaScript: its own cookie jar, one connection per request, no redirects followed."""

    def __init__(self, port: int, timeout: float = HTTP_TIMEOUT):
        self.port, self.timeout = port, timeout
        self.cookies: dict[str, str] = {}
        self.token = ""  # the CSRF token of the last form page fetched
        self.username = ""

    def request(self, method: str, path: str, data: dict | None = None, headers: dict | None = None) -> Response:
        body = urlencode(data).encode() if data is not None else None
        sent = {"Host": f"127.0.0.1:{self.port}", "User-Agent": "gi-reliability-tests", "Connection": "close"}
        if body is not None:
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        sent.update(headers or {})
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        try:
            conn.request(method, path, body=body, headers=sent)
            raw = conn.getresponse()
            payload = raw.read()
        except http.client.HTTPException as error:  # e.g. a response cut off by a dying server
            raise ConnectionError(f"{type(error).__name__}: {error}") from error
        finally:
            conn.close()
        for header in raw.headers.get_all("Set-Cookie") or []:
            jar = SimpleCookie()
            jar.load(header)
            for name, morsel in jar.items():
                if morsel["max-age"] == "0" or "1970" in morsel["expires"]:
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        return Response(raw.status, raw.headers, payload.decode("utf-8", "replace"))

    def clone(self) -> "Client":
        """The same browser in a second tab: same session cookie and CSRF token, its own jar from now on."""
        twin = Client(self.port, self.timeout)
        twin.cookies, twin.token, twin.username = dict(self.cookies), self.token, self.username
        return twin

    def get(self, path: str, **kwargs) -> Response:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, data: dict, **kwargs) -> Response:
        return self.request("POST", path, data=data, **kwargs)

    def fetch_token(self, path: str) -> str:
        page = self.get(path)
        assert page.status == 200, f"GET {path}: {page.status}\n{page.message()[:500]}"
        self.token = csrf_token_in(page.text)
        return self.token

    def register(self, username: str, password: str = PASSWORD, confirm: bool = True) -> None:
        """Sign up through the real form (which also logs in), then (confirm=True) open the
        confirmation link mailed to the address (see mail_inbox), so that the account may write."""
        token = self.fetch_token("/auth/register")
        response = self.post("/auth/register", {
            "csrf_token": token, "username": username, "email": f"{username}@example.org",
            "password": password, "confirm": password,
        })
        assert response.status == 302, f"register {username}: {response.status}\n{response.message()[:1000]}"
        self.username = username
        if not confirm:
            return
        link = mail_inbox().confirmation_path(f"{username}@example.org")
        confirmed = self.post(link, {"csrf_token": self.fetch_token(link)})
        assert confirmed.status == 302, f"confirm {username}: {confirmed.status}\n{confirmed.message()[:1000]}"

    def login(self, username: str, password: str = PASSWORD) -> None:
        token = self.fetch_token("/auth/login")
        response = self.post("/auth/login", {"csrf_token": token, "login": username, "password": password})
        assert response.status == 302, f"login {username}: {response.status}\n{response.message()[:1000]}"
        self.username = username

    def comment(self, slug: str, body: str) -> Response:
        return self.post(f"/episodes/{slug}/comments", {"csrf_token": self.token, "body": body})


def first_episode_slug(port: int) -> str:
    response = Client(port).get("/api/v1/episodes")
    assert response.status == 200, response.text[:500]
    return response.json()["episodes"][0]["slug"]


# ------------------------------------------------------------------------- databases


class SqliteDatabase:
    def __init__(self, path: Path):
        self.path = path
        self.url = f"sqlite:///{path}"

    def query(self, sql: str, params: dict | None = None) -> list[tuple]:
        import sqlite3

        conn = sqlite3.connect(self.path, timeout=30)
        try:
            return [tuple(row) for row in conn.execute(sql, params or {})]
        finally:
            conn.close()

    def drop(self) -> None:
        pass


class PgDatabase:
    """A database of our own on the TEST_DATABASE_URL server: never the shared `test` one."""

    def __init__(self, tag: str, server_url: str | None = None):
        from sqlalchemy.engine import make_url

        self.server_url = make_url(server_url or PG_URL)
        self.name = f"gi_reliability_{tag}_{os.getpid()}_{secrets.token_hex(3)}"
        assert self.name != "test"
        self.url_obj = self.server_url.set(database=self.name)
        self.url = self.url_obj.render_as_string(hide_password=False)
        self._admin("CREATE DATABASE {}")

    def _admin(self, statement: str) -> None:
        from sqlalchemy import create_engine, text
        from sqlalchemy.pool import NullPool

        engine = create_engine(self.server_url.set(database="postgres"), poolclass=NullPool, isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                conn.execute(text(statement.format(f'"{self.name}"')))
        finally:
            engine.dispose()

    def url_via(self, host: str, port: int) -> str:
        return self.url_obj.set(host=host, port=port).render_as_string(hide_password=False)

    @property
    def host(self) -> str:
        return self.server_url.host or "127.0.0.1"

    @property
    def port(self) -> int:
        return self.server_url.port or 5432

    def query(self, sql: str, params: dict | None = None) -> list[tuple]:
        from sqlalchemy import create_engine, text
        from sqlalchemy.pool import NullPool

        engine = create_engine(self.url, poolclass=NullPool)
        try:
            with engine.connect() as conn:
                return [tuple(row) for row in conn.execute(text(sql), params or {})]
        finally:
            engine.dispose()

    def drop(self) -> None:
        self._admin("DROP DATABASE IF EXISTS {} WITH (FORCE)")


# ---------------------------------------------------------------------------- proxy


class FlakyProxy:
    """127.0.0.1:<port> forwarding to the database server, with an outage switch.

    forward(): a plain TCP forwarder. cut(): every open connection is reset and new ones
    are accepted and reset at once (the server "crashed"). refuse(): the port is closed,
    so connecting is refused (the server is "down"). stall(): nothing moves any more and
    new connections are accepted but never answered (a network partition: packets
    dropped, no RST). forward() again reopens the same port and resets what stall() held.
    """

    def __init__(self, target_host: str, target_port: int):
        self.target = (target_host, target_port)
        self.mode = "forward"
        self._lock = threading.Lock()
        self._pairs: set[tuple[socket.socket, socket.socket]] = set()
        self._held: list[socket.socket] = []
        self._stop = threading.Event()
        self.listener: socket.socket | None = self._bind(0)
        self.port = self.listener.getsockname()[1]
        self.forwarded = self.reset = 0
        self._thread = threading.Thread(target=self._serve, name="flaky-proxy", daemon=True)
        self._thread.start()

    @staticmethod
    def _bind(port: int) -> socket.socket:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))
        s.listen(128)
        return s

    @staticmethod
    def _abort(sock: socket.socket) -> None:
        """Close with RST, as a crashed peer would."""
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        sock.close()

    def _serve(self) -> None:
        while not self._stop.is_set():
            listener = self.listener
            if listener is None:
                time.sleep(0.02)
                continue
            try:
                ready, _, _ = select.select([listener], [], [], 0.05)
                if not ready:
                    continue
                client, _ = listener.accept()
            except (OSError, ValueError):
                continue
            if self.mode == "stall":
                with self._lock:
                    self._held.append(client)
                continue
            if self.mode != "forward":
                self.reset += 1
                self._abort(client)
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
                upstream.settimeout(None)
            except OSError:
                self._abort(client)
                continue
            pair = (client, upstream)
            with self._lock:
                self._pairs.add(pair)
            self.forwarded += 1
            for src, dst in (pair, pair[::-1]):
                threading.Thread(target=self._pump, args=(src, dst, pair), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket, pair) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                while self.mode == "stall" and not self._stop.is_set():
                    time.sleep(0.05)
                dst.sendall(data)
        except OSError:
            pass
        finally:
            self._close_pair(pair)

    def _close_pair(self, pair, abort: bool = False) -> None:
        with self._lock:
            self._pairs.discard(pair)
        for sock in pair:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            if abort:
                self._abort(sock)
            else:
                sock.close()

    def _drop_connections(self) -> None:
        with self._lock:
            pairs = list(self._pairs)
        for pair in pairs:
            self._close_pair(pair, abort=True)

    def cut(self) -> None:
        self.mode = "reset"
        self._drop_connections()

    def refuse(self) -> None:
        self.mode = "refuse"
        listener, self.listener = self.listener, None
        if listener is not None:
            listener.close()
        self._drop_connections()

    def stall(self) -> None:
        self.mode = "stall"

    def forward(self) -> None:
        if self.listener is None:
            self.listener = self._bind(self.port)
        self._release_held()
        self.mode = "forward"

    def _release_held(self) -> None:
        with self._lock:
            held, self._held = self._held, []
        for sock in held:
            self._abort(sock)

    def close(self) -> None:
        self._stop.set()
        if self.listener is not None:
            self.listener.close()
            self.listener = None
        self._release_held()
        self._drop_connections()
        self._thread.join(5)


# --------------------------------------------------------------------------- helpers


@contextmanager
def site_behind_flaky_proxy(name: str, tmp_path: Path, server_url: str | None = None):
    """(database, proxy, server): a gunicorn site on a throwaway PostgreSQL database that it
    reaches only through a FlakyProxy, which the caller stalls, cuts or refuses; migrated
    and seeded straight at the server. Stopped, closed and dropped on the way out."""
    pg = PgDatabase(name, server_url)
    proxy = server = None
    try:
        env = app_env(tmp_path, pg.url)
        prepare_database(env, tmp_path)  # straight to the server: the proxy is only for the app
        proxy = FlakyProxy(pg.host, pg.port)
        env["DATABASE_URL"] = pg.url_via("127.0.0.1", proxy.port)
        server = Server(env, tmp_path / "gunicorn.log").start()
        yield pg, proxy, server
    finally:
        if server is not None:
            server.stop()
        if proxy is not None:
            proxy.close()
        pg.drop()


@dataclass
class Outcome:
    """One request's fate, as the client saw it."""

    kind: str
    status: int | None = None
    message: str = ""
    location: str = ""
    error: str = ""
    elapsed: float = 0.0
    extra: dict = field(default_factory=dict)


def clean_retryable(outcome: Outcome) -> bool:
    """A refusal the client can act on: 429/503 carrying a human-readable message."""
    return outcome.status in (429, 503) and len(outcome.message.strip()) > 0


def run_in_threads(jobs, max_workers: int | None = None, timeout: float = 180) -> list:
    """Run callables in threads; results in order; an exception in a job is re-raised here."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=max_workers or len(jobs)) as pool:
        futures = [pool.submit(job) for job in jobs]
        return [f.result(timeout=timeout) for f in futures]
