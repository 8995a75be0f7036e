"""Failed-login budgets: per account from unknown devices, per known device, per address;
a reset gives the owner a fresh start. Counted in the shared limit storage (here the
database, as deployed without Redis)."""

from __future__ import annotations

import pytest

from community.services import login_budgets
from community.services.login_budgets import Attempt


@pytest.fixture
def app_config():
    return {"LOGIN_RATE_LIMIT": "3 per 15 minutes"}


def spend(attempt: Attempt, times: int = 3) -> None:
    for _ in range(times):
        login_budgets.spend(attempt)


def test_guesses_from_anywhere_spend_the_accounts_budget():
    for address in ("203.0.113.1", "203.0.113.2", "198.51.100.7"):
        spend(Attempt(account="42", address=address), times=1)
    refused = login_budgets.refusal(Attempt(account="42", address="192.0.2.99"))
    assert refused is not None and "for this account" in refused.message and "reset your password" in refused.message
    assert 0 < refused.retry_after <= 15 * 60
    assert login_budgets.refusal(Attempt(account="43", address="192.0.2.99")) is None


def test_a_known_device_keeps_its_own_budget():
    spend(Attempt(account="42", address="203.0.113.1"))
    assert login_budgets.refusal(Attempt(account="42", address="203.0.113.1")) is not None
    owner = Attempt(account="42", address="203.0.113.1", device="laptop")
    assert login_budgets.refusal(owner) is None  # the attacker's guesses do not lock the owner out
    spend(owner)
    assert login_budgets.refusal(owner) is not None
    assert login_budgets.refusal(Attempt(account="42", address="198.51.100.7", device="phone")) is None


def test_one_address_trying_many_accounts_is_stopped():
    for account in ("1", "2", "3"):
        spend(Attempt(account=account, address="203.0.113.5"), times=1)
    refused = login_budgets.refusal(Attempt(account="4", address="203.0.113.5"))
    assert refused is not None and "from your network" in refused.message


def test_a_reset_clears_the_accounts_budget():
    spend(Attempt(account="42", address="203.0.113.1"))
    login_budgets.clear_account(42)
    assert login_budgets.refusal(Attempt(account="42", address="198.51.100.7")) is None


def test_a_device_cookie_names_its_device_for_its_account_only():
    cookie = login_budgets.device_cookie(42, None)
    device = login_budgets.device_of(cookie, 42)
    assert device and login_budgets.device_of(cookie, 43) is None
    assert login_budgets.device_of(login_budgets.device_cookie(42, cookie), 42) == device  # kept across logins
    assert login_budgets.device_of(cookie + "x", 42) is None  # a forged cookie names nothing
