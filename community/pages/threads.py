"""Comment threads as HTML, built in Python: a 2,000-comment thread renders in a few
tens of milliseconds, where a recursive Jinja macro took ~1 ms per comment (and, measured
again for issue 17, a Jinja macro per comment called from here still cost +80%).

Rendering has two steps. `shared_html` builds what every reader sees alike (bodies, names,
scores, links) and leaves a marker where a reader's own state goes (the slots of
pages/readers.py); user content can never contain such a marker (the sanitiser strips
comments). `personal_chunks` then fills the markers for one reader without re-rendering
any comment: the markers are filled once for the reader's class (`ClassReader`), and only
the posts where this reader differs (as the slots' declared fields say) are filled per
request. Addresses come from the url_map (pages/urls.py)."""

from __future__ import annotations

import re
import time
from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import datetime
from itertools import accumulate

from flask import get_template_attribute, url_for
from markupsafe import Markup, escape

from community.formatting import duration, exact_time, iso, plural, relative_time
from community.markup import astral_as_references
from community.models import Post
from community.pages import readers
from community.pages.readers import CLASS_FIELDS, CSRF_SLOT, FIELDS, SLOTS, ClassReader, Index, PostFacts, Reader
from community.pages.urls import ThreadUrls, thread_urls
from community.services.discussion import Node
from community.services.moments import moment_of

_C, _N, _V, _A, _M = (SLOTS[name].opening for name in "CNVAM")

# On a narrow screen a thread shows this many levels and then a "Continue this thread"
# link (site.css hides the deeper levels there), so indentation stops growing by 360 px.
# The page cache keeps one HTML for every screen, so both forms are in it.
NARROW_DEPTH = 4


@dataclass
class Prefilled:
    """A shared HTML split at its markers (text, fill, text, fill, ..., text), each fill
    as the class stand-in sees it, and joined: the class's page. A particular reader
    differs on a few posts (their own, their votes, new ones: Index and the slots' fields
    say which), patched in by position: the reader's page is the class's page sliced
    around those pieces. Bytes already: a page is sent as UTF-8, never encoded per request."""
    joined: bytes
    starts: list[int]  # where each piece starts in `joined`, and its length last
    slots: dict[int, list[tuple[int, str]]]  # post id -> [(index of its piece, slot name)]
    index: Index
    personal: list[str]  # the personal fields read by the slots present in this HTML
    csrf_at: list[int]  # where CSRF_SLOT is in `joined` (a form in a 800 KB transcript: not copied to fill it)


@dataclass
class SharedThread:
    html: str
    facts: dict[int, PostFacts] = field(default_factory=dict)
    # Prefilled forms of this thread's HTML pieces; built on first use in each process.
    prefilled: dict = field(default_factory=dict, repr=False, compare=False)

    def __getstate__(self):  # the cache keeps the shared HTML, not what each process derives
        return {**self.__dict__, "prefilled": {}}


def _user_link(user, is_guest: bool, urls: ThreadUrls) -> str:
    """As _macros/users.html's user_link: a display name comes with its @username, and role
    badges are markup outside the name (which services.accounts keeps free of role words)."""
    if user.deleted_at is not None:  # no profile to link to (as user_link in _macros/users.html)
        return f'<span class="user deleted-user">{escape(user.name)}</span>'
    handle = f" <small>@{escape(user.username)}</small>" if user.display_name and user.display_name != user.username else ""
    # The affiliation is a hover title, not byline text: a name, a hat, points and a time
    # fit one line on a phone (as on Lobsters); the whole profile is one tap away.
    title = f' title="{escape(user.affiliation)}"' if user.affiliation else ""
    parts = [f'<a class="user" href="{escape(urls.profile.format(user.username))}"{title}>{escape(user.name)}{handle}</a>']
    if is_guest:
        parts.append(' <span class="badge badge-guest" title="Guest on this episode">Guest</span>')
    for badge in user.badges:
        if badge != "Guest":
            parts.append(f' <span class="badge badge-{badge.lower()}">{badge}</span>')
    if hat := user.verified_hat:  # from the users row: no query
        parts.append(f' <span class="verified-hat">{escape(hat)}</span>')
    return "".join(parts)


def _time(moment: datetime) -> str:
    return f'<time datetime="{iso(moment)}" title="{exact_time(moment)}">{relative_time(moment)}</time>'


def shared_html(roots: list[Node], guest_user_ids: set[int], max_depth: int, header=None,
                fragments: Fragments | None = None) -> SharedThread:
    """`header(post)` returns extra HTML above a post's body (paper, question, suggestion).
    `fragments`: posts rendered by earlier calls, reused where nothing they show changed
    (pages/frames.py keeps one per process); a post's score is filled on every call."""
    out: list[str] = []
    facts: dict[int, PostFacts] = {}
    urls = thread_urls()

    counted: dict[int, int] = {}

    def comment(node: Node, depth: int) -> None:
        p: Post = node.post
        status = p.status.value
        tombstone = status in _TOMBSTONES
        classes = "comment" + (" is-tombstone" if tombstone else "") + (
            f" is-{status}" if status in ("hidden", "pending") else "")
        n = len(node.children)
        below = _descendants(node, counted)  # what collapsing hides: every reply under it, not only the direct ones
        permalink = urls.permalink.format(p.id)
        out.append(f'<li class="{classes}{_C}{p.id}-->" id="c{p.id}" data-id="{p.id}">\n<details open>\n')
        # The summary (the collapse toggle) holds plain text only: links inside it would be
        # controls nested in a control. Links follow in the meta line.
        if status == "deleted":
            who = '<span class="tombstone">[deleted]</span>'
        elif status == "removed":
            reason = f": {escape(p.status_reason)}" if p.status_reason else ""
            who = f'<span class="tombstone">[removed by moderators{reason}]</span>'
        else:
            who = f'<span class="who">{escape(p.author.name)}</span>'
        note = f' <span class="collapsed-note">({below} {plural(below, "reply", "replies")} hidden)</span>' if n else ""
        out.append(f'<summary class="comment-toggle">{who}{note}</summary>\n<p class="comment-meta">')
        if not tombstone:
            out.append(_user_link(p.author, p.author_id in guest_user_ids, urls) + ' <span class="sep">·</span> ')
        out.append(f'{_SCORE} <span class="sep">·</span> <a class="permalink" href="{permalink}">{_time(p.created_at)}</a>')
        if p.edited_at and not tombstone:
            out.append(f' <span class="sep">·</span> <a class="edited" href="{urls.history.format(p.id)}" '
                       f'title="edited {exact_time(p.edited_at)}">edited</a>')
        out.append(f"{_N}{p.id}-->")
        if status in ("hidden", "pending"):
            out.append(f' <span class="badge badge-moderation">{status}</span>')
        out.append("</p>\n")
        if tombstone:  # no actions line: the moderators' menu goes under the placeholder
            out.append(f"{_M}{p.id}-->")
        if status == "pending":
            out.append('<p class="moderation-note">Waiting for a moderator before others can see it.</p>')
        elif status == "hidden":
            out.append(f'<p class="moderation-note">Hidden from others: {escape(p.status_reason or "under review")}</p>')
        if not tombstone:
            if (moment := moment_of(p)) is not None:
                out.append(moment_chip(moment))
            if header is not None and p.kind.value != "comment":
                out.append(str(header(p)))
            out.append(f'<div class="comment-body prose">{p.body_html}</div>\n'
                       f'<div class="comment-actions">{_V}{p.id}-->\n{_A}{p.id}-->{_M}{p.id}--></div>\n')
        if n:
            more = f'<a href="{permalink}">Continue this thread ({below} more {plural(below, "reply", "replies")}) →</a>'
            if depth + 1 >= max_depth:
                out.append(f'<p class="continue">{more}</p>')
            else:
                if depth + 1 == NARROW_DEPTH:  # the same HTML for every screen: site.css picks one
                    out.append(f'<p class="continue continue-narrow">{more}</p>')
                out.append(_CHILDREN)
        out.append("</details>\n</li>\n")

    def post(node: Node, depth: int) -> None:
        """One post from its fragment (comment() above, without its score and replies),
        rendered again only when the post, its author or its replies' count changed."""
        p: Post = node.post
        status = p.status.value
        facts[p.id] = PostFacts(p.author_id, p.created_at, status, p.parent_id, status in _TOMBSTONES)
        below = _descendants(node, counted)
        key = None
        if cache.keeps and (header is None or p.kind.value == "comment"):  # a kind's header reads other rows: not cached
            # The author's shown columns are not in the key: changing them bumps the version
            # of everything (services/freshness), which empties `fragments` (frames.py).
            key = (p.id, below, depth, depth + 1 >= max_depth, p.author_id in guest_user_ids, _row(p))
        parts = cache.get(key)
        if parts is None:
            start = len(out)
            comment(node, depth)
            parts = cache.put(key, astral_as_references("".join(out[start:])))  # names may hold emoji too
            del out[start:]
        out.append(parts[0])
        out.append(_score(p))
        out.append(parts[1])
        if len(parts) == 3:
            level(node.children, depth + 1)
            out.append(parts[2])

    def level(nodes: list[Node], depth: int) -> None:
        kind = " thread-root" if depth == 0 else " thread-deep" if depth == NARROW_DEPTH else ""
        out.append(f'<ol class="thread{kind}">\n')
        for node in nodes:
            post(node, depth)
        out.append("</ol>\n")

    cache = fragments if fragments is not None else Fragments()
    cache.start()
    level(roots, 0)
    return SharedThread("".join(out), facts)


_TOMBSTONES = frozenset({"deleted", "removed"})  # Post.is_tombstone, from the status's value read once

# Where the score and the replies go in a post's fragment (NUL never reaches stored content).
_SCORE, _CHILDREN = "\x00score\x00", "\x00children\x00"


def _score(p: Post) -> str:
    """Filled on every assembly: a vote re-renders no fragment."""
    return f'<span class="score" data-score="{p.id}">{p.score} {plural(p.score, "point", "points")}</span>'


_UNCACHED_COLUMNS = frozenset({"score"})  # filled per assembly (_score)


def _row(obj) -> tuple:
    """Every column of a post's row but the score: what its fragment may read of it,
    whatever comment() shows of it tomorrow. JSON columns (lists, dicts) by value."""
    row = tuple(map(obj.__dict__.get, _columns(type(obj))))
    try:
        hash(row)
    except TypeError:
        row = tuple(v if v.__hash__ is not None else repr(v) for v in row)
    return row


_COLUMN_NAMES: dict[type, tuple[str, ...]] = {}


def _columns(model: type) -> tuple[str, ...]:
    names = _COLUMN_NAMES.get(model)
    if names is None:
        from sqlalchemy import inspect
        names = _COLUMN_NAMES[model] = tuple(a.key for a in inspect(model).column_attrs
                                             if a.key not in _UNCACHED_COLUMNS)
    return names


class Fragments:
    """Posts' fragments, kept between renderings of a thread in this process. An entry
    is never stale in what it shows of its rows (its key holds all of them), only in its
    relative times ("3 minutes ago"): it lives `max_age` seconds, as a cached page does.
    Entries no rendering used for a while are dropped.
    `rendered`: the fragments rendered by the latest rendering (tests bound it)."""

    KEEP = 8  # renderings an unused fragment survives (sorts and reader classes share fragments)

    def __init__(self, max_age: float = 0):
        self.max_age = max_age
        self.keeps = max_age > 0  # none (a rendering from scratch): no key is worth computing
        self.entries: dict[tuple, tuple[tuple[str, ...], int, float]] = {}
        self.generation, self.rendered, self.now = 0, 0, 0.0
        self.epoch = None

    def since(self, epoch) -> Fragments:
        """Forget every fragment when `epoch` (what they were rendered under, beyond their
        keys: the version of everything) moves on."""
        if epoch != self.epoch:
            self.entries.clear()
            self.epoch = epoch
        return self

    def start(self) -> None:
        self.generation += 1
        self.rendered = 0
        self.now = time.monotonic()
        if len(self.entries) > 4096 and self.generation % self.KEEP == 0:
            old = self.generation - self.KEEP
            self.entries = {k: v for k, v in self.entries.items() if v[1] > old}

    def get(self, key: tuple | None) -> tuple[str, ...] | None:
        found = self.entries.get(key) if key is not None else None
        if found is None or self.now - found[2] >= self.max_age:
            return None
        if found[1] != self.generation:
            self.entries[key] = (found[0], self.generation, found[2])
        return found[0]

    def put(self, key: tuple | None, html: str) -> tuple[str, ...]:
        self.rendered += 1
        before, after = html.split(_SCORE)
        parts = (before, *after.split(_CHILDREN))
        if key is not None and self.keeps:
            self.entries[key] = (parts, self.generation, self.now)
        return parts


class UnknownSlot(ValueError):
    """Shared HTML holds a marker no slot declares: it would reach readers unfilled."""


def _prefill(shared: SharedThread, html: str, stand_in: ClassReader) -> Prefilled:
    """Split as UTF-8 (one encoding of the page, not one per piece), then filled."""
    views = {name: stand_in.view(s.needs) for name, s in SLOTS.items()}
    data = html.encode()
    pieces = readers.MARKER_BYTES.split(data)  # text, slot name, post id, text, ...
    if data.count(b"<!--u:") != len(pieces) // 3:
        raise UnknownSlot(next(m for m in re.findall(r"<!--u:[^>]*-->", html) if not readers.MARKER.fullmatch(m)))
    names = {name.encode(): name for name in SLOTS}
    slots: dict[int, list[tuple[int, str]]] = {}
    by_name: dict[str, list[int]] = {name: [] for name in SLOTS}
    for i in range(1, len(pieces), 3):
        name, post_id = names[pieces[i]], int(pieces[i + 1])
        pieces[i], pieces[i + 1] = SLOTS[name].render(post_id, shared.facts[post_id], views[name]).encode(), b""
        slots.setdefault(post_id, []).append((i, name))
        by_name[name].append(post_id)
    reading: dict[str, list[int]] = {}
    for name, posts in by_name.items():
        for need in SLOTS[name].needs if posts else ():
            reading.setdefault(need, []).extend(posts)
    by_author: dict[int, list[int]] = {}
    for post_id in slots:
        by_author.setdefault(shared.facts[post_id].author_id, []).append(post_id)
    by_time = sorted((shared.facts[post_id].created_at, post_id) for post_id in slots)
    starts = [0, *accumulate(map(len, pieces))]
    joined = b"".join(pieces)
    # Where the forms' token goes: found in the joined page, not piece by piece (30,000 on a 2,000-comment page).
    csrf, csrf_at = CSRF_SLOT.encode(), []
    at = joined.find(csrf)
    while at != -1:
        csrf_at.append(at)
        at = joined.find(csrf, at + len(csrf))
    return Prefilled(joined, starts, slots, Index(by_author, by_time, reading),
                     sorted(name for name in reading if FIELDS[name].personal), csrf_at)


def personal_chunks(shared: SharedThread, reader: Reader, html: str | None = None) -> list:
    """The reader's fill of the markers in `html` (default: the shared thread) as UTF-8
    chunks to join: stretches of the class's page (memoryviews: not copied) around the
    pieces where this reader differs, filled here. The class's fills are prepared once."""
    html = shared.html if html is None else html
    key = (html, *reader.reader_class)
    prefilled = shared.prefilled.get(key)
    if prefilled is None:
        stand_in = ClassReader(**dict(zip(CLASS_FIELDS, reader.reader_class)))
        prefilled = shared.prefilled[key] = _prefill(shared, html, stand_in)
    special: dict[int, set[str]] = {}  # post id -> the fields on which this reader differs there
    for need in prefilled.personal:
        for post_id in FIELDS[need].differs(reader, prefilled.index):
            special.setdefault(post_id, set()).add(need)
    changed: dict[int, bytes] = {}  # pieces rendered again for this reader (their forms carry its token)
    if special:
        views = {name: reader.view(s.needs) for name, s in SLOTS.items()}
        for post_id, differing in special.items():
            for index, name in prefilled.slots.get(post_id, ()):
                if not differing.isdisjoint(SLOTS[name].needs):  # the others show what the class sees
                    changed[index] = SLOTS[name].render(post_id, shared.facts[post_id], views[name]).encode()
    whole, starts = memoryview(prefilled.joined), prefilled.starts
    edits = [(starts[index], starts[index + 1], piece) for index, piece in changed.items()]  # (from, to, bytes)
    token, width = reader.csrf.encode(), len(CSRF_SLOT.encode())
    edits += [(at, at + width, token) for at in prefilled.csrf_at if bisect_right(starts, at) - 1 not in changed]
    edits.sort(key=lambda edit: edit[0])
    chunks, at = [], 0
    for start, end, piece in edits:
        chunks += (whole[at:start], piece)
        at = end
    chunks.append(whole[at:])
    return chunks


def personal_bytes(shared: SharedThread, reader: Reader, html: str | None = None) -> bytes:
    """personal_chunks joined."""
    return b"".join(personal_chunks(shared, reader, html))


def personal_html(shared: SharedThread, reader: Reader, html: str | None = None) -> Markup:
    """personal_bytes as markup for a template."""
    # Safe: built here from escaped values and bodies already sanitised by markup.py.
    return Markup(personal_bytes(shared, reader, html).decode())  # nosec B704


def moment_chip(moment) -> Markup:
    """The transcript words a post is anchored to, with their time: a link that starts the
    audio there and highlights the words (site.js seeks the player in place); a moment
    whose words a corrected transcript no longer has says so, and keeps its quote."""
    at = moment.seconds
    href = url_for("episodes.show", slug=moment.episode.slug, t=at or None, _anchor=f"moment-{moment.id}")
    drifted = ' <span class="badge badge-drifted" title="The transcript was corrected: these words are no longer in it">drifted</span>' \
        if moment.drifted else ""
    # Safe: the quote and the address are escaped here; the rest is our own markup.
    return Markup(f'<p class="moment-chip{" is-drifted" if moment.drifted else ""}"><a class="seek" href="{escape(href)}" '  # nosec B704
                  f'data-t="{at}"><span class="moment-chip-time">{duration(at) or "0:00"}</span> '
                  f'<q>{escape(moment.quote[:240])}</q></a>{drifted}</p>\n')


def kind_header(ctx: dict):
    """The header of a paper, question or suggestion at the top of its own thread (Jinja macros)."""
    def header(post: Post) -> Markup:
        if post.kind.value == "paper" and post.paper:
            line = get_template_attribute("papers/_entry.html", "paper_line")
            return Markup('<p class="paper-head">') + line(post.paper, post.moment_seconds, ctx.get("episode_slug")) + Markup("</p>")
        if post.kind.value == "question":
            badge = get_template_attribute("questions/_entry.html", "state_badge")
            return Markup('<p class="question-head">Question for the guests · ') + badge(post, ctx.get("linked", {})) + Markup("</p>")
        if post.kind.value == "suggestion":
            return get_template_attribute("guests/_entry.html", "nominee_header")(post, ctx.get("linked", {}))
        return Markup("")
    return header


def _descendants(node: Node, counted: dict[int, int]) -> int:
    """Replies anywhere under a post; `counted` remembers each node's, so one render counts
    every node once."""
    count = counted.get(id(node))  # the node's identity: a post's id is an ORM attribute read
    if count is None:
        count = 0
        for child in node.children:
            count += 1 + _descendants(child, counted)
        counted[id(node)] = count
    return count


def render_thread(roots: list[Node], ctx: dict) -> Markup:
    """Template global: the whole thread for the current reader."""
    shared = shared_html(roots, ctx["guest_user_ids"], ctx["max_depth"], header=kind_header(ctx))
    reader = Reader(ctx["viewer"], voted=ctx["voted"], last_visit=ctx.get("last_visit"), csrf=ctx["csrf"])
    # Rendered for this reader alone: filling each marker once beats prefilling for a class.
    return Markup(readers.fill(shared.html, shared.facts, reader))  # nosec B704: escaped values, sanitised bodies
