"""The only place that turns user Markdown (and feed HTML) into HTML we serve.

Pipeline: Markdown (fenced code, tables, bare-URL autolinks) with LaTeX math turned
into MathML by latex2mathml, then nh3 (Rust's ammonia) with an explicit allow-list.
nh3, not bleach: bleach has been unmaintained since 2026-06 (mozilla/bleach#698).
Images are not in the allow-list on purpose: a comment must never make a reader's
browser fetch from another origin (tracking pixels in feeds included).
"""

from __future__ import annotations

import html
import itertools
import re
import xml.etree.ElementTree as etree

import latex2mathml.converter
import markdown
import nh3
from markdown.inlinepatterns import InlineProcessor

from community.text import xml_safe

MATHML_TAGS = {
    "math", "semantics", "annotation", "mrow", "mi", "mn", "mo", "ms", "mtext", "mspace",
    "msup", "msub", "msubsup", "mfrac", "msqrt", "mroot", "mover", "munder", "munderover",
    "mtable", "mtr", "mtd", "mstyle", "mpadded", "mphantom", "menclose", "merror",
}
HTML_TAGS = {
    "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "em", "strong", "b", "i", "del", "s",
    "code", "pre", "kbd", "blockquote", "ul", "ol", "li", "a", "table", "thead", "tbody",
    "tr", "th", "td", "sup", "sub", "abbr", "dl", "dt", "dd",
}
ATTRIBUTES: dict[str, set[str]] = {
    "a": {"href", "title"},
    "abbr": {"title"},
    "ol": {"start"},
    "th": {"align"},
    "td": {"align"},
    "math": {"display", "xmlns"},
    "mo": {"stretchy", "fence", "separator", "lspace", "rspace", "form", "largeop",
           "movablelimits", "accent", "symmetric", "minsize", "maxsize"},
    "mi": {"mathvariant"},
    "mn": {"mathvariant"},
    "mtext": {"mathvariant"},
    "mstyle": {"displaystyle", "scriptlevel", "mathvariant"},
    "mfrac": {"linethickness"},
    "mspace": {"width", "height", "depth"},
    "mpadded": {"width", "height", "depth", "lspace", "voffset"},
    "menclose": {"notation"},
    "mtable": {"columnalign", "rowalign", "rowspacing", "columnspacing", "columnlines", "rowlines", "frame"},
    "mtr": {"columnalign", "rowalign"},
    "mtd": {"columnalign", "rowalign", "columnspan", "rowspan"},
    "mover": {"accent"},
    "munder": {"accentunder"},
    "munderover": {"accent", "accentunder"},
    "annotation": {"encoding"},
}
URL_SCHEMES = {"http", "https", "mailto"}
USER_LINK_REL = "nofollow ugc noopener"
FEED_LINK_REL = "nofollow noopener"

_BARE_URL = r"(?<![\w/\"'=<(\[])(https?://[^\s<>\[\]()]*[^\s<>\[\]().,;:!?'\"*_])"


# Each latex2mathml call costs tens of microseconds: past this many formulas in one text,
# the rest are shown as their source.
MAX_MATH = 500


class _MathProcessor(InlineProcessor):
    def __init__(self, pattern: str, md: markdown.Markdown, display: str, converted: itertools.count):
        super().__init__(pattern, md)
        self.display = display
        self.converted = converted  # shared by inline and display math of one render

    def handleMatch(self, m, data):  # noqa: N802 (Markdown's API)
        if next(self.converted) >= MAX_MATH:
            return self.md.htmlStash.store(f"<code>{html.escape(m.group(0))}</code>"), m.start(0), m.end(0)
        latex = m.group(1).strip()
        try:
            mathml = latex2mathml.converter.convert(latex, display=self.display)
        except Exception:  # latex2mathml raises many kinds on bad input; show the source instead
            mathml = f'<code class="math-error">{html.escape(m.group(0))}</code>'
        else:
            if self.display == "block" and data.strip() != m.group(0):
                mathml = _display_in_line(mathml)
        return self.md.htmlStash.store(mathml), m.start(0), m.end(0)


def _display_in_line(mathml: str) -> str:
    """`$$...$$` inside a sentence: display style (limits under a sum, full-size fractions)
    set within the line, as TeX's `$\\displaystyle ...$`, so the sentence is not broken onto
    a centred row of its own. On a paragraph of its own, `$$...$$` stays a display block."""
    opening, _, rest = mathml.partition(">")
    inner = rest.removesuffix("</math>")
    return (opening.replace('display="block"', 'display="inline"') + '><mstyle displaystyle="true">'
            + inner + "</mstyle></math>")


class _BareUrlProcessor(InlineProcessor):
    def handleMatch(self, m, data):  # noqa: N802
        el = etree.Element("a", href=m.group(1))
        el.text = m.group(1)
        return el, m.start(0), m.end(0)


MENTION = re.compile(r"(?<![\w@/.])@([A-Za-z0-9_-]{3,30})\b")


class _MentionProcessor(InlineProcessor):
    """@username of an existing account -> a profile link; other @words stay text."""

    def __init__(self, md: markdown.Markdown, known: set[str]):
        super().__init__(MENTION.pattern, md)
        self.known = known

    def handleMatch(self, m, data):  # noqa: N802
        if m.group(1).lower() not in self.known:
            return None, None, None
        el = etree.Element("a", href=f"/u/{m.group(1)}")
        el.text = "@" + m.group(1)
        return el, m.start(0), m.end(0)


class _ResearchExtension(markdown.Extension):
    """Math first (after code spans, which run at 190, so `$x$` in code stays code)."""

    def __init__(self, mentions: set[str] | None = None):
        super().__init__()
        self.mentions = mentions or set()

    def extendMarkdown(self, md):  # noqa: N802
        md.ESCAPED_CHARS.append("$")
        converted = itertools.count()
        md.inlinePatterns.register(
            _MathProcessor(r"(?<!\\)\$\$(.+?)\$\$", md, "block", converted), "display_math", 186)
        # Pandoc's rule: no space after the opening $ or before the closing one, and no
        # digit right after it, so "$5 and $6" stays money.
        md.inlinePatterns.register(
            _MathProcessor(r"(?<![\\$])\$(?=\S)([^$\n]*?[^\s\\$])\$(?!\d)", md, "inline", converted),
            "inline_math", 185)
        md.inlinePatterns.register(_BareUrlProcessor(_BARE_URL, md), "bare_url", 115)
        if self.mentions:
            md.inlinePatterns.register(_MentionProcessor(md, self.mentions), "mention", 114)


def _markdown(mentions: set[str] | None = None) -> markdown.Markdown:
    return markdown.Markdown(
        extensions=["fenced_code", "tables", "sane_lists", _ResearchExtension(mentions)],
        output_format="html",
    )


def mention_candidates(source: str) -> set[str]:
    """Lower-cased names written as @name (the caller keeps those that are accounts)."""
    return {m.group(1).lower() for m in MENTION.finditer(source or "")}


# Characters beyond the Basic Multilingual Plane (emoji, and the 𝔼 or ℝ-like letters
# MathML uses) are stored as character references: one of them in a page makes Python
# hold the whole page at 4 bytes a character, and a 2,000-comment page then costs twice
# the memory and several times the time to assemble. Browsers show the same character.
_ASTRAL = re.compile("[\U00010000-\U0010FFFF]")


def astral_as_references(html_text: str) -> str:
    if html_text.isascii():  # a flag CPython keeps on every string: no scan
        return html_text
    return _ASTRAL.sub(lambda m: f"&#x{ord(m[0]):X};", html_text)


def sanitize(fragment: str, link_rel: str = USER_LINK_REL) -> str:
    """Clean arbitrary HTML down to the allow-list (also used for feed show notes).

    nh3 decodes character references, so a typed `&#7;` would come out as a real control
    character: what XML refuses goes too (text.xml_safe), as it does at the form's door."""
    return astral_as_references(xml_safe(nh3.clean(
        fragment,
        tags=HTML_TAGS | MATHML_TAGS,
        attributes=ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel=link_rel,
        strip_comments=True,
    )))


# Python-Markdown reads on to the end of the text from some places where nothing closes
# what starts there, so its work grows as (number of such re-reads) x (length). The
# checks below read the text once and bound that number, so a render costs at most a
# fixed multiple of the length; past the bound the text is shown as written. Measured in
# tests/unit/test_markup_linear.py: the worst text of MAX_MARKDOWN characters within the
# bounds renders in a fraction of a second.
MAX_MARKDOWN = 20_000  # the longest body a form accepts (services.discussion.MAX_BODY)
MAX_NESTING = 64  # the list and quote parsers recurse once per level
MAX_RESCANS = 1_000  # counted at the speed of a regex; slower readers weigh more
_TAG_OPEN = re.compile(r"<[A-Za-z]")
_CLOSED_TAG = re.compile(r"<[A-Za-z][^<>'\"]*>")  # read up to its ">" and no further
_FENCE = re.compile(r"^(?:```|~~~)", re.M)
_BACKTICKS = re.compile(r"`+")
_LINK_CHAR = re.compile(r"[][()'\"]")


def _too_costly(source: str) -> bool:
    """Whether `source` is longer than MAX_MARKDOWN, would be re-read more than MAX_RESCANS
    times, or nests more than MAX_NESTING levels."""
    size = len(source)
    if size > MAX_MARKDOWN:
        return True
    lines = source.split("\n")
    # After a line that is a block of its own ("# h", "---") the block parser re-reads the
    # rest of its block; the fenced-code pattern searches on from every unclosed fence;
    # html.parser, some 10 times slower than a regex, from every "<a" that is not a plain
    # closed tag (a quoted attribute value may hide its ">").
    open_tags = len(_TAG_OPEN.findall(source)) - len(_CLOSED_TAG.findall(source))
    rescans = (max(block.count("\n") for block in source.split("\n\n"))
               + len(_FENCE.findall(source)) + 10 * open_tags)
    # Python loops reading a character at a time, some 30 times slower: the code-span
    # finder reads on from a backtick run when no later run is as long (one such run per
    # length at most); the table-row splitter compares each "|" of a row with each pair
    # of backticks in it; the link parser: see _link_work.
    loop_work = (len({len(run) for run in _BACKTICKS.findall(source)}) * size
                 + sum(line.count("|") * line.count("`") for line in lines) + _link_work(source))
    return rescans + 30 * loop_work / max(size, 1) > MAX_RESCANS or _too_deeply_nested(lines)


def _link_work(source: str) -> int:
    """About how many characters the link parser reads: from each "[" to its "]" and from
    each "](" to its ")", or to the end of the text when there is none. A quote inside the
    parentheses also sends it to the end, unless the quote closes a title just before ")"."""
    work, squares, parens, last_quote = 0, [], [], -1
    for m in _LINK_CHAR.finditer(source):
        i, c = m.start(), m[0]
        if c in "'\"":
            last_quote = i
        elif c == "[":
            squares.append(i)
        elif c == "]":
            if squares:
                work += i - squares.pop()
        elif c == "(":
            parens.append(i if source[i - 1:i] == "]" else -1)
        elif parens and (start := parens.pop()) >= 0:
            j = i - 1
            while source[j].isspace():  # the spaces before this ")" and no other: linear overall
                j -= 1
            unended_quote = last_quote > start and source[j] not in "'\""
            work += (len(source) if unended_quote else i) - start
    return work + sum(len(source) - i for i in squares + [j for j in parens if j >= 0])


def _too_deeply_nested(lines: list[str]) -> bool:
    """More than MAX_NESTING list/quote markers opening one line ("- - > 1. x").

    Hand-written rather than a regex: a pattern of nested quantifiers over markers and
    whitespace backtracks exponentially on a near miss (the 130 characters "-  " * 43 + "x"
    kept a worker busy for minutes)."""
    for line in lines:
        depth, i, end = 0, 0, len(line)
        while depth <= MAX_NESTING:
            while i < end and line[i] in " \t":
                i += 1
            j = i
            while j < end and line[j].isdigit():
                j += 1
            if j > i and j < end and line[j] in ".)":  # "1." or "1)"
                j += 1
            elif i < end and line[i] in "-*+>":
                j = i + 1
            else:
                break
            if line[i] != ">" and j < end and line[j] not in " \t":  # "-x", "1.5": text, not a marker
                break
            depth, i = depth + 1, j
        if depth > MAX_NESTING:
            return True
    return False


def render(source: str, mentions: set[str] | None = None) -> str:
    """User Markdown -> safe HTML, stored once at write time as body_html.

    `mentions`: lower-cased usernames that exist; those @names become profile links."""
    source = (source or "").replace("\r\n", "\n").replace("\r", "\n")  # as Markdown does: checks count "\n"
    if _too_costly(source):
        return _as_written(source)
    try:
        return _keyboard_scrollable(sanitize(_markdown(mentions).convert(source)))
    except RecursionError:
        return _as_written(source)


_MATH = re.compile(r'<math ([^>]*)>(.*?)</math>', re.S)
_MATH_TOKEN = re.compile(r"<m[ino][ >]")
WIDE_INLINE_MATH = 12  # tokens: past this an inline formula may scroll on a phone


def _keyboard_scrollable(safe_html: str) -> str:
    """Code blocks and display or long formulas scroll inside their own box (site.css);
    tabindex="0" lets a keyboard scroll them too (WCAG 2.1.1, axe's scrollable-region-
    focusable). Added after sanitising, to elements the renderer made."""
    def math(m: re.Match) -> str:
        wide = 'display="block"' in m.group(1) or len(_MATH_TOKEN.findall(m.group(2))) > WIDE_INLINE_MATH
        return f'<math {m.group(1)} tabindex="0">{m.group(2)}</math>' if wide else m.group(0)
    return _MATH.sub(math, safe_html.replace("<pre>", '<pre tabindex="0">'))


def _as_written(source: str) -> str:
    """Pathological input (a denial-of-service shape, never a real comment): plain text."""
    return "<p>" + astral_as_references(html.escape(xml_safe(source))).replace("\n", "<br>") + "</p>"


def render_feed_html(fragment: str) -> str:
    """Show notes from an RSS feed: already HTML; sanitised with the same allow-list,
    then "12:34" moments become links that seek the episode's player."""
    return link_timestamps(sanitize(fragment or "", link_rel=FEED_LINK_REL))


def render_show_notes(source: str) -> str:
    """Show notes written in the console: Markdown like any user text, then moments link."""
    return link_timestamps(render(source))


TIMESTAMP = re.compile(r"(?<![\d:.])(?:(\d{1,2}):)?([0-5]?\d):([0-5]\d)(?![\d:])")
# "<[^<>]*>", not "<[^>]*>": the same on sanitised HTML (nh3 escapes "<" and ">" in text and
# attributes), but a run of "<" with no ">" costs one pass, not one pass per "<".
_TAG_OR_TEXT = re.compile(r"(<[^<>]*>)")


def timestamp_seconds(text: str) -> int | None:
    """'12:34' or '1:02:03' -> seconds; anything else -> None."""
    m = TIMESTAMP.fullmatch((text or "").strip())
    if not m:
        return None
    hours, minutes, seconds = (int(g) if g else 0 for g in m.groups())
    return hours * 3600 + minutes * 60 + seconds


def link_timestamps(safe_html: str) -> str:
    """Wrap moments in text (never inside an existing link) in a seek link.

    Runs on already-sanitised HTML: it only adds an <a> whose href it builds itself."""
    out, in_link = [], 0
    for part in _TAG_OR_TEXT.split(safe_html):
        if part.startswith("<"):
            lowered = part[:3].lower()
            in_link += 1 if lowered.startswith("<a") and not lowered.startswith("<ab") else 0
            in_link -= 1 if part.lower().startswith("</a>") else 0
            out.append(part)
        elif in_link:
            out.append(part)
        else:
            out.append(TIMESTAMP.sub(lambda m: f'<a class="seek" href="?t={timestamp_seconds(m.group(0))}#player">{m.group(0)}</a>', part))
    return "".join(out)


_TAG = re.compile(r"<[^<>]+>")


def plain_text(rendered_html: str) -> str:
    """Readable text of stored HTML (for meta descriptions, summaries, email)."""
    return " ".join(html.unescape(_TAG.sub(" ", rendered_html)).split())


_MD_LINK = re.compile(r"!?\[([^\]\n]*)\]\([^)\s]*\)")
_KEPT_AS_WRITTEN = re.compile(r"(\$\$.+?\$\$|(?<!\\)\$[^$\n]+?\$|`[^`\n]*`)")  # math and code
_MD_MARKS = re.compile(r"(?<![\w$\\])(\*\*|__|\*|_|~~)(?=\S)|(?<=\S)(\*\*|__|\*|_|~~)(?![\w$])")


def snippet(source: str, limit: int = 80) -> str:
    """A short plain quote of a post's Markdown source for notifications and their mail:
    math stays as written (`$x^2$` is text a reader can follow, flattened MathML is not),
    links keep their text, emphasis marks and line breaks go. Cut at a word, with "…"."""
    text = " ".join(_MD_LINK.sub(r"\1", (source or "")[:4 * limit + 400]).split())  # enough to cut from
    pieces = _KEPT_AS_WRITTEN.split(text)  # odd pieces are math or code: their marks are meaning
    text = "".join(piece if i % 2 else _MD_MARKS.sub("", piece) for i, piece in enumerate(pieces)).lstrip("#> ")
    if len(text) <= limit:
        return text
    cut = text[:limit - 1]
    at = cut.rfind(" ")
    return (cut[:at] if at > limit // 2 else cut).rstrip(" ,;:.") + "…"
