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

__all__ = ["FeedError", "FeedItem", "ParsedFeed", "load_source", "parse_feed_bytes"]

USER_AGENT = "GI-Community/1.0"
MAX_FEED_BYTES = 50 * 1024 * 1024  # refuse anything bigger when fetching
SUMMARY_LIMIT = 500
MAX_EPISODE_NUMBER = 100_000

AUDIO_EXTENSIONS = (".mp3", ".m4a", ".m4b", ".ogg", ".oga", ".opus", ".aac", ".wav", ".flac")

_UTF8_BOM = b"\xef\xbb\xbf"
_ITUNES_NS = "http://www.itunes.com/dtds/podcast-1.0.dtd"
_CONTENT_NS = "http://purl.org/rss/1.0/modules/content/"
_RSS_ITEM_NAMESPACES = {"", "http://purl.org/rss/1.0/", "http://my.netscape.com/rdf/simple/0.9/"}


class FeedError(Exception):
    """The source is not a usable feed; ``str(e)`` is ONE line for the terminal.

    e.g. 'not a feed: the file is an HTML page', 'malformed feed: mismatched tag at
    line 12', 'empty file', 'no such file: x.xml'.
    """

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(str(message).split()))


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


@dataclass
class ParsedFeed:
    title: str
    items: list[FeedItem] = field(default_factory=list)
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


def _fetch_url(url: str, timeout: float) -> bytes:
    request = urllib.request.Request(
        url,
        headers={
            "User-Agent": USER_AGENT,
            "Accept": "application/rss+xml, application/atom+xml, application/xml;q=0.9, "
            "text/xml;q=0.9, */*;q=0.5",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # nosec B310
            data = response.read(MAX_FEED_BYTES + 1)
    except urllib.error.HTTPError as exc:
        raise FeedError(f"HTTP {exc.code} {exc.reason} from {url}") from None
    except urllib.error.URLError as exc:
        reason = exc.reason
        if isinstance(reason, TimeoutError):
            raise FeedError(f"timed out after {timeout:g}s fetching {url}") from None
        raise FeedError(f"cannot fetch {url}: {reason}") from None
    except TimeoutError:
        raise FeedError(f"timed out after {timeout:g}s fetching {url}") from None
    except (OSError, ValueError, http.client.HTTPException) as exc:  # reset, bad URL, short read
        raise FeedError(f"cannot fetch {url}: {exc}") from None
    if len(data) > MAX_FEED_BYTES:
        raise FeedError(f"feed too large: more than {MAX_FEED_BYTES // (1024 * 1024)} MB at {url}")
    return data


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

    raw_items = _raw_rss_items(data, len(entries)) if version.startswith("rss") else None

    feed_title = _clean_title(parsed.feed.get("title")) or "Untitled feed"
    drafts = []
    skipped: list[tuple[str, str]] = []
    for index, entry in enumerate(entries):
        raw = raw_items[index] if raw_items is not None else None
        draft = _draft_item(entry, raw)
        if draft is None:
            skipped.append((_clean_title(entry.get("title")) or "(untitled)", "no title and no enclosure"))
            continue
        drafts.append(draft)

    items = _assign_identities(drafts, skipped)
    return ParsedFeed(title=feed_title, items=items, skipped=skipped)


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


def _raw_rss_items(data: bytes, expected: int) -> list[dict[str, str | None]] | None:
    """Raw text of description / content:encoded / itunes:summary per RSS item.

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
    raw_items: list[dict[str, str | None]] = []
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        ns, local = _local(element.tag)
        if local != "item" or ns not in _RSS_ITEM_NAMESPACES:
            continue
        fields: dict[str, str | None] = {"description": None, "content": None, "itunes_summary": None}
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
        raw_items.append(fields)
    if len(raw_items) != expected:
        return None
    return raw_items


# --------------------------------------------------------------------------- items


@dataclass
class _Draft:
    item: FeedItem
    guid: str | None
    enclosure: str | None
    link: str | None


def _draft_item(entry, raw: dict[str, str | None] | None) -> _Draft | None:
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

    Fractions are rounded half up. Junk, negative or zero durations give None.
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
    return result if result > 0 else None


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
