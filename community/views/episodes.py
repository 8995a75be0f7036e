from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf.csrf import generate_csrf

from community.extensions import cache, db
from community.forms import ActionForm
from community.forms.discussion import CommentForm
from community.forms.papers import PaperForm
from community.forms.questions import QuestionForm
from community.markup import timestamp_seconds
from community.page_cache import cached_for_anonymous, recent
from community.services import discussion, episodes, freshness
from community.views import threads

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
    this reader's votes, "new" marks and buttons are filled in afterwards."""
    sort = request.args.get("sort", "best")
    sort = sort if sort in discussion.SORTS else "best"
    sections = episode_sections(episode, sort)
    is_guest = current_user.is_authenticated and current_user.id in episode.guest_user_ids
    # Forms (and so a CSRF token, and so a session cookie) only for readers who can post:
    # an anonymous reader stays cookie-less and keeps getting the fastest cached page.
    forms = {}
    if current_user.is_authenticated:
        forms = {"comment_form": comment_form or CommentForm(formdata=None),
                 "paper_form": paper_form or PaperForm(formdata=None),
                 "question_form": question_form or QuestionForm(formdata=None)}
    personal = threads.personal_sections(
        sections, current_user._get_current_object(), discussion.episode_votes(current_user, episode),
        discussion.mark_visit(current_user, episode), generate_csrf() if forms else "", is_guest)
    db.session.commit()  # the visit mark
    start = request.args.get("t", type=int) or timestamp_seconds(request.args.get("t", ""))
    return render_template("episodes/show.html", episode=episode, sections=sections, personal=personal, start=start,
                           is_guest=is_guest, preview_html=preview_html, **forms), status


def episode_sections(episode, sort: str) -> threads.EpisodeSections:
    """Shared per visibility class (moderators see hidden posts); a reader with hidden or
    pending posts of their own here gets a fresh rendering instead."""
    def build(viewer):
        return threads.build_sections(episodes.episode_content(episode, viewer, sort), episode.slug)

    if not current_app.config["PAGE_CACHE"]:
        return build(current_user)
    moderator = current_user.is_authenticated and current_user.is_moderator
    key = (f"sections:{episode.slug}:{sort}:{'moderators' if moderator else 'everyone'}:"
           f"{freshness.versions(freshness.episode_key(episode.slug))}")
    timeout = current_app.config["PAGE_CACHE_SECONDS"]
    memo = recent(current_app, "recent_sections")
    sections = memo.get(key, timeout)
    if sections is None:
        sections = cache.get(key)
        if sections is None:
            sections = build(current_user if moderator else None)  # never one member's own view
            cache.set(key, sections, timeout=timeout)
        memo.put(key, sections)
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
