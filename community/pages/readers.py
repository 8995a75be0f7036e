"""Who a page is filled for, and everything that differs between two readers: declared once.

A shared page (a thread, the episode page's lists, the logged-in frame) is rendered once
for a whole class of readers, with a marker `<!--u:X123-->` wherever one reader's own
state goes: slot X of post 123. Every slot is declared below with `@slot`, saying what it
reads of the reader (`needs`, names from FIELDS) and of the post (`facts`, PostFacts
fields). Everything else is derived from those declarations:

- MARKER (and MARKER_BYTES), the pattern of every slot's marker;
- the fill of each marker for a class of readers (`ClassReader`: logged in or not,
  moderator or not), prepared once per content version;
- the posts on which one particular `Reader` may differ from its class: for each
  personal field the slots of a page read, `Field.differs` names those posts, and only
  they are filled again per request.

A slot only sees the fields it declared (`Reader.view`): reading another one fails at
once, so a declaration cannot fall behind its code. Adding a per-reader button is one
`@slot` definition; tests/views/test_personal_html.py walks this registry, so the new
slot is checked (prefilled + patched == filled from scratch) without touching the test.

Rendering something shared (the frame, the sections) happens `as_class(ClassReader(...))`:
`current_user` is then the stand-in, whose personal attributes raise
PersonalDataInSharedFrame, and every CSRF token is CSRF_SLOT. One reader's name, token or
count can never end up in a page that their whole class is served."""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from dataclasses import dataclass, fields
from datetime import datetime
from types import SimpleNamespace

from flask import g, url_for
from markupsafe import Markup

from community.models import PostStatus
from community.pages.urls import thread_urls
from community.services import discussion

# Stands for the reader's CSRF token in shared HTML; NUL never reaches stored content
# (the input guard refuses it), so the slot cannot be forged.
CSRF_SLOT = "\x00csrf\x00"


class PersonalDataInSharedFrame(RuntimeError):
    """Something rendered once for a whole class of readers asked for one reader's data."""


class UndeclaredNeed(AttributeError):
    """A slot read a reader field it did not declare in `needs`."""


@dataclass
class PostFacts:
    """What filling a post's slots may read of it, so that step touches no model object."""
    author_id: int
    created_at: datetime
    status: str
    parent_id: int | None
    is_tombstone: bool

    @classmethod
    def of(cls, post) -> PostFacts:
        return cls(post.author_id, post.created_at, post.status.value, post.parent_id, post.is_tombstone)


FACTS = frozenset(f.name for f in fields(PostFacts))


# ---------------------------------------------------------------- what a reader is made of

@dataclass(frozen=True)
class Field:
    """One thing a slot may read of a reader.

    A class field is the same for every reader of a class (it is part of the key of
    everything prepared for the class). A personal field differs between readers of a
    class: `usual(class_reader)` is what the class stand-in answers, and
    `differs(reader, index)` names every post on which this reader's answer may not be
    the usual one (those posts' slots are filled again for them)."""
    name: str
    doc: str
    usual: Callable[[ClassReader], object] | None = None
    differs: Callable[[Reader, Index], Iterable[int]] | None = None

    @property
    def personal(self) -> bool:
        return self.differs is not None


@dataclass
class Index:
    """What `Field.differs` looks posts up in: built once per prefilled page."""
    by_author: dict[int, list[int]]
    by_time: list[tuple[datetime, int]]  # (created_at, post id), oldest first
    reading: dict[str, list[int]]  # field name -> posts having a slot that reads it

    def newer_than(self, moment: datetime | None) -> Iterable[int]:
        if moment is None:
            return ()
        first = bisect.bisect_right(self.by_time, (moment, float("inf")))
        return (post_id for _, post_id in self.by_time[first:])


def _never(*_) -> bool:
    return False


FIELDS: dict[str, Field] = {f.name: f for f in (
    Field("logged_in", "the reader has an account and is logged in"),
    Field("moderator", "the reader is a moderator or an admin"),
    Field("own", "own(facts): the post is the reader's",
          usual=lambda c: _never, differs=lambda r, ix: ix.by_author.get(r.id, ())),
    Field("voted", "voted(post_id): the reader has upvoted the post",
          usual=lambda c: _never, differs=lambda r, ix: r.voted_ids),
    Field("is_new", "is_new(facts): written by someone else since the reader's last visit",
          usual=lambda c: _never, differs=lambda r, ix: ix.newer_than(r.last_visit)),
    Field("can_edit", "can_edit(facts): the reader may edit the post (moderators always, authors for a while)",
          usual=lambda c: (lambda f: c.moderator and not f.is_tombstone),
          differs=lambda r, ix: ix.by_author.get(r.id, ())),
    # Few readers are suspended: their pages are filled again on every post that offers a
    # write (as for guests), so no button is shown that would only answer 403.
    Field("suspended", "the reader is suspended (may read, not vote, flag or reply)",
          usual=lambda c: False, differs=lambda r, ix: ix.reading.get("suspended", ()) if r.suspended else ()),
    Field("is_guest", "the reader is a guest of this episode (answers its questions)",
          usual=lambda c: False, differs=lambda r, ix: ix.reading.get("is_guest", ()) if r.is_guest else ()),
    # The token differs for every reader but never per post: shared HTML carries
    # CSRF_SLOT, swapped for the reader's token by position.
    Field("csrf", "the reader's CSRF token for forms", usual=lambda c: CSRF_SLOT, differs=lambda r, ix: ()),
)}
CLASS_FIELDS = tuple(name for name, f in FIELDS.items() if not f.personal)


class Reader:
    """The one reader a page is filled for (anonymous when `user` is None or not logged in)."""

    def __init__(self, user=None, *, voted: Iterable[int] = (), last_visit: datetime | None = None,
                 csrf: str = "", is_guest: bool = False):
        self.logged_in = user is not None and user.is_authenticated
        self.user = user if self.logged_in else None
        self.id = user.id if self.logged_in else None
        self.moderator = self.logged_in and user.is_moderator
        self.voted_ids = voted if isinstance(voted, (set, frozenset)) else set(voted)
        self.last_visit = last_visit if self.logged_in else None
        self.csrf = csrf
        self.is_guest = self.logged_in and is_guest
        self.suspended = self.logged_in and user.is_suspended()

    @property
    def reader_class(self) -> tuple:
        return tuple(getattr(self, name) for name in CLASS_FIELDS)

    def own(self, f: PostFacts) -> bool:
        return self.id is not None and f.author_id == self.id

    def voted(self, post_id: int) -> bool:
        return post_id in self.voted_ids

    def is_new(self, f: PostFacts) -> bool:
        return bool(self.last_visit and f.created_at > self.last_visit and f.author_id != self.id)

    def can_edit(self, f: PostFacts) -> bool:
        return self.logged_in and discussion.can_edit_facts(self.user, f.author_id, f.created_at, f.is_tombstone)

    def view(self, needs: frozenset[str]) -> SimpleNamespace:
        return _View(urls=thread_urls(), **{name: getattr(self, name) for name in needs})


class ClassReader:
    """Stands for every reader of a class at once while something shared is rendered.

    It knows the class (logged in or not, moderator or not; `logged_in=None` when the
    class holds both, as the lists shared by anonymous readers and members do) and
    nothing of any one reader: as `current_user` (see `as_class`) its personal attributes
    raise PersonalDataInSharedFrame, and to a slot it answers each personal field with
    the field's `usual` value. Frames are never used for suspended readers, so it is not
    suspended (nor for unconfirmed ones)."""

    is_active = True

    def __init__(self, *, logged_in: bool | None, moderator: bool):
        self._logged_in, self.moderator = logged_in, moderator

    @property
    def logged_in(self) -> bool:
        if self._logged_in is None:
            raise PersonalDataInSharedFrame("whether the reader is logged in: this is shared by anonymous "
                                            "readers and members alike")
        return self._logged_in

    @property
    def reader_class(self) -> tuple:
        return tuple(getattr(self, name) for name in CLASS_FIELDS)

    # What templates ask of current_user that a class answers.
    @property
    def is_authenticated(self) -> bool:
        return self.logged_in

    @property
    def is_anonymous(self) -> bool:
        return not self.logged_in

    @property
    def is_moderator(self) -> bool:
        return self.moderator

    def is_suspended(self, now=None) -> bool:
        return False

    awaits_confirmation = False  # nor unconfirmed: its banner is outside every frame (frames.frame_applies)

    def view(self, needs: frozenset[str]) -> SimpleNamespace:
        return _View(urls=thread_urls(), **{name: FIELDS[name].usual(self) if FIELDS[name].personal
                                            else getattr(self, name) for name in needs})

    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)  # protocol probes (__html__, ...), not data
        raise PersonalDataInSharedFrame(
            f"current_user.{name} was read while rendering HTML shared by a whole class of readers "
            f"({self._describe()}); it would show one reader's data to all of them. Render it per request "
            f"(a slot in community/pages/readers.py, or outside the frame) instead.")

    def _describe(self) -> str:
        who = {None: "anonymous readers and members", True: "logged-in readers", False: "anonymous readers"}
        return who[self._logged_in] + (", moderators" if self.moderator else "")


class _View(SimpleNamespace):
    """What one slot sees of a reader: the fields it declared, nothing else (and `urls`,
    the thread's addresses: the same for every reader)."""

    def __getattr__(self, name: str):
        raise UndeclaredNeed(f"a slot read the reader's {name!r} without declaring it in its needs")


@contextmanager
def as_class(stand_in: ClassReader):
    """Render shared HTML as the class stand-in: current_user is `stand_in`, every CSRF token
    (Flask-WTF keeps the request's in g) is CSRF_SLOT. Both are put back afterwards."""
    saved = {name: g.get(name) for name in ("_login_user", "csrf_token") if name in g}
    g._login_user, g.csrf_token = stand_in, CSRF_SLOT
    try:
        yield stand_in
    finally:
        for name in ("_login_user", "csrf_token"):
            g.pop(name, None)
        for name, value in saved.items():
            setattr(g, name, value)


# ---------------------------------------------------------------- the slots

@dataclass(frozen=True)
class Slot:
    name: str  # the marker letter
    # (post id, facts, the reader's view: its declared fields, and `urls`) -> HTML
    render: Callable[[int, PostFacts, SimpleNamespace], str]
    needs: frozenset[str]  # reader fields (FIELDS)
    facts: frozenset[str]  # post facts (PostFacts)

    @property
    def opening(self) -> str:
        """The marker up to the post id (hot loops write `f"{opening}{post_id}-->"`)."""
        return f"<!--u:{self.name}"

    def marker(self, post_id: int) -> str:
        return f"{self.opening}{post_id}-->"


SLOTS: dict[str, Slot] = {}


def slot(name: str, *, needs: Iterable[str], facts: Iterable[str] = ()):
    """Declare a per-reader slot: `<!--u:{name}{post id}-->` in shared HTML becomes
    `render(post_id, facts, reader)` for each reader."""
    needs, facts = frozenset(needs), frozenset(facts)
    if not re.fullmatch(r"[A-Z]", name) or name in SLOTS:
        raise ValueError(f"slot names are single capital letters, each used once: {name!r}")
    if needs - FIELDS.keys() or facts - FACTS:
        raise ValueError(f"slot {name} needs unknown fields: {sorted((needs - FIELDS.keys()) | (facts - FACTS))}")

    def register(render):
        SLOTS[name] = Slot(name, render, needs, facts)
        _compile()
        return render

    return register


def _compile() -> None:
    """MARKER follows the registry: every declared slot's marker, and nothing else
    (MARKER_BYTES: the same in UTF-8, for pages kept as bytes)."""
    global MARKER, MARKER_BYTES
    MARKER = re.compile(r"<!--u:([" + "".join(SLOTS) + r"])(\d+)-->")
    MARKER_BYTES = re.compile(MARKER.pattern.encode())


MARKER = MARKER_BYTES = re.compile("(?!)")  # until the first slot is declared


def vote_button_html(post_id: int, voted: bool, on: str = "▲ Upvoted", off: str = "▲ Upvote") -> str:
    """The one vote button (comments, papers, questions, suggestions)."""
    return _vote_button(thread_urls().vote.format(post_id), voted, on, off)


# Every vote button sends the page's one VOTE_FORM (templates/base.html: the reader's
# CSRF token once) to its own post's address (formaction): without JavaScript too, and a
# 2,000-comment page carries one token instead of 2,000. site.js only saves the reload.
VOTE_FORM = "vote-form"


def _vote_button(action: str, voted: bool, on: str = "▲ Upvoted", off: str = "▲ Upvote") -> str:
    return (f'<button type="submit" form="{VOTE_FORM}" formaction="{action}" name="up" value="{"0" if voted else "1"}" '
            f'class="vote link-button" aria-pressed="{"true" if voted else "false"}" '
            f'data-on="{on}" data-off="{off}">{on if voted else off}</button>')


_VISIBLE = PostStatus.visible.value


@slot("C", needs={"is_new"}, facts={"author_id", "created_at"})
def _new_class(post_id: int, f: PostFacts, r) -> str:
    """A class on the comment's <li>."""
    return " is-new" if r.is_new(f) else ""


@slot("N", needs={"is_new"}, facts={"author_id", "created_at"})
def _new_badge(post_id: int, f: PostFacts, r) -> str:
    return ' <span class="badge badge-new">new</span>' if r.is_new(f) else ""


@slot("V", needs={"logged_in", "suspended", "own", "voted"}, facts={"author_id", "status"})
def _vote(post_id: int, f: PostFacts, r) -> str:
    """The vote button, a slot of its own: a reader's votes (often hundreds on a long
    thread) re-render only their buttons, not each comment's other actions."""
    if r.logged_in and not r.suspended and not r.own(f) and f.status == _VISIBLE:
        return _vote_button(r.urls.vote.format(post_id), r.voted(post_id))
    return ""


@slot("G", needs={"is_guest", "csrf"})
def _answer(post_id: int, f: PostFacts, r) -> str:
    """A guest's answer form under an open question of their episode."""
    if not r.is_guest:
        return ""
    return (f'<details class="answer-form"><summary>Answer this question</summary>'
            f'<form method="post" action="{r.urls.answer.format(post_id)}" class="compose">'
            f'<input type="hidden" name="csrf_token" value="{r.csrf}">'
            f'<div class="field"><label for="answer-{post_id}">Your answer</label>'
            f'<textarea id="answer-{post_id}" name="body" required maxlength="20000"></textarea></div>'
            '<div class="buttons"><button type="submit">Post answer</button></div></form></details>')


@slot("A", needs={"logged_in", "suspended", "own", "can_edit", "csrf"},
      facts={"author_id", "created_at", "status", "parent_id", "is_tombstone"})
def _actions(post_id: int, f: PostFacts, r) -> str:
    """A comment's actions after its vote button (slot V): reply, parent and context, edit,
    flag, delete. A suspended reader is offered none of the writes (the page's notice says
    why and until when)."""
    urls = r.urls
    visible, own = f.status == _VISIBLE, r.own(f)
    writes = r.logged_in and not r.suspended
    parts = []
    if visible and not r.suspended:
        if r.logged_in:
            parts.append(f'<a class="reply-link" href="{urls.permalink.format(post_id)}#reply" '
                         f'data-reply-to="{post_id}">reply</a>')
        else:
            parts.append(f'<a href="{urls.login_to_reply.format(post_id)}">log in to reply</a>')
    if f.parent_id:
        parts.append(f'<a href="#c{f.parent_id}" class="parent-link">parent</a> '
                     f'<a href="{urls.permalink.format(f.parent_id)}#c{post_id}">context</a>')
    if r.can_edit(f):
        parts.append(f'<a href="{urls.edit.format(post_id)}">edit</a>' + (_edit_window(f) if own else ""))
    if writes and not own and visible:
        parts.append(f'<a href="{urls.flag.format(post_id)}" class="flag-link">flag</a>')
    if own and not f.is_tombstone:
        # A second step before deleting: a disclosure without JavaScript, a dialog with it (site.js).
        parts.append(f'<details class="inline confirm-delete"><summary>delete</summary>'
                     f'<form method="post" action="{urls.delete.format(post_id)}" class="inline delete-form">'
                     f'<input type="hidden" name="csrf_token" value="{r.csrf}">'
                     'Delete this post? <button type="submit" class="link-button danger">Yes, delete</button>'
                     '</form></details>')
    return "\n".join(parts)


def _edit_window(f: PostFacts) -> str:
    """"(you can edit for 1 h 52 min)": the author's window while it lasts."""
    minutes = max(1, int(discussion.edit_time_left(f.created_at).total_seconds() // 60))
    hours, minutes = divmod(minutes, 60)
    left = f"{hours} h {minutes} min" if hours else f"{minutes} min"
    return f' <span class="hint edit-window">(you can edit for {left})</span>'


# The menu on a post for moderators: (action, label, statuses it applies to). Each leads to
# the decision page (views/moderation.py: moderate) with the action chosen, where the
# reason is picked: the queue's form, the queue's service call. The thread's lock and the
# author's suspension are not facts of a post: that page says when they do not apply.
_MENU = (("hide", "hide", {"visible", "pending"}), ("remove", "remove", {"visible", "pending", "hidden"}),
         ("restore", "restore", {"pending", "hidden", "removed"}), ("lock", "lock thread", None),
         ("suspend", "suspend author", {"visible", "pending", "hidden"}))


@slot("M", needs={"moderator"}, facts={"status"})
def _moderate(post_id: int, f: PostFacts, r) -> str:
    """A moderator's menu on every post: a disclosure of links, so it works without JavaScript."""
    if not r.moderator:
        return ""
    page = r.urls.moderate.format(post_id)
    links = " ".join(f'<a href="{page}?action={action}">{label}</a>'
                     for action, label, statuses in _MENU if statuses is None or f.status in statuses)
    return f'\n<details class="inline mod-menu"><summary>moderate</summary><span class="mod-actions">{links}</span></details>'


def _paper_kind_form(post_id: int, r, is_paper: bool, label: str) -> str:
    return (f'<form method="post" action="{url_for("papers.set_kind", post_id=post_id)}" class="inline paper-kind-form">'
            f'<input type="hidden" name="csrf_token" value="{r.csrf}">'
            f'<input type="hidden" name="is_paper" value="{"1" if is_paper else "0"}">'
            f'<button type="submit" class="link-button">{label}</button></form>')


@slot("P", needs={"own", "moderator", "csrf"}, facts={"author_id", "status"})
def _mark_paper(post_id: int, f: PostFacts, r) -> str:
    """On a link: its submitter or a moderator may say it is a paper (then it is exported)."""
    if (r.own(f) or r.moderator) and f.status == _VISIBLE:
        return _paper_kind_form(post_id, r, True, "This is a paper")
    return ""


@slot("L", needs={"own", "moderator", "csrf"}, facts={"author_id", "status"})
def _mark_link(post_id: int, f: PostFacts, r) -> str:
    """On a link confirmed as a paper: the same people may take that back."""
    if (r.own(f) or r.moderator) and f.status == _VISIBLE:
        return _paper_kind_form(post_id, r, False, "Not a paper")
    return ""


def slot_marker(name: str, post_id: int) -> Markup:
    """Template global: where slot `name` of a post goes in shared HTML."""
    return Markup(SLOTS[name].marker(int(post_id)))  # nosec B704: a fixed comment around an integer


def fill(html: str, facts: dict[int, PostFacts], reader: Reader | ClassReader) -> str:
    """Every marker of `html` filled for `reader`, from scratch (one reader's own page)."""
    views = {name: reader.view(s.needs) for name, s in SLOTS.items()}
    return MARKER.sub(lambda m: SLOTS[m[1]].render(int(m[2]), facts[int(m[2])], views[m[1]]), html)


__all__ = ["CSRF_SLOT", "FIELDS", "MARKER", "SLOTS", "ClassReader", "Field", "Index", "PersonalDataInSharedFrame",
           "PostFacts", "Reader", "Slot", "UndeclaredNeed", "as_class", "fill", "slot", "slot_marker",
           "VOTE_FORM", "vote_button_html"]
