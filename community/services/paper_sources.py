"""The three APIs that describe a paper from its identifier, read over real HTTP:

- arXiv's export API (Atom): ``GET {ARXIV_API_URL}/api/query?id_list=<id>``;
- Crossref's REST API (JSON) for DOIs: ``GET {CROSSREF_API_URL}/works/<doi>``;
- OpenReview's API (JSON): ``GET {OPENREVIEW_API_URL}/notes?id=<id>`` (API 2, where content
  values are ``{"value": ...}``), then the API 1 host for older venues (plain values).

Each returns a Metadata or raises SourceError with a short reason; nothing here touches the
database or guesses a field the source did not give."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from html import unescape

import defusedxml.ElementTree as SafeET

MAX_RESPONSE = 2_000_000  # bytes: one paper's record is a few kilobytes
USER_AGENT = "GI-Community/1.0 (paper metadata for a podcast's reading lists)"


class SourceError(Exception):
    """The source gave nothing usable; str(e) says why in a few words (kept on the paper)."""


@dataclass
class Metadata:
    title: str
    authors: list[str] = field(default_factory=list)
    year: int | None = None
    venue: str = ""
    abstract: str = ""
    doi: str | None = None
    bibtex_type: str | None = None
    arxiv_category: str = ""


@dataclass(frozen=True)
class Source:
    name: str  # as in PAPER_METADATA_INTERVALS
    prefix: str  # of the canonical ids it answers for
    fetch: Callable[[str, Mapping], Metadata]  # (the id without its prefix, app config)


def source_for(canonical_id: str) -> Source | None:
    """The API that describes papers with this canonical id, or None (links, ACL, PMLR...)."""
    return next((s for s in SOURCES if canonical_id.startswith(s.prefix)), None)


def _get(url: str, timeout: float, accept: str) -> bytes:
    request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, "Accept": accept})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # nosec B310: http(s) from config
            return response.read(MAX_RESPONSE)
    except urllib.error.HTTPError as error:
        raise SourceError("not found there" if error.code == 404 else f"HTTP {error.code}") from None
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise SourceError(f"unreachable ({reason})"[:200]) from None


def _json(body: bytes) -> dict:
    try:
        data = json.loads(body)
    except ValueError:
        raise SourceError("the answer was not JSON") from None
    if not isinstance(data, dict):
        raise SourceError("the answer was not a JSON object")
    return data


def _clean(text: str | None) -> str:
    return " ".join((text or "").split())


_TAG = re.compile(r"<[^>]+>")


def _strip_markup(text: str | None) -> str:
    """Crossref abstracts are JATS XML (<jats:p>...); the text is what we keep."""
    return _clean(unescape(_TAG.sub(" ", text or "")))


# Words in a venue's name that say it is a conference or workshop rather than a journal.
_PROCEEDINGS = re.compile(
    r"\b(conference|proceedings|workshop|symposium|neurips|nips|icml|iclr|cvpr|iccv|eccv|aaai|ijcai|acl|emnlp|"
    r"naacl|corl|colt|uai|aistats|kdd|3dv|siggraph)\b", re.IGNORECASE)


def bibtex_type_for_venue(venue: str) -> str:
    """@inproceedings for a conference or workshop, @article for anything else published,
    @misc when there is no venue (a preprint)."""
    if not venue:
        return "misc"
    return "inproceedings" if _PROCEEDINGS.search(venue) else "article"


# ---------------------------------------------------------------- arXiv

ATOM = "{http://www.w3.org/2005/Atom}"
ARXIV = "{http://arxiv.org/schemas/atom}"


def fetch_arxiv(arxiv_id: str, config: Mapping) -> Metadata:
    query = urllib.parse.urlencode({"id_list": arxiv_id, "max_results": 1})
    body = _get(f"{config['ARXIV_API_URL'].rstrip('/')}/api/query?{query}", config["PAPER_METADATA_TIMEOUT"],
                "application/atom+xml")
    return parse_arxiv(body)


def parse_arxiv(body: bytes) -> Metadata:
    try:
        root = SafeET.fromstring(body)
    except Exception:  # defusedxml's and expat's errors alike: not an Atom feed
        raise SourceError("the answer was not an Atom feed") from None
    entry = root.find(f"{ATOM}entry")
    if entry is None:
        raise SourceError("arXiv has no paper with this id")
    # arXiv answers a malformed or unknown id with an entry whose id is an error URL.
    if "/api/errors" in (entry.findtext(f"{ATOM}id") or ""):
        raise SourceError(_clean(entry.findtext(f"{ATOM}summary")) or "arXiv refused the id")
    title = _clean(entry.findtext(f"{ATOM}title"))
    if not title:
        raise SourceError("arXiv gave no title")
    published = entry.findtext(f"{ATOM}published") or ""
    venue = _clean(entry.findtext(f"{ARXIV}journal_ref"))
    category = entry.find(f"{ARXIV}primary_category")
    return Metadata(
        title=title,
        authors=[name for name in (_clean(a.findtext(f"{ATOM}name")) for a in entry.findall(f"{ATOM}author")) if name],
        year=int(published[:4]) if published[:4].isdigit() else None,  # the first version's year
        venue=venue,
        abstract=_clean(entry.findtext(f"{ATOM}summary")),
        doi=_clean(entry.findtext(f"{ARXIV}doi")).lower() or None,
        # Without a journal reference it is a preprint; with one, its kind is not said.
        bibtex_type=None if venue else "misc",
        arxiv_category=(category.get("term") or "") if category is not None else "",
    )


# ---------------------------------------------------------------- Crossref

_CROSSREF_TYPES = {"journal-article": "article", "proceedings-article": "inproceedings"}


def fetch_crossref(doi: str, config: Mapping) -> Metadata:
    body = _get(f"{config['CROSSREF_API_URL'].rstrip('/')}/works/{urllib.parse.quote(doi, safe='/')}",
                config["PAPER_METADATA_TIMEOUT"], "application/json")
    return parse_crossref(body)


def _crossref_year(work: dict) -> int | None:
    for key in ("issued", "published", "published-print", "published-online", "created"):
        parts = (work.get(key) or {}).get("date-parts") or []
        if parts and parts[0] and isinstance(parts[0][0], int):
            return parts[0][0]
    return None


def _crossref_name(person: dict) -> str:
    if person.get("name"):  # an organisation as author
        return _clean(person["name"])
    return _clean(f"{person.get('given', '')} {person.get('family', '')}")


def parse_crossref(body: bytes) -> Metadata:
    data = _json(body)
    work = data.get("message")
    if data.get("status") != "ok" or not isinstance(work, dict):
        raise SourceError("Crossref gave no work")
    title = _clean(" ".join(work.get("title") or []))
    if not title:
        raise SourceError("Crossref gave no title")
    venue = _clean((work.get("container-title") or [""])[0])
    kind = _CROSSREF_TYPES.get(work.get("type", ""), "misc")
    return Metadata(
        title=title,
        authors=[name for name in map(_crossref_name, work.get("author") or []) if name],
        year=_crossref_year(work),
        venue=venue,
        abstract=_strip_markup(work.get("abstract")),
        doi=(work.get("DOI") or "").lower() or None,
        bibtex_type=kind,
    )


# ---------------------------------------------------------------- OpenReview


def fetch_openreview(note_id: str, config: Mapping) -> Metadata:
    """API 2 first; a note from a venue still on API 1 is not there, so ask that host next."""
    query = urllib.parse.urlencode({"id": note_id})
    timeout = config["PAPER_METADATA_TIMEOUT"]
    try:
        notes = _json(_get(f"{config['OPENREVIEW_API_URL'].rstrip('/')}/notes?{query}", timeout,
                           "application/json")).get("notes") or []
    except SourceError:
        notes = []
    if not notes:
        notes = _json(_get(f"{config['OPENREVIEW_API_V1_URL'].rstrip('/')}/notes?{query}", timeout,
                           "application/json")).get("notes") or []
    if not notes:
        raise SourceError("OpenReview has no note with this id")
    return parse_openreview_note(notes[0])


def _value(content: dict, name: str):
    """API 2 wraps every content field as {"value": ...}; API 1 gives it as is."""
    item = content.get(name)
    return item.get("value") if isinstance(item, dict) else item


def parse_openreview_note(note: dict) -> Metadata:
    content = note.get("content") or {}
    title = _clean(_value(content, "title"))
    if not title:
        raise SourceError("OpenReview gave no title")
    venue = _clean(_value(content, "venue"))
    # "Submitted to ICLR 2024" and blind-submission labels are not a publication venue.
    if venue.lower().startswith("submitted to") or "blind submission" in venue.lower():
        venue = ""
    stamp = note.get("pdate") or note.get("cdate") or note.get("tcdate")
    year = datetime.fromtimestamp(stamp / 1000, timezone.utc).year if isinstance(stamp, (int, float)) else None
    return Metadata(
        title=title,
        authors=[name for name in (_clean(a) for a in _value(content, "authors") or []) if name],
        year=year,
        venue=venue,
        abstract=_clean(_value(content, "abstract")),
        bibtex_type=bibtex_type_for_venue(venue),
    )


SOURCES = (
    Source("arXiv", "arxiv:", fetch_arxiv),
    Source("Crossref", "doi:", fetch_crossref),
    Source("OpenReview", "openreview:", fetch_openreview),
)
