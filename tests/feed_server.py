"""A real HTTP server for feed tests: serves the fixture feed, its chapters and transcript
files and a short silent WAV, answers conditional GETs the way podcast hosts do, and counts what it sent.

The fixture's stand-in address http://127.0.0.1:9 is replaced by this server's own, so the
feed's chapters, transcripts and audio point here."""

from __future__ import annotations

import email.utils
import hashlib
import io
import re
import sys
import threading
import wave
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "feeds"
STAND_IN = "http://127.0.0.1:9"
FEED_PATH = "/feed.xml"
TRANSCRIPT_TYPES = {".vtt": "text/vtt", ".json": "application/json", ".srt": "application/x-subrip",
                    ".html": "text/html"}


def silent_wav(seconds: int = 30, rate: int = 8000) -> bytes:
    """A valid, silent mono WAV: something the browser's <audio> can load and seek in."""
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(1)
        out.setframerate(rate)
        out.writeframes(b"\x80" * rate * seconds)
    return buffer.getvalue()


@dataclass
class FeedServer:
    """`validators`: "etag", "last-modified" or "none" (what the server sends and honours);
    `fail`: answer the feed with this status instead. `requests` counts GETs per path,
    `bodies` counts the feed bodies actually sent (a 304 sends none)."""
    validators: str = "etag"
    fail: int | None = None
    feed: bytes = b""
    requests: Counter = field(default_factory=Counter)
    bodies: Counter = field(default_factory=Counter)
    base: str = ""
    conditional_headers: list = field(default_factory=list)  # (If-None-Match, If-Modified-Since) per feed GET
    files: dict = field(default_factory=dict)  # path -> (bytes, content type): served instead of the fixtures

    def set_feed(self, text: str) -> None:
        self.feed = text.replace(STAND_IN, self.base).encode()

    @property
    def feed_url(self) -> str:
        return self.base + FEED_PATH


def _handler(state: FeedServer):
    last_modified = email.utils.formatdate(1_700_000_000, usegmt=True)
    wav = silent_wav()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):  # quiet test output
            pass

        def do_GET(self):  # noqa: N802 - the http.server API
            path = self.path.split("?")[0]
            state.requests[path] += 1
            if path == FEED_PATH:
                return self._feed()
            if path.startswith("/audio/"):
                return self._audio(wav)
            if path in state.files:
                return self._send(200, *state.files[path])
            file = FIXTURES / path.lstrip("/")
            if path.startswith("/chapters/") and file.is_file():
                return self._send(200, file.read_bytes(), "application/json+chapters")
            if path.startswith("/transcripts/") and file.is_file():
                return self._send(200, file.read_bytes(), TRANSCRIPT_TYPES[file.suffix])
            return self._send(404, b"not here", "text/plain")

        def _feed(self):
            state.conditional_headers.append((self.headers.get("If-None-Match"), self.headers.get("If-Modified-Since")))
            if state.fail:
                return self._send(state.fail, b"<h1>broken</h1>", "text/html")
            etag = '"' + hashlib.sha256(state.feed).hexdigest()[:16] + '"'
            headers = {}
            if state.validators == "etag":
                headers["ETag"] = etag
                if self.headers.get("If-None-Match") == etag:
                    return self._send(304, b"", None, headers)
            elif state.validators == "last-modified":
                headers["Last-Modified"] = last_modified
                if self.headers.get("If-Modified-Since") == last_modified:
                    return self._send(304, b"", None, headers)
            state.bodies[FEED_PATH] += 1
            return self._send(200, state.feed, "application/rss+xml", headers)

        def _audio(self, body):
            """Byte ranges, as audio hosts serve them: what lets the browser seek."""
            ranged = re.fullmatch(r"bytes=(\d+)-(\d*)", self.headers.get("Range") or "")
            if not ranged:
                return self._send(200, body, "audio/wav", {"Accept-Ranges": "bytes"})
            start = int(ranged[1])
            end = min(int(ranged[2]) if ranged[2] else len(body) - 1, len(body) - 1)
            return self._send(206, body[start:end + 1], "audio/wav",
                              {"Accept-Ranges": "bytes", "Content-Range": f"bytes {start}-{end}/{len(body)}"})

        def _send(self, status, body, content_type, headers=None):
            self.send_response(status)
            for key, value in (headers or {}).items():
                self.send_header(key, value)
            if status != 304:
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if status != 304:
                self.wfile.write(body)

    return Handler


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        """A browser dropping an audio download half-way (it asks for a range instead) is normal."""
        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError)):
            super().handle_error(request, client_address)


def start(validators: str = "etag", fixture: str = "podcast-namespace.xml"):
    """(state, stop): a running server with the fixture feed loaded."""
    state = FeedServer(validators=validators)
    server = _Server(("127.0.0.1", 0), _handler(state))
    state.base = f"http://127.0.0.1:{server.server_port}"
    state.set_feed((FIXTURES / fixture).read_text())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    def stop():
        server.shutdown()
        server.server_close()

    return state, stop
