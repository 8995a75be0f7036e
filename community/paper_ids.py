"""Turn a pasted paper link or identifier into one stable canonical id.

Two submissions of the same paper must meet on the same ``/papers/<canonical-id>``
page, whether someone pasted the arXiv abstract page, a versioned PDF, a Hugging Face
mirror or the arXiv DOI.  ``identify`` does that mapping and refuses input that is
not a usable link; ``url_for_canonical`` is its inverse.

Canonical id forms (the prefix is always lower case):

* ``arxiv:2005.11401``, ``arxiv:hep-th/9901001`` (no version, no subject class)
* ``doi:10.1038/nature14539`` (DOIs are case-insensitive, so lower-cased;
  bioRxiv/medRxiv preprints are DOIs too)
* ``openreview:H1gB4RVKvB`` (case-sensitive)
* ``acl:2020.acl-main.1``, ``acl:N19-1423``
* ``pmlr:v119/chen20j``
* ``neurips:2020/1457c0d6bfcb4967418bfb8ac142f64a``, ``neurips:7181`` (pre-2020 numbering)
* ``url:https://example.com/path?q=1`` (anything else, normalised)

Standard library only; no network access.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import SplitResult, parse_qs, quote, unquote, unquote_plus, urlsplit

__all__ = [
    "MAX_INPUT_LENGTH",
    "PaperId",
    "PaperIdError",
    "identify",
    "is_tracking_param",
    "url_for_canonical",
]

MAX_INPUT_LENGTH = 2000


class PaperIdError(ValueError):
    """Input that is not a usable paper link; str(e) is a clear one-sentence message for the user."""


@dataclass(frozen=True)
class PaperId:
    """A recognised paper: ``canonical_id`` is the dedup key, ``url`` a clean link to show.

    ``version`` (e.g. ``"v2"``) records which revision was pasted; it is never part of
    ``canonical_id`` or ``url`` so that every revision lands on the same page.
    """

    canonical_id: str
    url: str
    source: str
    version: str | None = None

    @property
    def arxiv_id(self) -> str | None:
        """The bare arXiv id (``"2005.11401"``) for arXiv papers, else None."""
        return self.canonical_id[len("arxiv:"):] if self.canonical_id.startswith("arxiv:") else None

    @property
    def doi(self) -> str | None:
        """The lower-cased DOI for ``doi:`` ids (incl. bio/medRxiv), else None.

        arXiv papers return None even though DataCite assigns them 10.48550/arXiv.<id>:
        their canonical form is the arXiv id.
        """
        return self.canonical_id[len("doi:"):] if self.canonical_id.startswith("doi:") else None


# ---------------------------------------------------------------------------
# Messages (one sentence each; shown to users verbatim)

_MSG_EMPTY = "Please paste a paper link or identifier."
_MSG_TOO_LONG = f"That link is too long; the limit is {MAX_INPUT_LENGTH} characters."
_MSG_SPACES = "A link or identifier cannot contain spaces, line breaks or control characters."
_MSG_SCHEME = "Only http and https links can be submitted."
_MSG_NEED_SCHEME = "Please paste the full link, starting with https://."
_MSG_UNRECOGNISED = (
    "This is not a recognised paper link or identifier; paste an https:// link, an arXiv id or a DOI."
)
_MSG_NO_HOST = "This link has no website address in it."
_MSG_USERINFO = "Links that contain a username or password cannot be submitted."
_MSG_PORT = "This link has an invalid port number."
_MSG_BAD_HOST = "This link has an invalid website address."
_MSG_NO_DOT = "This link does not point to a public website."
_MSG_IP = "Links to bare IP addresses cannot be submitted; please use the site's name."
_MSG_BAD_DOI = "This is not a valid DOI; a DOI looks like 10.1234/abcd."
_MSG_ARXIV_LINK = "This arXiv link does not contain a valid arXiv identifier."
_MSG_DOI_LINK = "This doi.org link does not contain a valid DOI."
_MSG_OPENREVIEW = "This OpenReview link has no valid paper id (the id=… part of the address)."


def _bad_arxiv(text: str) -> PaperIdError:
    shown = text if len(text) <= 40 else text[:37] + "..."
    return PaperIdError(f"The arXiv identifier “{shown}” is not valid.")


# ---------------------------------------------------------------------------
# arXiv

# Archives that used the pre-April-2007 ``archive/YYMMNNN`` scheme.
_OLD_ARXIV_ARCHIVES = frozenset(
    {
        "acc-phys", "adap-org", "alg-geom", "ao-sci", "astro-ph", "atom-ph", "bayes-an",
        "chao-dyn", "chem-ph", "cmp-lg", "comp-gas", "cond-mat", "cs", "dg-ga", "funct-an",
        "gr-qc", "hep-ex", "hep-lat", "hep-ph", "hep-th", "math", "math-ph", "mtrl-th",
        "nlin", "nucl-ex", "nucl-th", "patt-sol", "physics", "plasm-ph", "q-alg", "q-bio",
        "quant-ph", "solv-int", "supr-con",
    }
)

_ARXIV_ID = (
    r"(?:(?P<archive>[A-Za-z]+(?:-[A-Za-z]+)?)(?:\.(?P<subject>[A-Za-z][A-Za-z-]*))?/(?P<old>\d{7})"
    r"|(?P<yymm>\d{4})\.(?P<seq>\d{4,5}))"
    r"(?P<version>[vV]\d+)?"
)
_ARXIV_RE = re.compile(_ARXIV_ID)
# In URL paths the id may be followed by ".pdf" and/or sub-resources (/html/<id>/x1.png).
_ARXIV_PATH_RE = re.compile(_ARXIV_ID + r"(?:\.pdf)?(?:/.*)?", re.DOTALL)
_ARXIV_EMBEDDED_RE = re.compile(
    r"arxiv\.org/(?:abs|pdf)/(" + _ARXIV_ID.replace("?P<", "?P<e_") + r")(?!\d)", re.IGNORECASE
)
_NEW_ARXIV_ONLY_RE = re.compile(r"\d{4}\.\d{4,5}(?:v\d+)?")


def _arxiv_from_match(m: re.Match[str]) -> tuple[str, str | None]:
    """Validate a regex match of ``_ARXIV_ID``; return (id without version, version).

    Checks what the syntax alone cannot: real archive names, month 01-12, and that
    4-digit sequence numbers end with 1412 and 5-digit ones start with 1501.
    """
    version = m["version"].lower() if m["version"] else None
    if version is not None and int(version[1:]) == 0:
        raise _bad_arxiv(m.group(0))
    if m["old"]:
        archive, number = m["archive"].lower(), m["old"]
        yy, mm = int(number[:2]), int(number[2:4])
        if archive not in _OLD_ARXIV_ARCHIVES or not 1 <= mm <= 12 or 7 < yy < 91:
            raise _bad_arxiv(m.group(0))
        # The subject class (math.GT) is not part of the identifier: arXiv's preferred
        # form of math.GT/0309136 is math/0309136.
        return f"{archive}/{number}", version
    yymm, seq = m["yymm"], m["seq"]
    mm = int(yymm[2:])
    if not 1 <= mm <= 12 or int(yymm) < 704 or int(seq) == 0:
        raise _bad_arxiv(m.group(0))
    if (len(seq) == 5) != (int(yymm) >= 1501):
        raise _bad_arxiv(m.group(0))
    return f"{yymm}.{seq}", version


def _arxiv_paper(arxiv_id: str, version: str | None) -> PaperId:
    return PaperId(f"arxiv:{arxiv_id}", f"https://arxiv.org/abs/{arxiv_id}", "arXiv", version)


def _parse_bare_arxiv(text: str) -> PaperId | None:
    """An arXiv id on its own; None if it does not look like one, error if malformed."""
    m = _ARXIV_RE.fullmatch(text)
    if m is None:
        return None
    return _arxiv_paper(*_arxiv_from_match(m))


def _arxiv_from_path(rest: str) -> PaperId | None:
    """The arXiv id at the start of a URL path remainder (``2005.11401v2.pdf``)."""
    m = _ARXIV_PATH_RE.fullmatch(rest)
    if m is None:
        return None
    return _arxiv_paper(*_arxiv_from_match(m))


# ---------------------------------------------------------------------------
# DOI

_DOI_RE = re.compile(r"10\.\d{4,9}(?:\.\d+)*/\S+")
_ARXIV_DOI_RE = re.compile(r"10\.48550/arxiv\.(.+)")
# bioRxiv/medRxiv put the revision after the DOI (…123456v2); the DOI itself has none.
_PREPRINT_DOI_VERSION_RE = re.compile(r"(10\.1101/(?:\d{4}\.\d{2}\.\d{2}\.)?\d{6,})(v\d+)")
# Characters left unescaped in https://doi.org/<doi>; everything else is %-encoded.
_DOI_URL_SAFE = "/:;()[]!$&'*+,=@~"


def _normalise_doi(raw: str, *, decoded: bool) -> str:
    """Drop trailing sentence punctuation and lower-case; raise if not a DOI.

    Typed text is %-decoded only when it has no literal "/" (10.1145%2F3292500…), so a
    canonical DOI that contains "%" survives a round trip unchanged.
    """
    if not decoded and "/" not in raw:
        raw = unquote(raw)
    doi = raw.strip().rstrip(".,;")
    if not _DOI_RE.fullmatch(doi):
        raise PaperIdError(_MSG_BAD_DOI)
    return doi.lower()


def _doi_paper(
    raw: str, source: str = "DOI", version: str | None = None, *, decoded: bool = True
) -> PaperId:
    """PaperId for a DOI; arXiv's own DOIs (10.48550/arXiv.<id>) become arXiv ids.

    ``decoded`` says whether ``raw`` was already %-decoded (URL paths are, typed text is not).
    """
    doi = _normalise_doi(raw, decoded=decoded)
    m = _ARXIV_DOI_RE.fullmatch(doi)
    if m:
        paper = _parse_bare_arxiv(m[1])
        if paper is None:
            raise _bad_arxiv(m[1])
        return paper
    m = _PREPRINT_DOI_VERSION_RE.fullmatch(doi)
    if m:
        doi, version = m[1], version or m[2]
    return PaperId(f"doi:{doi}", f"https://doi.org/{quote(doi, safe=_DOI_URL_SAFE)}", source, version)


# ---------------------------------------------------------------------------
# Other venues' id syntax

_OPENREVIEW_ID_RE = re.compile(r"[A-Za-z0-9_-]{1,64}")
_ACL_NEW_RE = re.compile(r"\d{4}\.[a-z0-9]+(?:-[a-z0-9]+)*\.\d+")
_ACL_OLD_RE = re.compile(r"[A-Za-z]\d{2}-\d{4}")
_ACL_PATH_ID = r"(?P<id>\d{4}\.[a-z0-9]+(?:-[a-z0-9]+)*\.\d+|[A-Za-z]\d{2}-\d{4})(?P<version>v\d+)?"
_PMLR_ID_RE = re.compile(r"(?P<volume>[vr]\d+)/(?P<key>[A-Za-z0-9_-]+)")
_NEURIPS_HASH_ID_RE = re.compile(r"(?P<year>\d{4})/(?:hash/)?(?P<hash>[0-9a-f]{32})")
_NEURIPS_OLD_ID_RE = re.compile(r"\d{1,5}")


def _openreview_paper(note_id: str) -> PaperId:
    if not _OPENREVIEW_ID_RE.fullmatch(note_id):
        raise PaperIdError(_MSG_OPENREVIEW)
    return PaperId(f"openreview:{note_id}", f"https://openreview.net/forum?id={note_id}", "OpenReview")


def _acl_paper(acl_id: str, version: str | None = None) -> PaperId:
    """Old-style ids (N19-1423) are upper-cased, new-style ones (2020.acl-main.1) lower-cased."""
    if _ACL_OLD_RE.fullmatch(acl_id):
        acl_id = acl_id.upper()
    elif _ACL_NEW_RE.fullmatch(acl_id.lower()):
        acl_id = acl_id.lower()
    else:
        raise PaperIdError("This is not a valid ACL Anthology id; ids look like 2020.acl-main.1 or N19-1423.")
    return PaperId(f"acl:{acl_id}", f"https://aclanthology.org/{acl_id}", "ACL Anthology", version)


def _pmlr_paper(volume: str, key: str) -> PaperId:
    return PaperId(
        f"pmlr:{volume}/{key}", f"https://proceedings.mlr.press/{volume}/{key}.html", "PMLR"
    )


def _neurips_hash_paper(year: str, digest: str, track: str | None = None) -> PaperId:
    """Abstract page of a proceedings.neurips.cc paper.

    From 2022 the page name carries the track (``-Abstract-Conference.html``); without
    one we assume the main track, which is what ``url_for_canonical`` must do too.
    """
    if track is None and int(year) >= 2022:
        track = "Conference"
    suffix = f"-Abstract-{track}.html" if track else "-Abstract.html"
    return PaperId(
        f"neurips:{year}/{digest}",
        f"https://proceedings.neurips.cc/paper_files/paper/{year}/hash/{digest}{suffix}",
        "NeurIPS",
    )


def _neurips_old_paper(number: str, slug: str | None = None) -> PaperId:
    number = str(int(number))
    tail = f"{number}-{slug}" if slug else number
    return PaperId(f"neurips:{number}", f"https://papers.nips.cc/paper/{tail}", "NeurIPS")


# ---------------------------------------------------------------------------
# Host-specific URL handlers.  Each gets the split URL and its %-decoded path and
# returns a PaperId, None (not a paper page: fall back to a plain Web link), or raises
# PaperIdError when the link has a paper-page shape but a malformed id.

_Handler = Callable[[SplitResult, str], PaperId | None]


def _h_arxiv(parts: SplitResult, path: str) -> PaperId | None:
    m = re.fullmatch(r"/(?:abs|pdf|html|format|ps|src)/(.*)", path, re.DOTALL)
    if m is None:
        return None  # listings, search, help pages: ordinary links
    paper = _arxiv_from_path(m[1])
    if paper is None:
        raise PaperIdError(_MSG_ARXIV_LINK)
    return paper


def _mirror(pattern: str) -> _Handler:
    """Handler for a site that shows an arXiv paper under ``pattern`` + <arXiv id>."""
    regex = re.compile(pattern + r"(.*)", re.IGNORECASE | re.DOTALL)

    def handler(parts: SplitResult, path: str) -> PaperId | None:
        m = regex.fullmatch(path)
        return _arxiv_from_path(m[1]) if m else None

    return handler


def _h_paperswithcode(parts: SplitResult, path: str) -> PaperId | None:
    # Pages are usually /paper/<title-slug> (no id: a Web link); accept a path segment
    # that is a whole new-style arXiv id.
    for segment in path.split("/"):
        if _NEW_ARXIV_ONLY_RE.fullmatch(segment):
            return _parse_bare_arxiv(segment)
    return None


def _h_doi_org(parts: SplitResult, path: str) -> PaperId | None:
    try:
        return _doi_paper(path.lstrip("/"))
    except PaperIdError:
        raise PaperIdError(_MSG_DOI_LINK) from None


_ATYPON_DOI_RE = re.compile(
    r"/doi/(?:(?:abs|full|pdf|epdf|pdfdirect|fullhtml|reader|book|proceedings|epub)/)?(10\..+?)/?",
    re.IGNORECASE | re.DOTALL,
)


def _h_atypon(parts: SplitResult, path: str) -> PaperId | None:
    """ACM, Wiley, Science, PNAS, …: /doi/[abs|pdf|…/]<doi>."""
    m = _ATYPON_DOI_RE.fullmatch(path)
    return _doi_paper(m[1]) if m else None


def _h_springer(parts: SplitResult, path: str) -> PaperId | None:
    m = re.fullmatch(
        r"/(?:article|chapter|referenceworkentry|protocol|book|content/pdf)/(10\..+?)(?:\.pdf)?/?",
        path,
        re.DOTALL,
    )
    return _doi_paper(m[1]) if m else None


def _h_nature(parts: SplitResult, path: str) -> PaperId | None:
    """Nature article ids are the DOI suffix: /articles/nature14539 is 10.1038/nature14539."""
    m = re.fullmatch(r"/articles/([A-Za-z0-9._-]+?)(?:\.pdf)?/?", path) or re.fullmatch(
        r"/[a-z]+/journal/.+/(?:full|abs)/([a-z0-9._-]+?)\.(?:html|pdf)", path
    )
    return _doi_paper(f"10.1038/{m[1]}") if m else None


def _preprint_server(source: str) -> _Handler:
    def handler(parts: SplitResult, path: str) -> PaperId | None:
        m = re.fullmatch(
            r"/content/(10\.1101/(?:\d{4}\.\d{2}\.\d{2}\.)?\d+)(v\d+)?(?:\.[A-Za-z0-9.+-]*)?/?", path
        )
        return _doi_paper(m[1], source=source, version=m[2]) if m else None

    return handler


def _h_openreview(parts: SplitResult, path: str) -> PaperId | None:
    if path.rstrip("/") not in ("/forum", "/pdf"):
        return None  # venue/group/profile pages
    ids = parse_qs(parts.query).get("id")
    if not ids:
        raise PaperIdError(_MSG_OPENREVIEW)
    return _openreview_paper(ids[0])


def _h_acl(parts: SplitResult, path: str) -> PaperId | None:
    m = re.fullmatch(r"/" + _ACL_PATH_ID + r"(?:\.pdf)?/?", path)
    return _acl_paper(m["id"], m["version"]) if m else None


def _h_aclweb(parts: SplitResult, path: str) -> PaperId | None:
    # www.aclweb.org/anthology/P19-1001(.pdf) and the older /anthology/P/P19/P19-1001.pdf
    m = re.fullmatch(r"/anthology/(?:[A-Za-z]/[A-Za-z]\d{2}/)?" + _ACL_PATH_ID + r"(?:\.pdf)?/?", path)
    return _acl_paper(m["id"], m["version"]) if m else None


_PMLR_KEY = r"[A-Za-z0-9_-]+?"


def _h_pmlr(parts: SplitResult, path: str) -> PaperId | None:
    # /v119/chen20j.html, /v119/chen20j, /v37/ioffe15.pdf, /v119/chen20j/chen20j.pdf,
    # /v119/chen20j/chen20j-supp.pdf; jmlr.org used /proceedings/papers/v37/ioffe15.html.
    path = re.sub(r"^/proceedings/papers(?=/)", "", path)
    m = re.fullmatch(r"/([vr]\d+)/(" + _PMLR_KEY + r")(?:-supp)?(?:\.html|\.pdf)?/?", path)
    if m is None:
        m = re.fullmatch(r"/([vr]\d+)/(" + _PMLR_KEY + r")/\2(?:-supp)?\.pdf", path)
    return _pmlr_paper(m[1], m[2]) if m else None


def _h_neurips(parts: SplitResult, path: str) -> PaperId | None:
    m = re.fullmatch(
        r"/(?:paper_files/)?paper/(\d{4})/(?:hash|file)/([0-9a-fA-F]{32})"
        r"-(?:Abstract|Paper|Supplemental|Supplementary|Reviews?|MetaReview|AuthorFeedback|Bibtex)"
        r"(?:-([A-Za-z0-9_]+))?\.(?:html|pdf|zip|bib)",
        path,
    )
    if m:
        return _neurips_hash_paper(m[1], m[2].lower(), m[3])
    # Pre-2020 numbering: /paper/7181-attention-is-all-you-need(.pdf). A slug is
    # required because /paper/2020 is the year index, not a paper.
    m = re.fullmatch(r"/paper/(\d{1,5})-([a-z0-9-]+?)(?:\.pdf|/bibtex)?/?", path)
    return _neurips_old_paper(m[1], m[2]) if m else None


_HANDLERS: dict[str, _Handler] = {}


def _register(hosts: tuple[str, ...], handler: _Handler) -> None:
    for host in hosts:
        _HANDLERS[host] = handler


_register(
    ("arxiv.org", "www.arxiv.org", "export.arxiv.org", "lanl.arxiv.org", "browse.arxiv.org"), _h_arxiv
)
_register(("ar5iv.labs.arxiv.org", "ar5iv.org", "www.ar5iv.org"), _mirror(r"/(?:html|abs)/"))
_register(("huggingface.co", "www.huggingface.co", "hf.co"), _mirror(r"/papers/"))
_register(("alphaxiv.org", "www.alphaxiv.org"), _mirror(r"/(?:abs|overview|pdf)/"))
_register(("semanticscholar.org", "www.semanticscholar.org"), _mirror(r"/arxiv/"))
_register(("api.semanticscholar.org",), _mirror(r"/arxiv:"))
_register(("paperswithcode.com", "www.paperswithcode.com"), _h_paperswithcode)
_register(("doi.org", "dx.doi.org", "www.doi.org"), _h_doi_org)
_register(
    (
        "dl.acm.org", "onlinelibrary.wiley.com", "science.org", "www.science.org", "pnas.org",
        "www.pnas.org", "pubs.acs.org", "www.tandfonline.com", "tandfonline.com",
        "journals.sagepub.com", "epubs.siam.org",
    ),
    _h_atypon,
)
_register(("link.springer.com",), _h_springer)
_register(("nature.com", "www.nature.com"), _h_nature)
_register(("biorxiv.org", "www.biorxiv.org"), _preprint_server("bioRxiv"))
_register(("medrxiv.org", "www.medrxiv.org"), _preprint_server("medRxiv"))
_register(("openreview.net", "www.openreview.net"), _h_openreview)
_register(("aclanthology.org", "www.aclanthology.org"), _h_acl)
_register(("aclweb.org", "www.aclweb.org"), _h_aclweb)
_register(("proceedings.mlr.press", "jmlr.org", "www.jmlr.org"), _h_pmlr)
_register(
    ("proceedings.neurips.cc", "papers.nips.cc", "papers.neurips.cc", "proceedings.nips.cc"),
    _h_neurips,
)


# ---------------------------------------------------------------------------
# Generic URL handling

# Query parameters that only say who shared a link or where the click came from; dropped so
# shares of one page dedup and nobody's share tracker is republished. Parameters that say
# *what* the page is (id, v, p, page, q, ...) are kept: only these names go.
_TRACKING_PARAMS = frozenset(
    {
        # ad and social click ids
        "fbclid", "gclid", "gclsrc", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "twclid", "ttclid",
        "li_fat_id", "igshid", "igsh", "epik", "rdt_cid",
        # newsletters, analytics, marketing suites
        "mc_cid", "mc_eid", "_hsenc", "_hsmi", "hsctatracking", "_ga", "_gl", "mkt_tok", "oly_anon_id",
        "oly_enc_id", "vero_id", "vero_conv", "trk", "trkcampaign", "s_cid", "cmpid", "ncid", "ocid",
        "sr_share", "wt.mc_id", "wt_mc_id", "cvid", "spm",
        # "shared from" markers: the New York Times' smid/smtyp, ref-style referrers, share ids
        "smid", "smtyp", "sgrp", "ref", "ref_src", "ref_url", "referrer", "si", "share_id", "fb_ref", "fb_source",
    }
)
# Trackers that are content elsewhere: on X/Twitter s= and t= are the share client and a
# share token (on YouTube t= is the moment, which is kept); YouTube's feature= and pp= are
# how the link was shared.
_HOST_TRACKING_PARAMS = {
    "twitter.com": frozenset({"s", "t"}), "www.twitter.com": frozenset({"s", "t"}),
    "mobile.twitter.com": frozenset({"s", "t"}), "x.com": frozenset({"s", "t"}),
    "youtube.com": frozenset({"feature", "pp"}), "www.youtube.com": frozenset({"feature", "pp"}),
    "youtu.be": frozenset({"feature", "pp"}), "m.youtube.com": frozenset({"feature", "pp"}),
}


def is_tracking_param(name: str, host: str = "") -> bool:
    """Whether a query parameter (any case) only tracks a share or a click."""
    name = name.lower()
    return (name.startswith(("utm_", "pk_", "mtm_")) or name in _TRACKING_PARAMS
            or name in _HOST_TRACKING_PARAMS.get(host, ()))


_DEFAULT_PORTS = {"http": 80, "https": 443}
_HOST_LABEL_RE = re.compile(r"(?!-)[a-z0-9_-]{1,63}(?<!-)")
# Printable ASCII that may stay as-is in a path or query; the rest (non-ASCII, quotes,
# angle brackets, backslash, …) is %-encoded.  "%" is kept so encoding is idempotent.
_URL_SAFE = "!#$%&'()*+,/:;=?@[]~-._"


def _check_host(parts: SplitResult) -> str:
    """Return the lower-case ASCII host, refusing credentials, IPs and dotless names."""
    if not parts.netloc:
        raise PaperIdError(_MSG_NO_HOST)
    if "@" in parts.netloc:
        raise PaperIdError(_MSG_USERINFO)
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise PaperIdError(_MSG_NO_HOST)
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        raise PaperIdError(_MSG_IP)
    if not host.isascii():
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            raise PaperIdError(_MSG_BAD_HOST) from None
    labels = host.split(".")
    if len(labels) < 2:
        raise PaperIdError(_MSG_NO_DOT)
    if len(host) > 253 or not all(_HOST_LABEL_RE.fullmatch(label) for label in labels):
        raise PaperIdError(_MSG_BAD_HOST)
    if labels[-1].isdigit():
        raise PaperIdError(_MSG_IP if all(label.isdigit() for label in labels) else _MSG_BAD_HOST)
    return host


def _web_paper(parts: SplitResult, host: str, port: int | None) -> PaperId:
    """The ``url:`` fallback: scheme/host lower-cased, default port, fragment and trackers dropped.

    Path and remaining query parameters are kept as given (order too); only characters
    that are not allowed in URLs are %-encoded, so normalising twice changes nothing.
    """
    scheme = parts.scheme.lower()
    netloc = host if port is None or port == _DEFAULT_PORTS[scheme] else f"{host}:{port}"
    path = "" if parts.path == "/" else parts.path
    kept = []
    for piece in parts.query.split("&"):
        if not piece:
            continue
        if is_tracking_param(unquote_plus(piece.split("=", 1)[0]), host):
            continue
        kept.append(piece)
    url = f"{scheme}://{netloc}{quote(path, safe=_URL_SAFE)}"
    if kept:
        url += "?" + quote("&".join(kept), safe=_URL_SAFE)
    return PaperId(f"url:{url}", url, "Web")


def _identify_url(text: str) -> PaperId:
    """Identify an absolute http(s) URL (scheme already known to be present)."""
    try:
        parts = urlsplit(text)
    except ValueError:
        raise PaperIdError(_MSG_BAD_HOST) from None
    if parts.scheme.lower() not in _DEFAULT_PORTS:
        raise PaperIdError(_MSG_SCHEME)
    host = _check_host(parts)
    try:
        port = parts.port
    except ValueError:
        raise PaperIdError(_MSG_PORT) from None
    path = unquote(parts.path)
    handler = _HANDLERS.get(host)
    if handler is not None:
        paper = handler(parts, path)
        if paper is not None:
            return paper
    # Any other page that wraps an arXiv link (web archives, search pages, …).
    m = _ARXIV_EMBEDDED_RE.search(path + "?" + unquote_plus(parts.query))
    if m:
        try:
            return _arxiv_from_path(m[1]) or _web_paper(parts, host, port)
        except PaperIdError:
            pass  # a malformed id inside someone else's page: keep the page itself
    return _web_paper(parts, host, port)


# ---------------------------------------------------------------------------
# Public API

_PREFIX_RE = re.compile(r"(arxiv|doi|openreview|acl|pmlr|neurips|url)\s*:\s*(.*)", re.IGNORECASE | re.DOTALL)
_SCHEME_RE = re.compile(r"([A-Za-z][A-Za-z0-9+-]*):")
_SCHEMELESS_HOST_RE = re.compile(
    r"([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+|[A-Za-z0-9-]+(?=:\d))(?::\d+)?(?:[/?#]|$)"
)
_PORT_AFTER_COLON_RE = re.compile(r"\d+(?:[/?#]|$)")
_ARXIV_CATEGORY_SUFFIX_RE = re.compile(r"\s*\[[A-Za-z.-]+\]$")


# Invisible characters that copy-paste often drags along at the ends of a link.
_EDGE_JUNK = " \t\r\n\f\v\u00a0\u200b\u200c\u200d\u2060\ufeff"


def _has_bad_chars(text: str) -> bool:
    """Whitespace, control or invisible format characters (zero-width space, bidi marks)."""
    return any(c.isspace() or unicodedata.category(c) in ("Cc", "Cf") for c in text)


def _from_prefixed(kind: str, rest: str) -> PaperId:
    """Parse ``<kind>:<rest>`` (canonical ids, and ``arXiv:``/``DOI:`` as people write them)."""
    rest = rest.strip()
    if kind == "arxiv":
        rest = _ARXIV_CATEGORY_SUFFIX_RE.sub("", rest)  # "arXiv:2005.11401 [cs.CL]"
    if not rest:
        raise PaperIdError(_MSG_EMPTY)
    if _has_bad_chars(rest):
        raise PaperIdError(_MSG_SPACES)
    if kind == "arxiv":
        paper = _parse_bare_arxiv(rest)
        if paper is None:
            raise _bad_arxiv(rest)
        return paper
    if kind == "doi":
        return _doi_paper(rest, decoded=False)
    if kind == "openreview":
        return _openreview_paper(rest)
    if kind == "acl":
        m = re.fullmatch(_ACL_PATH_ID, rest)
        return _acl_paper(m["id"], m["version"]) if m else _acl_paper(rest)
    if kind == "pmlr":
        m = _PMLR_ID_RE.fullmatch(rest)
        if m is None:
            raise PaperIdError("This is not a valid PMLR id; ids look like v119/chen20j.")
        return _pmlr_paper(m["volume"], m["key"])
    if kind == "neurips":
        m = _NEURIPS_HASH_ID_RE.fullmatch(rest.lower())
        if m:
            return _neurips_hash_paper(m["year"], m["hash"])
        if _NEURIPS_OLD_ID_RE.fullmatch(rest):
            return _neurips_old_paper(rest)
        raise PaperIdError("This is not a valid NeurIPS id; ids look like 2020/<32-character hash>.")
    # kind == "url"
    if not _SCHEME_RE.match(rest):
        raise PaperIdError(_MSG_NEED_SCHEME)
    return _identify_url(rest)


def identify(text: str) -> PaperId:
    """Recognise a paper link or bare identifier and return its canonical form.

    Accepts http(s) URLs; scheme-less URLs only on known paper hosts (``arxiv.org/abs/…``);
    bare arXiv ids (``2005.11401v2``, ``hep-th/9901001``, ``arXiv:2005.11401``); DOIs
    (``10.1038/nature14539``, ``doi:…``, ``DOI: …``); and canonical ids
    (``openreview:…``, ``acl:…``, ``pmlr:…``, ``neurips:…``, ``url:…``), so that
    ``identify(p.canonical_id).canonical_id == p.canonical_id``.

    Raises PaperIdError (with a user-facing message) for anything else.
    """
    text = (text or "").strip(_EDGE_JUNK)
    if not text:
        raise PaperIdError(_MSG_EMPTY)
    if len(text) > MAX_INPUT_LENGTH:
        raise PaperIdError(_MSG_TOO_LONG)

    m = _PREFIX_RE.fullmatch(text)
    if m:
        return _from_prefixed(m[1].lower(), m[2])
    if _has_bad_chars(text):
        raise PaperIdError(_MSG_SPACES)

    scheme = _SCHEME_RE.match(text)
    # "arxiv.org:443/…" and "localhost:8000/…" are host:port, not a scheme.
    if scheme and not _PORT_AFTER_COLON_RE.match(text, scheme.end()):
        if scheme[1].lower() not in _DEFAULT_PORTS:
            raise PaperIdError(_MSG_SCHEME)
        return _identify_url(text)

    paper = _parse_bare_arxiv(text)
    if paper is not None:
        return paper
    if text.startswith("10."):
        return _doi_paper(text, decoded=False)

    host = _SCHEMELESS_HOST_RE.match(text)
    if host:
        if host[1].lower().rstrip(".") in _HANDLERS:
            return _identify_url("https://" + text)
        raise PaperIdError(_MSG_NEED_SCHEME)
    raise PaperIdError(_MSG_UNRECOGNISED)


def url_for_canonical(canonical_id: str) -> str:
    """Clean URL for a canonical id (the inverse of ``identify(...).canonical_id``).

    Used to render ``/papers/<canonical-id>`` pages, so the id is re-validated rather than
    trusted.  Raises PaperIdError for an unknown prefix or a malformed id.
    """
    kind, sep, rest = (canonical_id or "").partition(":")
    kind = kind.lower()
    if not sep or kind not in {"arxiv", "doi", "openreview", "acl", "pmlr", "neurips", "url"}:
        raise PaperIdError("This is not a known kind of paper id.")
    if len(rest) > MAX_INPUT_LENGTH:
        raise PaperIdError(_MSG_TOO_LONG)
    return _from_prefixed(kind, rest).url
