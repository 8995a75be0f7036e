"""Fixtures: an app per test on SQLite, and on PostgreSQL too when TEST_DATABASE_URL is set."""

from __future__ import annotations

import html
import os
import shutil
import threading
import re
import secrets
import tempfile
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from itsdangerous import URLSafeTimedSerializer
from jinja2 import BytecodeCache
from werkzeug.routing import Rule
from werkzeug.serving import make_server
from sqlalchemy import create_engine, text

from community import create_app
from community.config import DEFAULTS
from community.extensions import db
from tests.factories import Factories

# Every test builds its own app, and Werkzeug compiles two URL builders per route for each
# (ast + compile: 95% of create_app, ~130 routes). A builder depends only on its rule's text,
# defaults and converters and takes the rule as its first argument, so one compiled builder
# serves that rule in every app of the run. Only the compiling is shared: URLs are built as before.
_compiled_builders: dict = {}
_compile_builder = Rule._compile_builder


def _shared_builder(rule: Rule, append_unknown: bool = True):
    key = (rule.rule, tuple(rule._trace), append_unknown, repr(sorted((rule.defaults or {}).items())),
           tuple((name, type(conv).__name__, repr({k: v for k, v in vars(conv).items() if k != "map"}))
                 for name, conv in sorted(rule._converters.items())))
    builder = _compiled_builders.get(key)
    if builder is None:
        builder = _compiled_builders[key] = _compile_builder(rule, append_unknown)
    return builder


Rule._compile_builder = _shared_builder


class _SharedTemplateCode(BytecodeCache):
    """Likewise each app's Jinja environment compiles every template it renders again; the
    compiled code is kept for the run (Jinja checks it against the template's source)."""

    def __init__(self):
        self.code: dict[str, bytes] = {}

    def load_bytecode(self, bucket) -> None:
        if bucket.key in self.code:
            bucket.bytecode_from_string(self.code[bucket.key])

    def dump_bytecode(self, bucket) -> None:
        self.code[bucket.key] = bucket.bytecode_to_string()


_template_code = _SharedTemplateCode()

def _own_servers_per_worker() -> None:
    """Under pytest-xdist (`make test` runs two workers) each worker gets a PostgreSQL
    database and a Redis database of its own, so one worker's TRUNCATE or FLUSHDB never
    empties the other's tables in the middle of a test. Set in the environment before any
    test module reads it, so gunicorn servers the tests start inherit it too."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")
    index = int(worker.removeprefix("gw") or 0)
    if index == 0:
        return  # the first worker (or no xdist) keeps the names it was given
    from sqlalchemy.engine import make_url
    from sqlalchemy.pool import NullPool

    if url := os.environ.get("TEST_DATABASE_URL"):
        server = make_url(url)
        name = f"{server.database}_{worker}"
        admin = create_engine(server.set(database="postgres"), poolclass=NullPool, isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as conn:
                if conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).first() is None:
                    conn.execute(text(f'CREATE DATABASE "{name}"'))
        finally:
            admin.dispose()
        os.environ["TEST_DATABASE_URL"] = server.set(database=name).render_as_string(hide_password=False)
    if url := os.environ.get("TEST_REDIS_URL"):
        base, _, number = url.rpartition("/")
        os.environ["TEST_REDIS_URL"] = f"{base}/{int(number or 0) - index}"  # 15 -> 14, ...


_own_servers_per_worker()
PG_URL = os.environ.get("TEST_DATABASE_URL")
DATABASES = ["sqlite"] + (["postgresql"] if PG_URL else [])
_pg_schema_ready = False


class CSRFClient(FlaskClient):
    """A browser-like client: form POSTs carry a valid CSRF token unless csrf=False."""

    def csrf_token(self) -> str:
        """What Flask-WTF puts in a rendered form: the session's raw token, signed."""
        with self.session_transaction() as sess:
            raw = sess.setdefault("csrf_token", secrets.token_hex(20))
        return URLSafeTimedSerializer(self.application.secret_key, salt="wtf-csrf-token").dumps(raw)

    def open(self, *args, **kwargs):
        """Each request in its own app context, as in production: a fresh `g` (so the
        logged-in user is looked up again) and a fresh database session."""
        with self.application.app_context():
            return super().open(*args, **kwargs)

    def post(self, *args, csrf: bool = True, **kwargs):
        data = kwargs.get("data")
        if csrf and (data is None or isinstance(data, dict)) and "json" not in kwargs:
            data = dict(data or {})
            data.setdefault("csrf_token", self.csrf_token())
            kwargs["data"] = data
        return super().post(*args, **kwargs)


def _check_postgres() -> None:
    """When PostgreSQL was asked for, an unreachable server is a failure, never a skip."""
    engine = create_engine(PG_URL)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as error:  # pragma: no cover - the CI machine has it running
        pytest.fail(f"TEST_DATABASE_URL is set but PostgreSQL cannot be reached: {error}", pytrace=False)
    finally:
        engine.dispose()


# The deployed argon2 cost, for the tests about the hash itself (parameters, timing).
DEPLOYED_PASSWORD_HASH = {key: DEFAULTS[key] for key in ("PASSWORD_HASH_MEMORY_KIB", "PASSWORD_HASH_TIME_COST")}


def make_test_app(database: str, tmp_path, **overrides):
    uri = f"sqlite:///{tmp_path / 'test.sqlite'}" if database == "sqlite" else PG_URL
    config = {
        "TESTING": True,
        "SECRET_KEY": "test-secret",
        "SQLALCHEMY_DATABASE_URI": uri,
        "SERVER_NAME": "localhost",
        "RATELIMIT_STORAGE_URI": "community+db://",  # as deployed without Redis: counters in the database
        "CACHE_TYPE": "SimpleCache",
        "MAIL_SERVER": None,
        "MAIL_ASYNC": False,
        # argon2id at its lowest cost: what is tested is which password opens which account,
        # not the cost (test_accounts checks the deployed parameters with the real ones).
        "PASSWORD_HASH_MEMORY_KIB": 8, "PASSWORD_HASH_TIME_COST": 1,
        # A page shows every write at once: tests read right after writing, often not as
        # the writer (tests/views/test_hot_thread.py tests the staleness window itself).
        "PAGE_STALE_SECONDS": 0,
        "FEED_FETCH_ALLOWED_NETWORKS": ("127.0.0.1/32",),  # the tests' HTTP servers run there
    }
    config.update(overrides)
    app = create_app(config)
    app.jinja_env.bytecode_cache = _template_code
    app.test_client_class = CSRFClient
    return app


_sqlite_template: Path | None = None
# Every table emptied, children first, and every id counting from 1 again, in one round trip.
# Not TRUNCATE: it gives each of ~50 tables and their indexes new files, ~200 ms a test
# (5 minutes of a run); deleting the few rows a test wrote takes a few milliseconds.
_EMPTY_POSTGRES = "".join(f'DELETE FROM "{table.name}";' for table in reversed(db.metadata.sorted_tables)) + (
    "SELECT setval((quote_ident(schemaname) || '.' || quote_ident(sequencename))::regclass, 1, false) FROM pg_sequences"
    " WHERE schemaname = current_schema();")


def reset_database(app, database: str) -> None:
    """An empty schema for the test. SQLite: the schema is built once per test session and
    copied per test (a file copy costs 0.4 ms, create_all 17 ms). PostgreSQL: built once,
    emptied per test (_EMPTY_POSTGRES)."""
    global _pg_schema_ready, _sqlite_template
    with app.app_context():
        if database == "sqlite":
            target = Path(db.engine.url.database or ":memory:")
            if not target.is_absolute():  # in memory: nothing to copy into
                db.create_all()
                return
            if _sqlite_template is not None and not target.exists():  # nothing has connected yet
                shutil.copyfile(_sqlite_template, target)
                return
            db.create_all()
            if _sqlite_template is None:
                db.engine.dispose()  # checkpoints the WAL into the file
                _sqlite_template = Path(tempfile.mkdtemp(prefix="gi-schema-")) / "schema.sqlite"
                shutil.copyfile(target, _sqlite_template)
            return
        if not _pg_schema_ready:
            _check_postgres()
            with db.engine.begin() as conn:  # whatever an older checkout left behind goes too
                conn.execute(text("DROP SCHEMA public CASCADE"))
                conn.execute(text("CREATE SCHEMA public"))
            db.create_all()
            _pg_schema_ready = True
        with db.engine.begin() as conn:
            conn.exec_driver_sql(_EMPTY_POSTGRES)


@pytest.fixture(params=DATABASES)
def database(request) -> str:
    return request.param


@pytest.fixture
def app_config() -> dict:
    """Override in a test module to change settings for its app."""
    return {}


@pytest.fixture
def app(database, tmp_path, app_config):
    app = make_test_app(database, tmp_path, **app_config)
    reset_database(app, database)
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def client(app) -> CSRFClient:
    return app.test_client()


@pytest.fixture
def factories(app) -> Factories:
    return Factories()


@pytest.fixture
def login(client):
    """login(user) logs the test client in through the real login form."""

    def do_login(user, password: str = Factories.PASSWORD, the_client=None):
        the_client = the_client or client
        response = the_client.post("/auth/login", data={"login": user.username, "password": password})
        assert response.status_code == 302, response.get_data(as_text=True)[:2000]
        return the_client

    return do_login


def text_of(response) -> str:
    """The visible text of a page, whitespace folded (what a reader would see)."""
    body = response.get_data(as_text=True)
    body = re.sub(r"<(script|style)[^>]*>.*?</\1>", " ", body, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


class QueryCounter:
    def __init__(self):
        self.statements: list[str] = []

    def __call__(self, conn, cursor, statement, *args):
        self.statements.append(statement)

    @property
    def count(self) -> int:
        return len(self.statements)


@pytest.fixture
def count_queries(app):
    """with count_queries() as q: ...; q.count is the number of SQL statements run."""
    from contextlib import contextmanager

    from sqlalchemy import event

    @contextmanager
    def counting():
        counter = QueryCounter()
        event.listen(db.engine, "before_cursor_execute", counter)
        try:
            yield counter
        finally:
            event.remove(db.engine, "before_cursor_execute", counter)

    return counting


def pytest_collection_modifyitems(items):
    """Every test that drives a real browser carries the e2e mark (a `pytestmark` in a
    conftest marks nothing), so `-m "not e2e"` leaves exactly the browser out."""
    for item in items:
        if "browser" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.e2e)


# --------------------------------------------------------------------------- browsers
# Shared by tests/e2e and tests/security: one Playwright (and one chromium) per session.

CHROMIUM = shutil.which("chromium")


@pytest.fixture
def live_app(tmp_path):
    app = make_test_app("sqlite", tmp_path, SERVER_NAME=None)
    with app.app_context():
        db.create_all()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    app.base_url = f"http://127.0.0.1:{server.server_port}"
    try:
        yield app
    finally:
        server.shutdown()
        with app.app_context():
            db.engine.dispose()


@pytest.fixture
def data(live_app):
    """Factories bound to the live server's database."""
    with live_app.app_context():
        yield Factories()


@pytest.fixture(scope="session")
def browser():
    if CHROMIUM is None:
        pytest.skip("Debian's chromium is not installed (make test installs it with apt-get when it can)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--disable-gpu"],
        )
        yield browser
        browser.close()


@pytest.fixture(params=[True, False], ids=["js", "nojs"])
def javascript(request) -> bool:
    return request.param


@pytest.fixture
def new_page(browser, live_app):
    """new_page(js=True) -> a page in a fresh browser context (its own cookies)."""
    contexts = []

    def make(js: bool = True, **options):
        context = browser.new_context(java_script_enabled=js, base_url=live_app.base_url, **options)
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        page.dialogs = []
        page.on("dialog", lambda dialog: (page.dialogs.append(dialog.message), dialog.dismiss()))
        return page

    yield make
    for context in contexts:
        context.close()
