"""The episode page's shared parts: its lists (sections) as every reader of a visibility
class sees them, and the logged-in page (the frame) as every reader of a class sees it,
each rendered once per content version and filled per request (pages/readers.py says
with what)."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app, render_template, request, session
from flask_login import current_user
from markupsafe import Markup

from community.forms.discussion import CommentForm
from community.forms.papers import PaperForm
from community.forms.questions import QuestionForm
from community.pages.cache import recent, remembered
from community.pages.readers import ClassReader, PostFacts, Reader, as_class
from community.pages.threads import SharedThread, personal_html, shared_html
from community.services import discussion, episodes, freshness


@dataclass
class EpisodeSections:
    """The episode page's lists as every reader of a visibility class sees them, with markers
    for each reader's own state: what the cache keeps."""
    papers_html: str
    questions_html: str
    thread: SharedThread
    counts: dict[str, int]
    sort: str
    unpublished_authors: set[int]
    key: str | None = None  # the cache key when shared; None for one reader's own rendering


def build_sections(content, episode_slug: str) -> EpisodeSections:
    thread = shared_html(content.thread.roots, content.guest_user_ids, discussion.MAX_DEPTH)
    for post in [*content.papers, *content.questions]:
        thread.facts[post.id] = PostFacts.of(post)
    return EpisodeSections(
        papers_html=render_template("episodes/_papers.html", content=content, episode_slug=episode_slug),
        questions_html=render_template("episodes/_questions.html", content=content),
        thread=thread,
        counts={"papers": len(content.papers), "questions": len(content.questions), "comments": content.thread.count,
                "roots": len(content.thread.roots)},
        sort=content.sort,
        unpublished_authors=content.unpublished_authors,
    )


def personal_sections(sections: EpisodeSections, reader: Reader) -> dict[str, Markup]:
    return {"papers": personal_html(sections.thread, reader, sections.papers_html),
            "questions": personal_html(sections.thread, reader, sections.questions_html),
            "thread": personal_html(sections.thread, reader)}


def episode_sections(episode, sort: str) -> EpisodeSections:
    """Shared per visibility class (moderators see hidden posts); a reader with hidden or
    pending posts of their own here gets a fresh rendering instead."""
    def build(viewer):
        return build_sections(episodes.episode_content(episode, viewer, sort), episode.slug)

    if not current_app.config["PAGE_CACHE"]:
        return build(current_user)  # key None: nothing built from it is shared
    moderator = current_user.is_authenticated and current_user.is_moderator
    key = (f"sections:{episode.slug}:{sort}:{'moderators' if moderator else 'everyone'}:"
           f"{freshness.versions(freshness.episode_key(episode.slug))}")

    def shared():
        viewer = current_user._get_current_object() if moderator else None  # never one member's own view
        # Anonymous readers and members share these lists: not even "logged in" is known.
        with as_class(ClassReader(logged_in=True if moderator else None, moderator=moderator)):
            built = build(viewer)
        built.key = key
        return built

    sections = remembered(current_app, "recent_sections", key, shared)
    if not moderator and current_user.is_authenticated and current_user.id in sections.unpublished_authors:
        return build(current_user)  # hiding or holding a post bumps the version: this set is current
    return sections


def logged_in_page(episode, sections, personal, is_guest: bool, *, start=None, preview_html=None,
                   comment_form=None, paper_form=None, question_form=None, account_slot=None) -> str:
    """show.html with the forms a logged-in reader gets (empty ones unless given)."""
    return render_template(
        "episodes/show.html", episode=episode, sections=sections, personal=personal, is_guest=is_guest,
        start=start, preview_html=preview_html, account_slot=account_slot,
        comment_form=comment_form or CommentForm(formdata=None), paper_form=paper_form or PaperForm(formdata=None),
        question_form=question_form or QuestionForm(formdata=None))


def frame_applies() -> bool:
    """What the frame leaves out must not be on this page: a suspension notice, the banner of
    an unconfirmed address, flashed messages, a ?t= start (the player's), the words a reader
    is about to discuss (?discuss=, views/moments.py)."""
    return (not current_user.is_suspended() and not current_user.awaits_confirmation
            and not session.get("_flashes") and "t" not in request.args and "discuss" not in request.args)


@dataclass
class Frame:
    head: bytes  # up to the account links (rendered per request: name, unread count, log out)
    tail: str  # the rest, with the lists' markers and CSRF_SLOT where forms carry the token


ACCOUNT_SLOT = "\x00account\x00"


def episode_frame(episode, sections: EpisodeSections, is_guest: bool) -> Frame:
    """The logged-in page as every reader of a class sees it (member or moderator, guest
    of this episode or not), rendered once per content version by whoever comes first, as
    the class stand-in: the template cannot read that reader's data (ClassReader raises),
    their account links are a slot, their CSRF token is CSRF_SLOT, the lists keep their
    markers."""
    key = f"frame:{sections.key}:{'guest' if is_guest else 'reader'}"
    memo = recent(current_app, "recent_frames")
    frame = memo.get(key, current_app.config["PAGE_CACHE_SECONDS"])
    if frame is None:
        unfilled = {name: Markup(html) for name, html in  # nosec B704: built by pages/threads.py from sanitised HTML
                    (("papers", sections.papers_html), ("questions", sections.questions_html),
                     ("thread", sections.thread.html))}
        with as_class(ClassReader(logged_in=True, moderator=current_user.is_moderator)):
            page = logged_in_page(episode, sections, unfilled, is_guest, account_slot=ACCOUNT_SLOT)
        head, tail = page.split(ACCOUNT_SLOT)
        frame = Frame(head.encode(), tail)
        memo.put(key, frame)
    return frame
