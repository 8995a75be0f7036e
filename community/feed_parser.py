"""Parse podcast RSS/Atom feeds into plain dataclasses.

Pure parsing: no database, no Flask. ``load_source`` fetches the bytes (URL or file),
``parse_feed_bytes`` turns them into a :class:`ParsedFeed` or raises :class:`FeedError`
whose ``str()`` is one line fit for a terminal.

feedparser does the heavy lifting (encodings, RSS/Atom dialects, dates with named time
zones, a loose fallback parser for broken XML). Because feedparser merges
``description``, ``itunes:summary`` and ``content:encoded`` in document order, the raw
text of those three elements is read a second time with ElementTree when the document
is well-formed RSS, so that "content:encoded, else description" means exactly that.

``show_notes_html`` is NOT sanitised here (feedparser's sanitiser is switched off on
purpose): it still contains tracking pixels, scripts, whatever the feed had. The caller
must run it through the project's sanitiser before serving it.
"""

from __future__ import annotations

import html
import http.client
import io
import ipaddress
import json
import math
import re
import xml.sax
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET

import defusedxml.ElementTree as SafeET
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import ClassVar

import feedparser

# A leaf importing only another leaf: the one place that knows which characters go.
from community.text import strip_controls

__all__ = ["Conditional", "FeedError", "FeedItem", "FeedPerson", "FeedTranscript", "ParsedFeed", "PrivateAddress",
           "fetch_conditional", "fetch_public", "load_chapters", "load_source", "parse_chapters", "parse_feed_bytes"]

USER_AGENT = "GI-Community/1.0"
MAX_FEED_BYTES = 50 * 1024 * 1024  # refuse anything bigger when fetching
SUMMARY_LIMIT = 500
MAX_EPISODE_NUMBER = 100_000
MAX_DURATION_SECONDS = 7 * 24 * 3600  # longer is junk (and past the database's integers soon after)

AUDIO_EXTENSIONS = (".mp3", ".m4a", ".m4b", ".ogg", ".oga", ".opus", ".aac", ".wav", ".flac")

_UTF8_BOM = b"\xef\xbb\xbf"
_ITUNES_NS = "http://www.itunes.com/dtds/podcast-1.0.dtd"
_CONTENT_NS = "http://purl.org/rss/1.0/modules/content/"
_RSS_ITEM_NAMESPACES = {"", "http://purl.org/rss/1.0/", "http://my.netscape.com/rdf/simple/0.9/"}
# The Podcasting 2.0 namespace; its spec says the GitHub address must be read as the same.
_PODCAST_NS = {"https://podcastindex.org/namespace/1.0",
               "https://github.com/podcastindex-org/podcast-namespace/blob/main/docs/1.0.md"}
MAX_CHAPTERS_BYTES = 2 * 1024 * 1024
# Which transcript to keep when an item links several: timed formats first (moments can
# link into them), then text; rel="captions" breaks a tie (its time codes are promised).
TRANSCRIPT_PREFERENCE = ("text/vtt", "application/json", "application/x-subrip", "application/srt",
                         "text/srt", "text/html", "text/plain")


class FeedError(Exception):
    """The source is not a usable feed; ``str(e)`` is ONE line for the terminal.

    e.g. 'not a feed: the file is an HTML page', 'malformed feed: mismatched tag at
    line 12', 'empty file', 'no such file: x.xml'.
    """

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(str(message).split()))


@dataclass
class FeedPerson:
    """podcast:person: the node text is the name; role and group are lower-cased, with the
    spec's defaults (a person without a role is a host, without a group is cast)."""
    name: str
    role: str = "host"
    group: str = "cast"
    href: str | None = None
    img: str | None = None


@dataclass
class FeedTranscript:
    url: str
    type: str
    language: str | None = None
    rel: str | None = None


@dataclass
class FeedItem:
    identity: str  # "guid:<guid>" | "enclosure:<url>" | "link:<url>" | "title:<title>|<published iso>"
    guid: str | None
    title: str
    number: int | None
    published_at: datetime | None  # timezone-aware UTC
    duration_seconds: int | None
    audio_url: str | None
    link: str | None
    summary: str  # plain text, <= 500 chars
    show_notes_html: str  # raw, UNSANITISED HTML
    image_url: str | None = None  # itunes:image of the item (the show's is ParsedFeed.image_url)
    # podcast:person of the item; empty means the channel's people apply (ParsedFeed.persons)
    persons: list[FeedPerson] = field(default_factory=list)
    chapters_url: str | None = None  # podcast:chapters (JSON chapters, fetched by the importer)
    chapters_type: str | None = None
    transcript: FeedTranscript | None = None  # the preferred podcast:transcript (TRANSCRIPT_PREFERENCE)


@dataclass
class ParsedFeed:
    title: str
    items: list[FeedItem] = field(default_factory=list)
    image_url: str | None = None  # the show's itunes:image (else RSS <image><url>)
    persons: list[FeedPerson] = field(default_factory=list)  # channel-level podcast:person
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (title or "(untitled)", reason)


# --------------------------------------------------------------------------- loading


def load_source(source: str, timeout: float = 20.0) -> bytes:
    """Return the raw bytes of an http(s) URL or a local file path; raise FeedError."""
    source = (source or "").strip()
    if not source:
        raise FeedError("no source given")
    scheme = urllib.parse.urlsplit(source).scheme.lower()
    if scheme in ("http", "https"):
        return _fetch_url(source, timeout)
    if re.match(r"^[A-Za-z][A-Za-z0-9+.-]+://", source):
        raise FeedError(f"unsupported URL scheme: {scheme}:// (use http or https)")

    path = Path(source).expanduser()
    try:
        if not path.exists():
            raise FeedError(f"no such file: {source}")
        if path.is_dir():
            raise FeedError(f"not a file: {source} is a directory")
        return path.read_bytes()
    except FeedError:
        raise
    except PermissionError:
        raise FeedError(f"cannot read {source}: permission denied") from None
    except OSError as exc:
        raise FeedError(f"cannot read {source}: {exc.strerror or exc}") from None


_FEED_ACCEPT = "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5"


def _fetch_url(url: str, timeout: float) -> bytes:
    return _fetch(url, timeout, {"Accept": _FEED_ACCEPT}).body or b""


@dataclass
class Conditional:
    """The answer to a conditional GET: 304 carries no body (nothing to parse)."""
    status: int  # 200 or 304
    body: bytes | None
    etag: str | None
    last_modified: str | None


def fetch_conditional(url: str, etag: str | None = None, last_modified: str | None = None,
                      timeout: float = 20.0) -> Conditional:
    """GET a feed URL with If-None-Match / If-Modified-Since; raise FeedError (one line).

    On 304 the validators sent are kept unless the server sent new ones."""
    if urllib.parse.urlsplit(url or "").scheme.lower() not in ("http", "https"):
        raise FeedError(f"not an http(s) URL: {url}")
    headers = {"Accept": _FEED_ACCEPT}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    answer = _fetch(url, timeout, headers)
    if answer.status == 304:
        return Conditional(304, None, answer.etag or etag, answer.last_modified or last_modified)
    return answer


# ---------------------------------------------------------------- addresses a feed may send us to
#
# A feed is written by whoever hosts it: its chapters and transcript links must not make
# this server fetch from its own network (cloud metadata at 169.254.169.254, an admin
# port on 127.0.0.1, a 10.x database). The address checked is the one actually connected
# to (after DNS, and again after every redirect), so a name that resolves differently the
# second time gains nothing.


class PrivateAddress(FeedError):
    """The URL leads to an address this server does not fetch from for a feed."""


def is_public_address(address: str, allowed: tuple = ()) -> bool:
    """True for a globally routable address, or one inside an `allowed` network."""
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    if any(ip in ipaddress.ip_network(network, strict=False) for network in allowed):
        return True
    return ip.is_global and not ip.is_multicast


def _guarded_connection(base, allowed: tuple):
    class Guarded(base):
        def connect(self):
            super().connect()
            peer = self.sock.getpeername()[0]
            if not is_public_address(peer, allowed):
                self.sock.close()
                raise PrivateAddress(f"refused: {self.host} is a private, loopback or link-local address ({peer})")
    return Guarded


def _guarded_opener(allowed: tuple) -> urllib.request.OpenerDirector:
    http_connection = _guarded_connection(http.client.HTTPConnection, allowed)
    https_connection = _guarded_connection(http.client.HTTPSConnection, allowed)

    class Http(urllib.request.HTTPHandler):
        def http_open(self, req):
            return self.do_open(http_connection, req)

    class Https(urllib.request.HTTPSHandler):
        def https_open(self, req):
            return self.do_open(https_connection, req, context=self._context)

    return urllib.request.build_opener(Http, Https)


def fetch_public(url: str, timeout: float, accept: str, limit: int, allowed: tuple = ()) -> bytes:
    """GET a URL a feed gave us, refusing private, loopback and link-local addresses
    (except networks in `allowed`, e.g. ("127.0.0.1/32",) for tests); raise FeedError."""
    if urllib.parse.urlsplit(url or "").scheme.lower() not in ("http", "https"):
        raise FeedError(f"not an http(s) URL: {url}")
    return _fetch(url, timeout, {"Accept": accept}, limit, opener=_guarded_opener(tuple(allowed))).body or b""


def _fetch(url: str, timeout: float, headers: dict[str, str], limit: int = MAX_FEED_BYTES,
           opener: urllib.request.OpenerDirector | None = None) -> Conditional:
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, **headers})
    try:
        with (opener.open if opener else urllib.request.urlopen)(request, timeout=timeout) as response:  # nosec B310
            data = response.read(limit + 1)
            etag, modified = response.headers.get("ETag"), response.headers.get("Last-Modified")
    except urllib.error.HTTPError as exc:
        if exc.code == 304:
            return Conditional(304, None, exc.headers.get("ETag"), exc.headers.get("Last-Modified"))
        raise FeedError(f"HTTP {exc.code} {exc.reason} from {url}") from None
    except PrivateAddress:
        raise
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, PrivateAddress):
            raise reason from None
        if isinstance(reason, TimeoutError):
            raise FeedError(f"timed out after {timeout:g}s fetching {url}") from None
        raise FeedError(f"cannot fetch {url}: {reason}") from None
    except TimeoutError:
        raise FeedError(f"timed out after {timeout:g}s fetching {url}") from None
    except (OSError, ValueError, http.client.HTTPException) as exc:  # reset, bad URL, short read
        raise FeedError(f"cannot fetch {url}: {exc}") from None
    if len(data) > limit:
        raise FeedError(f"too large: more than {limit // (1024 * 1024)} MB at {url}")
    return Conditional(200, data, etag, modified)


# --------------------------------------------------------------------------- chapters


def load_chapters(url: str, timeout: float = 5.0, allowed: tuple = ()) -> list[dict]:
    """Fetch and parse a JSON chapters file (podcast:chapters); raise FeedError. A feed
    names this address: private ones are refused (fetch_public)."""
    return parse_chapters(fetch_public(url, timeout, "application/json+chapters, application/json;q=0.9",
                                       MAX_CHAPTERS_BYTES, allowed))


def parse_chapters(data: bytes) -> list[dict]:
    """JSON chapters (version 1.2) -> [{"start": seconds, "title": str, "url"?: str, "img"?: str}],
    by start time; "silent" chapters (toc: false) are left out, as the format asks."""
    try:
        document = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError):
        raise FeedError("chapters file is not JSON") from None
    raw = document.get("chapters") if isinstance(document, dict) else None
    if not isinstance(raw, list):
        raise FeedError("chapters file has no list of chapters")
    chapters = []
    for entry in raw:
        if not isinstance(entry, dict) or entry.get("toc") is False:
            continue
        start = entry.get("startTime")
        if isinstance(start, bool) or not isinstance(start, (int, float)) or not math.isfinite(start) or start < 0:
            continue
        chapter: dict = {"start": round(float(start), 3), "title": _clean_title(entry.get("title"))[:300]}
        for key in ("url", "img"):
            url = _http_url(entry.get(key)) if isinstance(entry.get(key), str) else None
            if url:
                chapter[key] = url
        chapters.append(chapter)
    return sorted(chapters, key=lambda c: c["start"])


# --------------------------------------------------------------------------- parsing


def parse_feed_bytes(data: bytes) -> ParsedFeed:
    """Parse RSS or Atom bytes into a ParsedFeed; raise FeedError if it is not a usable feed."""
    if data is None:
        raise FeedError("empty file")
    data, stripped_lines = _strip_leading_junk(bytes(data))
    if not data:
        raise FeedError("empty file")

    try:
        parsed = feedparser.parse(io.BytesIO(data), sanitize_html=False, resolve_relative_uris=False)
    except Exception as exc:  # noqa: BLE001 - feedparser's loose parser can still trip on garbage
        raise FeedError(f"malformed feed: {type(exc).__name__}: {exc}") from None

    entries = list(parsed.get("entries") or [])
    version = parsed.get("version") or ""
    bozo = bool(parsed.get("bozo"))

    if not entries and (bozo or not version):
        raise FeedError(_explain_failure(data, parsed, version, stripped_lines))
    if bozo and _is_broken_xml(parsed.get("bozo_exception")):
        # Cut off or mangled: importing the items feedparser salvaged would half-import it.
        raise FeedError("malformed feed: " + _describe_exception(parsed.get("bozo_exception"), stripped_lines))

    raw = _raw_rss(data, len(entries)) if version.startswith("rss") else None
    raw_items = raw.items if raw is not None else None

    feed_title = _clean_title(parsed.feed.get("title")) or "Untitled feed"
    drafts = []
    skipped: list[tuple[str, str]] = []
    for index, entry in enumerate(entries):
        draft = _draft_item(entry, raw_items[index] if raw_items is not None else None)
        if draft is None:
            skipped.append((_clean_title(entry.get("title")) or "(untitled)", "no title and no enclosure"))
            continue
        drafts.append(draft)

    items = _assign_identities(drafts, skipped)
    if raw is not None:
        return ParsedFeed(title=feed_title, items=items, skipped=skipped, image_url=raw.image_url,
                          persons=raw.persons)
    image = parsed.feed.get("image") or {}
    return ParsedFeed(title=feed_title, items=items, skipped=skipped, image_url=_http_url(image.get("href")))


def _is_broken_xml(exc) -> bool:
    """A well-formedness error; undefined HTML entities (&nbsp; in RSS) are tolerated."""
    return isinstance(exc, xml.sax.SAXParseException) and "undefined entity" not in str(exc)


def _strip_leading_junk(data: bytes) -> tuple[bytes, int]:
    """Drop UTF-8 BOMs and ASCII whitespace before the first '<'; count dropped newlines."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16: leave it to feedparser
        return data, 0
    start = 0
    while True:
        if data.startswith(_UTF8_BOM, start):
            start += len(_UTF8_BOM)
        elif start < len(data) and data[start] in b" \t\r\n\x0b\x0c":
            start += 1
        else:
            break
    lines = data.count(b"\n", 0, start)
    data = data[start:]
    if not data.strip():
        return b"", lines
    return data, lines


def _explain_failure(data: bytes, parsed, version: str, stripped_lines: int) -> str:
    head = data[:4096].lower()
    html_at = _first_match(head, (rb"<!doctype\s+html", rb"<html[\s>]"))
    feed_at = _first_match(head, (rb"<rss[\s>]", rb"<feed[\s>]", rb"<rdf:rdf[\s>]", rb"<channel[\s>]"))
    if html_at is not None and (feed_at is None or html_at < feed_at):
        return "not a feed: the file is an HTML page"
    if data[:1] in (b"{", b"["):
        return "not a feed: the file is JSON, not RSS or Atom"
    if not data.startswith(b"<"):
        return "not a feed: the file is not XML"
    if parsed.get("bozo"):
        return "malformed feed: " + _describe_exception(parsed.get("bozo_exception"), stripped_lines)
    return "not a feed: no RSS or Atom root element" + _root_hint(data)


def _first_match(haystack: bytes, patterns: tuple[bytes, ...]) -> int | None:
    found = [m.start() for p in patterns if (m := re.search(p, haystack))]
    return min(found) if found else None


def _root_hint(data: bytes) -> str:
    head = re.sub(rb"<\?.*?\?>|<!--.*?-->|<!.*?>", b"", data[:4096], flags=re.DOTALL)
    m = re.search(rb"<([A-Za-z_][\w:.-]*)", head)
    return f" (found <{m.group(1).decode('ascii', 'replace')}>)" if m else ""


def _describe_exception(exc, stripped_lines: int) -> str:
    if exc is None:
        return "unknown error"
    get_message = getattr(exc, "getMessage", None)
    get_line = getattr(exc, "getLineNumber", None)
    if callable(get_message) and callable(get_line):
        try:
            line = get_line()
            message = get_message()
        except Exception:  # noqa: BLE001 # pragma: no cover - defensive
            return str(exc)
        if isinstance(line, int) and line > 0:
            return f"{message} at line {line + stripped_lines}"
        return str(message)
    return str(exc) or type(exc).__name__


# --------------------------------------------------------------------------- raw RSS fields


def _local(tag: str) -> tuple[str, str]:
    if tag.startswith("{"):
        ns, _, local = tag[1:].partition("}")
        return ns, local
    return "", tag


def _inner_xml(element: ET.Element) -> str:
    text = element.text or ""
    if len(element):
        text += "".join(ET.tostring(child, encoding="unicode") for child in element)
    return text


@dataclass
class _RawRss:
    """What ElementTree reads of a well-formed RSS document that feedparser merges or drops."""
    items: list[dict]  # per item: description / content / itunes_summary text, and podcast extras
    image_url: str | None = None
    persons: list[FeedPerson] = field(default_factory=list)
    language: str | None = None


def _raw_rss(data: bytes, expected: int) -> _RawRss | None:
    """Raw text of description / content:encoded / itunes:summary per RSS item, and the
    Podcasting 2.0 and iTunes tags of the channel and of each item.

    Returns None when the document is not well-formed or the item count does not match
    feedparser's (then feedparser's merged values are used instead).
    """
    try:
        # defusedxml: a feed is untrusted input (entity expansion bombs, external entities).
        root = SafeET.fromstring(data)
    except (ET.ParseError, ValueError, SafeET.DefusedXmlException):
        return None
    if not isinstance(root.tag, str):  # pragma: no cover - defensive
        return None
    raw = _RawRss(items=[])
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        ns, local = _local(element.tag)
        if local == "channel" and ns in _RSS_ITEM_NAMESPACES:
            _read_channel(element, raw)
        if local != "item" or ns not in _RSS_ITEM_NAMESPACES:
            continue
        fields: dict = {"description": None, "content": None, "itunes_summary": None, "image": None,
                        "persons": [], "chapters": None, "transcripts": []}
        for child in element:
            if not isinstance(child.tag, str):
                continue
            cns, clocal = _local(child.tag)
            if clocal == "description" and cns in _RSS_ITEM_NAMESPACES and fields["description"] is None:
                fields["description"] = _inner_xml(child)
            elif clocal == "encoded" and cns == _CONTENT_NS and fields["content"] is None:
                fields["content"] = _inner_xml(child)
            elif clocal == "summary" and cns.lower() == _ITUNES_NS and fields["itunes_summary"] is None:
                fields["itunes_summary"] = _inner_xml(child)
            elif clocal == "image" and cns.lower() == _ITUNES_NS and fields["image"] is None:
                fields["image"] = _http_url(child.get("href"))
            elif cns.lower() in _PODCAST_NS:
                _read_podcast_tag(clocal, child, fields)
        # The channel (and its <language>) is read before its items: iter() is document order.
        fields["transcript"] = _best_transcript(fields.pop("transcripts"), raw.language)
        raw.items.append(fields)
    if len(raw.items) != expected:
        return None
    return raw


def _read_channel(channel: ET.Element, raw: _RawRss) -> None:
    rss_image = None
    for child in channel:
        if not isinstance(child.tag, str):
            continue
        cns, clocal = _local(child.tag)
        if clocal == "image" and cns.lower() == _ITUNES_NS and raw.image_url is None:
            raw.image_url = _http_url(child.get("href"))
        elif clocal == "image" and cns in _RSS_ITEM_NAMESPACES:
            rss_image = _http_url(child.findtext("url"))
        elif clocal == "language" and cns in _RSS_ITEM_NAMESPACES:
            raw.language = _attribute(child.text, 35)
        elif clocal == "person" and cns.lower() in _PODCAST_NS:
            person = _person(child)
            if person:
                raw.persons.append(person)
    raw.image_url = raw.image_url or rss_image


def _read_podcast_tag(local: str, element: ET.Element, fields: dict) -> None:
    if local == "person":
        person = _person(element)
        if person:
            fields["persons"].append(person)
    elif local == "chapters" and fields["chapters"] is None:
        url = _http_url(element.get("url"))
        if url:
            fields["chapters"] = (url, _attribute(element.get("type"), 100) or "application/json+chapters")
    elif local == "transcript":
        url, mime = _http_url(element.get("url")), _attribute(element.get("type"), 100)
        if url and mime:
            fields["transcripts"].append(FeedTranscript(
                url=url, type=mime.lower(), language=_attribute(element.get("language"), 35),
                rel=_attribute(element.get("rel"), 30)))


def _attribute(value: str | None, limit: int) -> str | None:
    text = " ".join(strip_controls(value or "").split())
    return text[:limit] or None


def _person(element: ET.Element) -> FeedPerson | None:
    name = _clean_title(element.text)[:200]
    if not name:
        return None  # the spec: the node value cannot be blank
    return FeedPerson(name=name, role=(_attribute(element.get("role"), 60) or "host").lower(),
                      group=(_attribute(element.get("group"), 60) or "cast").lower(),
                      href=_http_url(element.get("href")), img=_http_url(element.get("img")))


def _best_transcript(transcripts: list[FeedTranscript], language: str | None) -> FeedTranscript | None:
    def rank(t: FeedTranscript) -> tuple[int, int]:
        kind = TRANSCRIPT_PREFERENCE.index(t.type) if t.type in TRANSCRIPT_PREFERENCE else len(TRANSCRIPT_PREFERENCE)
        return kind, 0 if (t.rel or "").lower() == "captions" else 1

    if not transcripts:
        return None
    best = min(transcripts, key=rank)  # min keeps the first of equals: the feed's own order
    if best.language is None and language:
        best.language = language  # the spec: no language attribute means the feed's <language>
    return best


# --------------------------------------------------------------------------- items


@dataclass
class _Draft:
    item: FeedItem
    guid: str | None
    enclosure: str | None
    link: str | None


def _draft_item(entry, raw: dict | None) -> _Draft | None:
    title = _clean_title(entry.get("title"))
    enclosures = _enclosures(entry)
    audio_url = _pick_audio(enclosures)
    any_enclosure = audio_url or (enclosures[0][0] if enclosures else None)
    published_at = _entry_datetime(entry)

    if not title:
        if not any_enclosure:
            return None
        title = _clean_title(entry.get("itunes_title"))
        if not title:
            title = "Untitled episode" + (f" ({published_at:%Y-%m-%d})" if published_at else "")

    guid = (entry.get("id") or "").strip() or None
    link = _http_url(entry.get("link"))

    if raw is not None:
        notes = raw["content"] if _has_text(raw["content"]) else raw["description"]
        if not _has_text(notes):
            notes = raw["itunes_summary"]
        summary_source = next(
            (v for v in (raw["itunes_summary"], raw["description"], raw["content"]) if _has_text(v)), ""
        )
    else:
        notes, summary_source = _feedparser_texts(entry)
    extras = raw or {}
    chapters = extras.get("chapters") or (None, None)

    item = FeedItem(
        identity="",
        guid=guid,
        title=title,
        number=_episode_number(entry.get("itunes_episode"), title),
        published_at=published_at,
        duration_seconds=parse_duration(entry.get("itunes_duration")),
        audio_url=audio_url,
        link=link,
        summary=_summarise(summary_source or ""),
        show_notes_html=strip_controls(_normalise_html((notes or "").strip())),
        image_url=extras.get("image") if raw is not None else _http_url((entry.get("image") or {}).get("href")),
        persons=extras.get("persons") or [],
        chapters_url=chapters[0],
        chapters_type=chapters[1],
        transcript=extras.get("transcript"),
    )
    return _Draft(item=item, guid=guid, enclosure=any_enclosure, link=link)


def _feedparser_texts(entry) -> tuple[str, str]:
    """(show notes html, summary source) from feedparser's merged fields (Atom, broken XML)."""
    candidates = [c for c in entry.get("content") or [] if _has_text(c.get("value"))]
    summary = entry.get("summary")
    if _has_text(summary):
        detail = entry.get("summary_detail") or {}
        candidates.append({"value": summary, "type": detail.get("type") or "text/html"})
    if not candidates:
        return "", ""

    def as_html(candidate) -> str:  # Atom type="text" is plain text: make it HTML
        value = candidate["value"]
        return value if "html" in (candidate.get("type") or "") else html.escape(value, quote=False)

    best = next((c for c in candidates if "html" in (c.get("type") or "")), candidates[0])
    summary_source = candidates[-1] if _has_text(summary) else candidates[0]
    return as_html(best), as_html(summary_source)


def _assign_identities(drafts: list[_Draft], skipped: list[tuple[str, str]]) -> list[FeedItem]:
    """Pick each item's identity: guid, enclosure URL, link, then title|date.

    A guid (enclosure URL, link) shared by several items of this feed is not used as an
    identity for any of them; they fall back to the next key. Items whose final identity
    still collides with an earlier item's are skipped.
    """
    counts = {
        "guid": Counter(d.guid for d in drafts if d.guid),
        "enclosure": Counter(d.enclosure for d in drafts if d.enclosure),
        "link": Counter(d.link for d in drafts if d.link),
    }
    seen: set[str] = set()
    items: list[FeedItem] = []
    for draft in drafts:
        identity = None
        for kind, value in (("guid", draft.guid), ("enclosure", draft.enclosure), ("link", draft.link)):
            if value and counts[kind][value] == 1:
                identity = f"{kind}:{value}"
                break
        if identity is None:
            when = draft.item.published_at.isoformat() if draft.item.published_at else ""
            identity = f"title:{draft.item.title}|{when}"
        if identity in seen:
            skipped.append((draft.item.title, "duplicate of an earlier item"))
            continue
        seen.add(identity)
        draft.item.identity = identity
        items.append(draft.item)
    return items


def _has_text(value: str | None) -> bool:
    return bool(value and value.strip())


_ENTITY_RE = re.compile(r"&(#\d+|#[xX][0-9a-fA-F]+|[A-Za-z][A-Za-z0-9]*);")


def _clean_title(value) -> str:
    if not value:
        return ""
    text = str(value)
    if _ENTITY_RE.search(text):  # e.g. a CDATA title still holding "&amp;"
        text = html.unescape(text)
    return " ".join(strip_controls(text).split())


def _http_url(value) -> str | None:
    if not value:
        return None
    url = str(value).strip()
    if urllib.parse.urlsplit(url).scheme.lower() in ("http", "https"):
        return url
    return None


def _enclosures(entry) -> list[tuple[str, str]]:
    result = []
    for enclosure in entry.get("enclosures") or []:
        href = _http_url(enclosure.get("href") or enclosure.get("url"))
        if href:
            result.append((href, (enclosure.get("type") or "").strip().lower()))
    return result


def _pick_audio(enclosures: list[tuple[str, str]]) -> str | None:
    for href, mime in enclosures:
        if mime.startswith(("audio/", "x-audio/")):
            return href
        if urllib.parse.urlsplit(href).path.lower().endswith(AUDIO_EXTENSIONS):
            return href
    return None


def _entry_datetime(entry) -> datetime | None:
    for key in ("published_parsed", "updated_parsed"):
        # plain dict lookup: FeedParserDict.get("updated_parsed") would silently (and with a
        # DeprecationWarning) hand back published_parsed
        value = dict.get(entry, key)
        if value:
            try:
                return datetime(*value[:6], tzinfo=UTC)
            except (TypeError, ValueError, OverflowError):
                continue
    return None


_TITLE_NUMBER_RE = re.compile(
    r"(?:\bepisode|\bep\.?|\bno\.)\s*#?\s*(\d{1,9})\b"  # "Episode 12", "SE-Radio Episode 248", "Ep. 12", "Ep 12", "No. 12"
    r"|(?<![\w&#])#(\d{1,9})\b",  # "#12" (not "C# 10", not "&#38;")
    re.IGNORECASE,
)


def _episode_number(itunes_episode, title: str) -> int | None:
    if itunes_episode is not None:
        m = re.fullmatch(r"\s*(\d{1,9})\s*", str(itunes_episode))
        if m and int(m.group(1)) <= MAX_EPISODE_NUMBER:
            return int(m.group(1))
    m = _TITLE_NUMBER_RE.search(title or "")
    if m:
        number = int(m.group(1) or m.group(2))
        if number <= MAX_EPISODE_NUMBER:
            return number
    return None


def parse_duration(value) -> int | None:
    """itunes:duration -> seconds: 'HH:MM:SS', 'H:MM:SS', 'MM:SS', 'M:SS', '3600', '3600.5'.

    Fractions are rounded half up. Junk, negative, zero or over a week give None.
    """
    if value is None:
        return None
    text = str(value).strip()
    if not text:
        return None
    m = re.fullmatch(r"(\d+(?:\.\d+)?)", text)
    if m:
        seconds = float(m.group(1))
    else:
        m = re.fullmatch(r"(?:(\d{1,3}):)?(\d{1,4}):(\d{1,2}(?:\.\d+)?)", text)
        if not m:
            return None
        hours = int(m.group(1)) if m.group(1) is not None else 0
        minutes = int(m.group(2))
        secs = float(m.group(3))
        if secs >= 60 or (m.group(1) is not None and minutes >= 60):
            return None
        seconds = hours * 3600 + minutes * 60 + secs
    if not math.isfinite(seconds):
        return None
    result = math.floor(seconds + 0.5)
    return result if 0 < result <= MAX_DURATION_SECONDS else None


# --------------------------------------------------------------------------- text helpers


_REAL_TAG_RE = re.compile(r"<(?:/?[A-Za-z][A-Za-z0-9:-]*(?:\s[^<>]*)?/?|!--.*?--)>", re.DOTALL)
_ESCAPED_TAG_RE = re.compile(r"&lt;/?[A-Za-z][A-Za-z0-9:-]*(?:\s|/?&gt;)")
# Double-escaped character references worth repairing ("&amp;#8230;" -> "&#8230;").
# amp/lt/gt/quot are left alone: "&amp;lt;" may be a deliberate literal in a code example.
_TYPOGRAPHIC = "hellip|nbsp|mdash|ndash|rsquo|lsquo|rdquo|ldquo|laquo|raquo|bull|middot|copy|reg|trade"
_DOUBLE_ESCAPED_REF_RE = re.compile(rf"&amp;(#\d+|#[xX][0-9a-fA-F]+|{_TYPOGRAPHIC});")


def _normalise_html(value: str) -> str:
    """Turn entity-escaped / double-escaped HTML into real (still unsanitised) HTML."""
    for _ in range(2):
        if _REAL_TAG_RE.search(value) or not _ESCAPED_TAG_RE.search(value):
            break
        value = html.unescape(value)
    return _DOUBLE_ESCAPED_REF_RE.sub(r"&\1;", value)


class _TextExtractor(HTMLParser):
    _BLOCK: ClassVar[frozenset[str]] = frozenset(
        "p br div li ul ol tr td th h1 h2 h3 h4 h5 h6 blockquote pre hr table section article dd dt".split()
    )
    _SKIP: ClassVar[frozenset[str]] = frozenset({"script", "style", "template", "noscript"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip_depth = 0

    def handle_starttag(self, tag, attrs):
        if tag in self._SKIP:
            self._skip_depth += 1
        elif tag in self._BLOCK:
            self.parts.append(" ")

    def handle_startendtag(self, tag, attrs):
        if tag in self._BLOCK:
            self.parts.append(" ")

    def handle_endtag(self, tag):
        if tag in self._SKIP:
            self._skip_depth = max(0, self._skip_depth - 1)
        elif tag in self._BLOCK:
            self.parts.append(" ")

    def handle_data(self, data):
        if not self._skip_depth:
            self.parts.append(data)


def _strip_tags(value: str) -> str:
    parser = _TextExtractor()
    parser.feed(value)
    parser.close()
    return "".join(parser.parts)


def _summarise(value: str) -> str:
    # same repair as the show notes (escaped / double-escaped HTML), then strip the tags once:
    # "<code>&lt;div&gt;</code>" must keep its literal "<div>".
    text = " ".join(strip_controls(_strip_tags(_normalise_html(value))).split())
    return shorten(text, SUMMARY_LIMIT)


def shorten(text: str, limit: int = SUMMARY_LIMIT) -> str:
    """Cut ``text`` to at most ``limit`` characters on a word boundary, ending in '…'."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space > limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:.-–—") + "…"
