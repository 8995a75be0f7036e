"""What every worker and host must share (rate-limit counters, cached pages), and how the
site degrades when Redis, which holds them, is down: pages render uncached and the
counters move to the database. Never one process's memory: with 4 gunicorn workers that
would be 4 budgets, and a limit of 10 would let 40 through.

- `breaker`: after a Redis error Redis is left alone for a few seconds, so a dead Redis
  costs one failed connection per process per pause, not one per request.
- `TolerantRedisCache`: flask-caching's RedisCache, where a Redis failure reads as a miss.
- `DatabaseStorage`: a `limits` storage (fixed windows) in the rate_counters table: the
  storage when no Redis is configured (`community+db://`).
- `RedisOrDatabaseStorage`: Redis, and the database while Redis is down
  (`community+redis://host:6379/0`).
"""

from __future__ import annotations

import itertools
import logging
import time
from functools import cache as memoize

import redis
from flask_caching.backends.rediscache import RedisCache
from limits.storage import RedisStorage, Storage
from redis.exceptions import RedisError
from sqlalchemy import case, delete, select, text
from sqlalchemy.exc import SQLAlchemyError

from community.extensions import db
from community.models import RateCounter
from community.services import dialect_insert

log = logging.getLogger(__name__)

# A Redis that does not answer must cost milliseconds: it is optional, the page is not.
REDIS_TIMEOUTS = {"socket_connect_timeout": 0.5, "socket_timeout": 0.5}


class Breaker:
    def __init__(self, pause: float = 5.0):
        self.pause, self.open_until = pause, 0.0

    @property
    def closed(self) -> bool:
        return time.monotonic() >= self.open_until

    def trip(self, error: Exception) -> None:
        if self.closed:
            log.warning("Redis unreachable (%s): pages uncached and rate limits counted in the database "
                        "for the next %.0f s", error, self.pause)
        self.open_until = time.monotonic() + self.pause


breaker = Breaker()


def _tolerant(name: str, default):
    def method(self, *args, **kwargs):
        if not breaker.closed:
            return default
        try:
            return getattr(super(TolerantRedisCache, self), name)(*args, **kwargs)
        except RedisError as error:
            breaker.trip(error)
            return default

    method.__name__ = name
    return method


class TolerantRedisCache(RedisCache):
    """CACHE_TYPE with REDIS_URL: Redis down means "not cached", never a 500."""

    get = _tolerant("get", None)
    set = _tolerant("set", False)
    add = _tolerant("add", False)
    delete = _tolerant("delete", False)
    has = _tolerant("has", False)
    clear = _tolerant("clear", False)


@memoize
def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url, **REDIS_TIMEOUTS)


def redis_status(url: str) -> str:
    """'ok' or 'down', asked of Redis itself (for /healthz, not through the breaker)."""
    try:
        _client(url).ping()
    except RedisError:
        return "down"
    return "ok"


class DatabaseStorage(Storage):
    """Fixed-window counters in one table: an upsert per hit, atomic on SQLite and
    PostgreSQL alike. Each call is its own short transaction on its own connection, so a
    count stands whatever the request's transaction does afterwards."""

    STORAGE_SCHEME = ["community+db"]
    PRUNE_EVERY = 500  # hits per process between deletions of expired counters

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options):
        super().__init__(uri, wrap_exceptions)
        self._hits = itertools.count(1)

    @property
    def base_exceptions(self):
        return SQLAlchemyError

    def incr(self, key: str, expiry: float, amount: int = 1) -> int:
        now = time.time()
        counter = RateCounter.__table__.c
        expired = counter.expires_at <= now
        statement = dialect_insert(RateCounter).values(key=key, count=amount, expires_at=now + expiry)
        statement = statement.on_conflict_do_update(
            index_elements=["key"],
            set_={"count": case((expired, amount), else_=counter.count + amount),
                  "expires_at": case((expired, now + expiry), else_=counter.expires_at)},
        ).returning(counter.count)
        with db.engine.begin() as connection:
            count = connection.execute(statement).scalar_one()
            if next(self._hits) % self.PRUNE_EVERY == 0:
                connection.execute(delete(RateCounter).where(RateCounter.expires_at < now))
        return count

    def get(self, key: str) -> int:
        with db.engine.connect() as connection:
            count = connection.execute(select(RateCounter.count).where(
                RateCounter.key == key, RateCounter.expires_at > time.time())).scalar()
        return count or 0

    def get_expiry(self, key: str) -> float:
        with db.engine.connect() as connection:
            expires_at = connection.execute(select(RateCounter.expires_at).where(RateCounter.key == key)).scalar()
        return expires_at if expires_at and expires_at > time.time() else time.time()

    def clear(self, key: str) -> None:
        with db.engine.begin() as connection:
            connection.execute(delete(RateCounter).where(RateCounter.key == key))

    def check(self) -> bool:
        try:
            with db.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except SQLAlchemyError:
            return False
        return True

    def reset(self) -> int | None:
        with db.engine.begin() as connection:
            return connection.execute(delete(RateCounter)).rowcount


class RedisOrDatabaseStorage(Storage):
    """Redis while it answers; the database while the breaker is open."""

    STORAGE_SCHEME = ["community+redis", "community+rediss"]

    def __init__(self, uri: str, wrap_exceptions: bool = False, **options):
        super().__init__(uri, wrap_exceptions)
        self.redis = RedisStorage(uri.split("+", 1)[1], **{**REDIS_TIMEOUTS, **options})
        self.database = DatabaseStorage()

    @property
    def base_exceptions(self):
        return SQLAlchemyError

    def _call(self, name: str, *args):
        if breaker.closed:
            try:
                return getattr(self.redis, name)(*args)
            except RedisError as error:
                breaker.trip(error)
        return getattr(self.database, name)(*args)

    def incr(self, key: str, expiry: float, amount: int = 1) -> int:
        return self._call("incr", key, expiry, amount)

    def get(self, key: str) -> int:
        return self._call("get", key)

    def get_expiry(self, key: str) -> float:
        return self._call("get_expiry", key)

    def clear(self, key: str) -> None:
        return self._call("clear", key)

    def check(self) -> bool:
        return self._call("check")

    def reset(self) -> int | None:
        return self._call("reset")
