from dataclasses import dataclass

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup

from community.extensions import db
from community.forms import ActionForm
from community.forms.discussion import CommentForm
from community.forms.papers import PaperForm
from community.forms.questions import QuestionForm
from community.markup import timestamp_seconds
from community.pages.cache import cached_for_anonymous, recent, remembered
from community.services import discussion, episodes, freshness
from community.pages import threads

bp = Blueprint("episodes", __name__)


@bp.get("/episodes/")
@cached_for_anonymous(lambda: (freshness.LISTS,))
def index():
    page = episodes.list_page(request.args.get("page", 1, type=int), current_app.config["EPISODES_PER_PAGE"])
    counts = discussion.counts_by_episode([e.id for e in page.items])
    return render_template("episodes/index.html", page=page, counts=counts)


@bp.get("/episodes/<slug>")
@cached_for_anonymous(lambda slug: (freshness.episode_key(slug),))
def show(slug: str):
    episode = episodes.get_by_slug(slug)
    if episode is None:
        abort(404)
    return render_episode(episode)


def render_episode(episode, comment_form=None, preview_html=None, paper_form=None, question_form=None,
                   status: int = 200):
    """The episode page; also re-rendered by a form on it that needs fixing.

    The lists come from a cache shared by every reader (see threads.EpisodeSections);
    this reader's votes, "new" marks and buttons are filled in afterwards. A logged-in
    reader's plain view goes further: the whole page is rendered once per reader class
    (see episode_frame) and only filled in per request."""
    sort = request.args.get("sort", "best")
    sort = sort if sort in discussion.SORTS else "best"
    sections = episode_sections(episode, sort)
    if not current_user.is_authenticated:
        # No forms, so no CSRF token and no session cookie: an anonymous reader stays
        # cookie-less and keeps getting the fastest cached page.
        personal = threads.personal_sections(sections, None, set(), None, "", False)
        return render_template("episodes/show.html", episode=episode, sections=sections, personal=personal,
                               start=_start(), is_guest=False), status
    viewer = current_user._get_current_object()
    is_guest = viewer.id in episode.guest_user_ids
    voted, last_visit = discussion.episode_votes(viewer, episode), discussion.mark_visit(viewer, episode)
    db.session.commit()  # the visit mark
    plain = (comment_form, preview_html, paper_form, question_form, status) == (None, None, None, None, 200)
    if plain and sections.key and _frame_applies():
        frame = episode_frame(episode, sections, is_guest)
        filled = threads.personal_bytes(sections.thread, viewer, voted, last_visit, generate_csrf(), is_guest,
                                        html=frame.tail)
        return b"".join((frame.head, render_template("_account.html").encode(), filled))
    personal = threads.personal_sections(sections, viewer, voted, last_visit, generate_csrf(), is_guest)
    return _logged_in_page(episode, sections, personal, is_guest, start=_start(), preview_html=preview_html,
                           comment_form=comment_form, paper_form=paper_form, question_form=question_form), status


def _logged_in_page(episode, sections, personal, is_guest: bool, *, start=None, preview_html=None,
                    comment_form=None, paper_form=None, question_form=None, account_slot=None) -> str:
    """show.html with the forms a logged-in reader gets (empty ones unless given)."""
    return render_template(
        "episodes/show.html", episode=episode, sections=sections, personal=personal, is_guest=is_guest,
        start=start, preview_html=preview_html, account_slot=account_slot,
        comment_form=comment_form or CommentForm(formdata=None), paper_form=paper_form or PaperForm(formdata=None),
        question_form=question_form or QuestionForm(formdata=None))


def _start() -> int | None:
    return request.args.get("t", type=int) or timestamp_seconds(request.args.get("t", ""))


def _frame_applies() -> bool:
    """What the frame leaves out must not be on this page: a suspension notice, flashed
    messages, a ?t= start (the player's)."""
    return not current_user.is_suspended() and not session.get("_flashes") and "t" not in request.args


@dataclass
class Frame:
    head: bytes  # up to the account links (rendered per request: name, unread count, log out)
    tail: str  # the rest, with the lists' markers and CSRF_SLOT where forms carry the token


ACCOUNT_SLOT = "\x00account\x00"


def episode_frame(episode, sections: threads.EpisodeSections, is_guest: bool) -> Frame:
    """The logged-in page as every reader of a class sees it (member or moderator, guest
    of this episode or not), rendered once per content version: nothing of the reader who
    happens to render it stays in it. Their account links are a slot, their CSRF token
    becomes CSRF_SLOT, and the lists keep their markers."""
    key = f"frame:{sections.key}:{'guest' if is_guest else 'reader'}"
    memo = recent(current_app, "recent_frames")
    frame = memo.get(key, current_app.config["PAGE_CACHE_SECONDS"])
    if frame is None:
        unfilled = {name: Markup(html) for name, html in  # nosec B704: built by threads.py from sanitised HTML
                    (("papers", sections.papers_html), ("questions", sections.questions_html),
                     ("thread", sections.thread.html))}
        page = _logged_in_page(episode, sections, unfilled, is_guest, account_slot=ACCOUNT_SLOT)
        head, tail = page.split(ACCOUNT_SLOT)
        frame = Frame(head.encode(), tail.replace(generate_csrf(), threads.CSRF_SLOT))
        memo.put(key, frame)
    return frame


def episode_sections(episode, sort: str) -> threads.EpisodeSections:
    """Shared per visibility class (moderators see hidden posts); a reader with hidden or
    pending posts of their own here gets a fresh rendering instead."""
    def build(viewer):
        return threads.build_sections(episodes.episode_content(episode, viewer, sort), episode.slug)

    if not current_app.config["PAGE_CACHE"]:
        return build(current_user)  # key None: nothing built from it is shared
    moderator = current_user.is_authenticated and current_user.is_moderator
    key = (f"sections:{episode.slug}:{sort}:{'moderators' if moderator else 'everyone'}:"
           f"{freshness.versions(freshness.episode_key(episode.slug))}")

    def shared():
        built = build(current_user if moderator else None)  # never one member's own view
        built.key = key
        return built

    sections = remembered(current_app, "recent_sections", key, shared)
    if not moderator and current_user.is_authenticated and current_user.id in sections.unpublished_authors:
        return build(current_user)  # hiding or holding a post bumps the version: this set is current
    return sections


@bp.get("/people/<int:person_id>", endpoint="person")
def person(person_id: int):
    found = episodes.person_page(person_id)
    if found is None:
        abort(404)
    person, appearances = found
    return render_template("episodes/person.html", person=person, appearances=appearances,
                           following=episodes.is_following(current_user, person))


@bp.post("/people/<int:person_id>/follow", endpoint="follow")
@login_required
def follow(person_id: int):
    found = episodes.person_page(person_id)
    if found is None or not ActionForm().validate_on_submit():
        abort(404 if found is None else 400)
    on = request.form.get("on") == "1"
    episodes.follow(current_user, found[0], on)
    db.session.commit()
    flash(f"You {'follow' if on else 'no longer follow'} {found[0].name}." + (" You'll hear of each new episode with them." if on else ""), "success")
    return redirect(url_for("episodes.person", person_id=person_id))
