"""Login and sign-up limits hold across gunicorn workers without Redis, and an attacker
cannot lock the owner out (issue 15, item 5).

gunicorn with 4 workers, no REDIS_URL, limits on, behind one trusted proxy (so each
attacker request can come from another address through X-Forwarded-For, as through
nginx), on SQLite and on PostgreSQL:
- the 11th wrong password for an account is refused, whichever worker answers;
- 50 more wrong passwords from 50 other addresses do not stop the owner: from the browser
  they logged in with before, the right password works; from a new browser, the reset
  link that arrives by mail (a real local SMTP server) works and clears the budget;
- the 11th sign-up from one address within the hour is refused (the limit is 10).
"""

from __future__ import annotations

import re

import pytest
from aiosmtpd.controller import Controller

from tests.reliability.support import (
    PASSWORD, PG_URL, Client, PgDatabase, Server, app_env, csrf_token_in, prepare_database, requires_gunicorn,
)
from tests.views.test_smtp import Inbox, free_port  # the same local SMTP inbox

pytestmark = [requires_gunicorn, pytest.mark.reliability]


def attempt(port: int, login: str, password: str, address: str, client: Client | None = None):
    client = client or Client(port)
    headers = {"X-Forwarded-For": address}
    token = csrf_token_in(client.get("/auth/login", headers=headers).text)
    return client.post("/auth/login", {"csrf_token": token, "login": login, "password": password}, headers=headers)


@pytest.mark.parametrize("database", ["sqlite", pytest.param("postgresql", marks=pytest.mark.skipif(
    not PG_URL, reason="TEST_DATABASE_URL is unset"))])
def test_guessing_is_stopped_across_workers_and_the_owner_still_gets_in(database, tmp_path):
    inbox = Inbox()
    smtp = Controller(inbox, hostname="127.0.0.1", port=free_port())
    smtp.start()
    pg = PgDatabase("budgets") if database == "postgresql" else None
    server = None
    try:
        env = app_env(tmp_path, pg.url if pg else f"sqlite:///{tmp_path / 'budgets.sqlite'}")
        env.update(RATELIMIT_ENABLED="true", TRUSTED_PROXIES="1", MAIL_SERVER="127.0.0.1", MAIL_PORT=str(smtp.port))
        prepare_database(env, tmp_path)
        server = Server(env, tmp_path / "gunicorn.log", workers=4).start()
        port = server.port

        owner = Client(port)
        # From 192.0.2.1 below; registering logs in. Mail goes to this test's inbox: no confirming.
        owner.register("owner_ada", confirm=False)
        assert owner.post("/auth/logout", {"csrf_token": owner.fetch_token("/settings/profile")}).status == 302
        owner_browser = owner.clone()
        assert attempt(port, "owner_ada", PASSWORD, "192.0.2.1", owner_browser).status == 302  # leaves the device cookie
        assert owner_browser.post("/auth/logout", {"csrf_token": owner_browser.fetch_token("/settings/profile")}).status == 302

        statuses = [attempt(port, "owner_ada", f"guess {i}", f"198.51.100.{i}").status for i in range(11)]
        assert statuses == [422] * 10 + [429], statuses  # the 11th wrong password is refused
        more = [attempt(port, "owner_ada", f"guess {i}", f"203.0.113.{i}") for i in range(50)]
        assert {r.status for r in more} == {429}
        assert "reset your password" in more[-1].message()
        assert len(server.worker_pids()) == 4

        # A new browser, even with the right password, is held to the account's budget ...
        stranger_browser = attempt(port, "owner_ada", PASSWORD, "192.0.2.1")
        assert stranger_browser.status == 429
        # ... but the browser the owner used before has a budget of its own.
        assert attempt(port, "owner_ada", PASSWORD, "192.0.2.1", owner_browser).status == 302

        # From a new browser: the reset link always works, and clears the account's budget.
        new_browser = Client(port)
        token = csrf_token_in(new_browser.get("/auth/reset").text)
        assert new_browser.post("/auth/reset", {"csrf_token": token, "email": "owner_ada@example.org"},
                                headers={"X-Forwarded-For": "192.0.2.7"}).status == 302
        link = re.search(r"https?://[^/\s]+(/auth/reset/\S+)", inbox.messages[-1].get_payload(decode=True).decode())
        new_password = "a brand new long passphrase"
        token = csrf_token_in(new_browser.get(link.group(1)).text)
        assert new_browser.post(link.group(1), {"csrf_token": token, "password": new_password,
                                                "confirm": new_password}).status == 302
        assert attempt(port, "owner_ada", new_password, "192.0.2.8").status == 302

        # Sign-ups: 10 per hour from one address, counted across the 4 workers.
        signups = []
        for i in range(12):
            client = Client(port)
            headers = {"X-Forwarded-For": "198.51.100.200"}
            token = csrf_token_in(client.get("/auth/register", headers=headers).text)
            signups.append(client.post("/auth/register", {
                "csrf_token": token, "username": f"signup_{i}", "email": f"signup_{i}@example.org",
                "password": PASSWORD, "confirm": PASSWORD}, headers=headers).status)
        assert signups == [302] * 10 + [429] * 2, signups
        assert not server.tracebacks(), server.tracebacks()[-1]
    finally:
        if server is not None:
            server.stop()
        smtp.stop()
        if pg is not None:
            pg.drop()
