"""Budgets of failed logins that stop guessing without locking the owner out.

Failures are counted in the shared limit storage (Redis, or the database: never one
process's memory, so every worker and host draws on the same budget), three ways:

- per account, for devices it has not logged in from: whoever guesses, from wherever,
  spends it, and the 11th guess is refused before the password is even checked;
- per account and known device: each successful login leaves a signed device cookie,
  and that device gets a budget of its own that nobody else can spend, so an attacker's
  guesses never lock the owner out of the browser they use;
- per client address, across accounts (one address trying many accounts); a known
  device is not held to its address's budget.

A password reset link always works and clears the account's budget (OWASP's "device
cookies" scheme; Discourse and Lobsters have no way in for the owner at all)."""

from __future__ import annotations

import math
import secrets
import time
from dataclasses import dataclass

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer
from limits import RateLimitItem, parse

from community import metrics
from community.extensions import limiter
from community.services import accounts

DEVICE_COOKIE = "gi_device"


@dataclass(frozen=True)
class Attempt:
    account: str  # the user's id, or what was typed when no account matches
    address: str
    device: str | None = None  # the id of a device this account logged in from before


def attempt(typed_login: str, address: str, device_cookie_value: str | None) -> Attempt:
    """The budgets a login attempt draws on: one per account, whether it is typed as a
    username or an email address; the device only when its cookie is this account's."""
    known = accounts.find_by_login(typed_login)
    return Attempt(account=str(known.id) if known else (typed_login or "").strip().lower(), address=address,
                   device=device_of(device_cookie_value, known.id if known else None))


@dataclass(frozen=True)
class Refusal:
    message: str
    retry_after: int  # seconds


def _limit() -> tuple[str, RateLimitItem]:
    text = current_app.config["LOGIN_RATE_LIMIT"]
    return text, parse(text)


def _budgets(attempt: Attempt) -> list[tuple[str, tuple[str, ...]]]:
    """(what it protects, identifiers) for each budget this attempt draws on."""
    if attempt.device:
        return [("device", ("login-device", attempt.account, attempt.device))]
    return [("account", ("login-account", attempt.account)), ("address", ("login-address", attempt.address))]


def refusal(attempt: Attempt) -> Refusal | None:
    """Why this attempt may not even be checked, or None."""
    if not limiter.enabled:
        return None
    text, item = _limit()
    for budget, identifiers in _budgets(attempt):
        if not limiter.limiter.test(item, *identifiers):
            reset_at, _remaining = limiter.limiter.get_window_stats(item, *identifiers)
            wait = max(1, math.ceil(reset_at - time.time()))
            minutes = f"{math.ceil(wait / 60)} minute{'s' if wait > 60 else ''}"
            if budget == "address":
                message = (f"Too many failed logins from your network (the limit is {text}). "
                           f"Please try again in {minutes}.")
            else:
                message = (f"Too many failed logins for this account (the limit is {text}). Please try again in "
                           f"{minutes}. If the account is yours, log in from a browser you have used it on before, "
                           "or reset your password: the reset link always works.")
            metrics.LOGIN_FAILURES.labels(f"{budget}_budget_spent").inc()
            return Refusal(message, wait)
    return None


def spend(attempt: Attempt) -> None:
    """A wrong password: one less guess in every budget the attempt drew on."""
    metrics.LOGIN_FAILURES.labels("bad_credentials").inc()
    if limiter.enabled:
        _text, item = _limit()
        for _budget, identifiers in _budgets(attempt):
            limiter.limiter.hit(item, *identifiers)


def clear_account(user_id: int) -> None:
    """The owner proved themselves another way (a reset link): guessing starts from zero."""
    if limiter.enabled:
        _text, item = _limit()
        limiter.limiter.clear(item, "login-account", str(user_id))


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="login-device")


def device_cookie(user_id: int, current: str | None) -> str:
    """The value for the device cookie after a login: the device keeps its id."""
    device = device_of(current, user_id) or secrets.token_urlsafe(12)
    return _serializer().dumps([user_id, device])


def device_of(cookie: str | None, user_id: int | None) -> str | None:
    """The device id in a genuine cookie of this account, else None."""
    if not cookie or user_id is None:
        return None
    try:
        owner, device = _serializer().loads(cookie)
    except (BadSignature, ValueError, TypeError):
        return None
    return device if owner == user_id and isinstance(device, str) else None
