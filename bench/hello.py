"""The ceiling of the stack: the smallest Flask app, served by the same gunicorn settings
as the real one. Every other row of bench/results.md is compared with it.

`/bytes/<size>` answers that many bytes, made once: what sending a page of that size
costs this stack when the app does no work at all (the bound for a big cached page)."""

from functools import lru_cache

from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello() -> str:
    return "Hello, world!"


@lru_cache(maxsize=8)
def _body(size: int) -> bytes:
    line = b"x" * 99 + b"\n"
    return (line * (size // 100 + 1))[:size]


@app.get("/bytes/<int:size>")
def some_bytes(size: int) -> bytes:
    return _body(min(size, 8 * 1024 * 1024))
