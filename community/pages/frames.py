"""What pages share between readers: the episode page's lists (sections) as every reader
of a visibility class sees them, the logged-in episode page (the frame) as every reader
of a class sees it, and the front page's lists; each rendered once per content version
and filled per request (pages/readers.py says with what)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

from flask import current_app, render_template, request, url_for
from flask_login import current_user
from markupsafe import Markup

from community.forms.discussion import CommentForm
from community.forms.papers import PaperForm
from community.forms.questions import QuestionForm
from community.pages.cache import latest, note_latest, parse_versions, recent, remembered
from community.pages import posts
from community.pages.readers import ClassReader, PostFacts, Reader, as_class
from community.pages.threads import Fragments, SharedThread, personal_chunks, personal_html, shared_html
from community.services import activity, discussion, episodes, freshness


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
    newest: datetime | None  # when the newest post shown was written (discussion.mark_visit)
    key: str | None = None  # the cache key when shared; None for one reader's own rendering


def thread_fragments(app) -> Fragments:
    """This process's fragments of every thread's posts: a write re-renders the posts it
    changed (and its ancestors' reply counts), not the whole thread. Only shared sections
    use them (a reader's own rendering, or any without the page cache, starts from scratch:
    the bench's uncached rows)."""
    found = app.extensions.get("thread_fragments")
    if found is None:
        found = app.extensions["thread_fragments"] = Fragments(app.config["PAGE_CACHE_SECONDS"])
    return found


def build_sections(content, episode_slug: str, fragments: Fragments | None = None) -> EpisodeSections:
    """`fragments`: posts rendered before, to reuse (none: every post rendered from scratch)."""
    thread = shared_html(content.thread.roots, content.guest_user_ids, discussion.MAX_DEPTH, fragments=fragments)
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
        newest=max((facts.created_at for facts in thread.facts.values()), default=None),
    )


def personal_sections(sections: EpisodeSections, reader: Reader) -> dict[str, Markup]:
    return {"papers": personal_html(sections.thread, reader, sections.papers_html),
            "questions": personal_html(sections.thread, reader, sections.questions_html),
            "thread": personal_html(sections.thread, reader)}


def episode_sections(episode, sort: str) -> EpisodeSections:
    """Shared per visibility class (moderators see hidden posts); a reader with hidden or
    pending posts of their own here gets a fresh rendering instead. Under a stream of
    writes, sections read within PAGE_STALE_SECONDS stand in for the current version,
    unless this reader wrote since (pages/cache.py: bounded staleness)."""
    def build(viewer, fragments=None, posts=None):
        return build_sections(episodes.episode_content(episode, viewer, sort, posts), episode.slug, fragments)

    if not current_app.config["PAGE_CACHE"]:
        return build(current_user)  # key None: nothing built from it is shared
    moderator = current_user.is_authenticated and current_user.is_moderator
    page_key = freshness.episode_key(episode.slug)
    base = f"sections:{episode.slug}:{sort}:{'moderators' if moderator else 'everyone'}"
    taken = time.time()  # before the versions: whatever is built below holds every write committed before
    found = freshness.versions(page_key)
    key = f"{base}:{found}"

    def shared():
        viewer = current_user._get_current_object() if moderator else None  # never one member's own view
        epoch = found.split(".")[0]  # the version of everything
        fragments = thread_fragments(current_app).since(epoch)  # see Fragments.since
        # Anonymous readers and members share these lists: not even "logged in" is known.
        with as_class(ClassReader(logged_in=True if moderator else None, moderator=moderator)):
            built = build(viewer, fragments, posts.episode_posts(current_app, episode, epoch))
        built.key = key
        return built

    sections = remembered(current_app, "recent_sections", key)
    if sections is None:
        # Stale sections may stand in a little longer while an anonymous GET of the page
        # rebuilds them after this answer (cache.Refresher): not the moderators' (no such
        # GET shows them), and only on a GET (a form sent back re-renders the page too).
        replayable = not moderator and request.method == "GET"
        page = url_for("episodes.show", slug=episode.slug, sort=None if sort == "best" else sort)
        sections = latest(current_app, "latest_sections", base, (request.environ, page) if replayable else None)
    if sections is None:
        sections = remembered(current_app, "recent_sections", key, shared, memo_is_enough=True)
    if sections.key == key:
        note_latest(current_app, "latest_sections", base, taken, parse_versions((page_key,), found), sections)
    if not moderator and current_user.is_authenticated and current_user.id in sections.unpublished_authors:
        return build(current_user)  # hiding or holding a post bumps the version: this set is current
    return sections


def logged_in_page(episode, sections, personal, is_guest: bool, *, start=None, preview_html=None,
                   comment_form=None, paper_form=None, question_form=None, account_slot=None, notices_slot=None,
                   watch_control=None) -> str:
    """show.html with the forms a logged-in reader gets (empty ones unless given)."""
    return render_template(
        "episodes/show.html", episode=episode, sections=sections, personal=personal, is_guest=is_guest,
        start=start, preview_html=preview_html, account_slot=account_slot, notices_slot=notices_slot,
        watch_control=watch_control,
        comment_form=comment_form or CommentForm(formdata=None), paper_form=paper_form or PaperForm(formdata=None),
        question_form=question_form or QuestionForm(formdata=None))


def frame_applies() -> bool:
    """What the frame leaves out must not be on this page: a suspended or unconfirmed reader
    (their pages offer fewer buttons), a ?t= start (the player's), the words a reader is about
    to discuss (?discuss=, views/moments.py). Flashed messages are a slot of the frame, so the
    writer's own page after a write ("Posted") is framed like everyone else's."""
    return (not current_user.is_suspended() and not current_user.awaits_confirmation
            and "t" not in request.args and "discuss" not in request.args)


@dataclass
class Frame:
    """The logged-in page of a class, cut where one reader's parts go: their account links
    and notices (rendered per request), their watch button; the rest keeps the lists'
    markers and CSRF_SLOT where forms carry the token (filled per reader: `fill`)."""
    head: bytes  # up to the account links
    middle: bytes  # from there to the notices
    top: str  # from there to the watch button
    rest: str  # the rest of the page

    def fill(self, thread: SharedThread, reader: Reader, account: str, notices: str, watch: str) -> bytes:
        """The page for this reader, joined once (a 2,000-comment page is 2.6 MB)."""
        return b"".join((self.head, account.encode(), self.middle, notices.encode(),
                         *personal_chunks(thread, reader, self.top), watch.encode(),
                         *personal_chunks(thread, reader, self.rest)))


ACCOUNT_SLOT = "\x00account\x00"
NOTICES_SLOT = "\x00notices\x00"
WATCH_SLOT = "\x00watch\x00"


def episode_frame(episode, sections: EpisodeSections, is_guest: bool) -> Frame:
    """The logged-in page as every reader of a class sees it (member or moderator, guest
    of this episode or not), rendered once per content version by whoever comes first, as
    the class stand-in: the template cannot read that reader's data (ClassReader raises),
    their account links, notices and watch button are slots, their CSRF token is
    CSRF_SLOT, the lists keep their markers."""
    key = f"frame:{sections.key}:{'guest' if is_guest else 'reader'}"
    memo = recent(current_app, "recent_frames")
    frame = memo.get(key, current_app.config["PAGE_CACHE_SECONDS"])
    if frame is None:
        unfilled = {name: Markup(html) for name, html in  # nosec B704: built by pages/threads.py from sanitised HTML
                    (("papers", sections.papers_html), ("questions", sections.questions_html),
                     ("thread", sections.thread.html))}
        with as_class(ClassReader(logged_in=True, moderator=current_user.is_moderator)):
            page = logged_in_page(episode, sections, unfilled, is_guest, account_slot=ACCOUNT_SLOT,
                                  notices_slot=NOTICES_SLOT, watch_control=Markup(WATCH_SLOT))  # nosec B704: fixed markers
        head, rest = page.split(ACCOUNT_SLOT)
        middle, rest = rest.split(NOTICES_SLOT)
        top, rest = rest.split(WATCH_SLOT)
        frame = Frame(head.encode(), middle.encode(), top, rest)
        memo.put(key, frame)
    return frame


def front_lists() -> Markup:
    """The front page below the reader's own "New since your last visit", the same for
    every reader: rendered once per version of the lists, as the class stand-in (nothing
    personal can get in), and kept while its relative times hold (PAGE_CACHE_SECONDS, as a
    cached page). A logged-in reader's front page ran 16 queries; now the lists are one lookup."""
    def build() -> str:
        latest = episodes.latest(6)
        counts = discussion.counts_by_episode([e.id for e in latest])
        with as_class(ClassReader(logged_in=None, moderator=False)):
            return render_template("main/_front.html", front=activity.front_page(latest, counts), counts=counts)

    if not current_app.config["PAGE_CACHE"]:
        return Markup(build())  # nosec B704: a template's output
    key = f"front:{request.host}:{freshness.versions(freshness.LISTS)}"
    return Markup(remembered(current_app, "recent_fronts", key, build))  # nosec B704: a template's output
