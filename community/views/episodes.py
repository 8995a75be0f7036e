import re

from flask import (
    Blueprint, abort, current_app, flash, get_template_attribute, redirect, render_template, request, url_for,
)
from flask_login import current_user, login_required
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup

from community import markup, policy
from community.extensions import db
from community.forms.discussion import CommentForm
from community.forms.papers import PaperForm
from community.forms.questions import QuestionForm
from community.forms import ActionForm
from community.pages import frames
from community.pages.cache import cached_for_anonymous
from community.pages.readers import Reader
from community.services import discussion, drafts, episodes, freshness, watching
from community.views.helpers import with_drafts

bp = Blueprint("episodes", __name__)
bp.add_app_template_global(episodes.show_listen_links, "show_listen_links")


@bp.app_template_filter("after_summary")
def after_summary(notes_html: str, summary: str) -> Markup:
    """The show notes without a first paragraph that only repeats the summary shown above
    them (feeds and the demo often open the notes with it). Texts are compared normalised:
    case, spacing, and a summary cut short with "…" still match."""
    match = _FIRST_PARAGRAPH.match(notes_html or "")
    if match and summary:
        first, lead = _normalised(markup.plain_text(match.group(1))), _normalised(summary)
        if first and lead and (first == lead or (summary.rstrip().endswith("…") and first.startswith(lead))):
            notes_html = notes_html[match.end():]
    return Markup(notes_html)  # nosec B704: stored show notes, sanitised when imported


_FIRST_PARAGRAPH = re.compile(r"\s*<p(?:\s[^<>]*)?>(.*?)</p>", re.DOTALL | re.IGNORECASE)


def _normalised(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.rstrip().removesuffix("…").casefold()).split())


@bp.get("/episodes/")
@cached_for_anonymous(lambda: (freshness.LISTS,))
def index():
    page = episodes.list_page(request.args.get("page", 1, type=int), current_app.config["EPISODES_PER_PAGE"])
    counts = discussion.counts_by_episode([e.id for e in page.items])
    return render_template("episodes/index.html", page=page, counts=counts)


@bp.get("/episodes/<slug>")
@cached_for_anonymous(lambda slug: (freshness.episode_key(slug),))
def show(slug: str):
    episode = episodes.get_by_slug(slug, include_unpublished=policy.runs_the_show(current_user))
    if episode is None:
        numbered = episodes.get_by_number(int(slug)) if slug.isascii() and slug.isdigit() else None
        if numbered is not None:  # /episodes/13: what people type for "episode 13"
            return redirect(url_for("episodes.show", slug=numbered.slug), 301)
        abort(404)
    return render_episode(episode)


def render_episode(episode, comment_form=None, preview_html=None, paper_form=None, question_form=None,
                   status: int = 200):
    """The episode page; also re-rendered by a form on it that needs fixing.

    The lists come from a cache shared by every reader (pages/frames.py: episode_sections);
    this reader's votes, "new" marks and buttons are filled in afterwards. A logged-in
    reader's plain view goes further: the whole page is rendered once per reader class
    (frames.episode_frame) and only filled in per request."""
    sort = request.args.get("sort", "best")
    sort = sort if sort in discussion.SORTS else "best"
    sections = frames.episode_sections(episode, sort)
    if not current_user.is_authenticated:
        # No forms, so no CSRF token and no session cookie: an anonymous reader stays
        # cookie-less and keeps getting the fastest cached page.
        personal = frames.personal_sections(sections, Reader())
        return render_template("episodes/show.html", episode=episode, sections=sections, personal=personal,
                               start=_start(), is_guest=False), status
    viewer = current_user._get_current_object()
    is_guest = viewer.id in episode.guest_user_ids
    voted = discussion.episode_votes(viewer, episode)
    last_visit = discussion.mark_visit(viewer, episode, newest_shown=sections.newest)
    db.session.commit()  # the visit mark, when there was one to write
    reader = Reader(viewer, voted=voted, last_visit=last_visit, csrf=generate_csrf(), is_guest=is_guest)
    plain = (comment_form, preview_html, paper_form, question_form, status) == (None, None, None, None, 200)
    if plain:  # the reader's drafts of this page's forms (a refusal, a logout, another device)
        blank = {url_for("discussion.comment", slug=episode.slug): CommentForm,
                 url_for("papers.submit", slug=episode.slug): PaperForm,
                 url_for("questions.ask", slug=episode.slug): QuestionForm}
        saved = drafts.of_forms(viewer, list(blank))
        if saved:  # forms are built only then: three WTForms cost more than the rest of the frame's filling
            plain = False
            restored = with_drafts({path: form(formdata=None) for path, form in blank.items()}, saved)
            comment_form, paper_form, question_form = restored.values()
    if plain and sections.key and frames.frame_applies():
        return frames.episode_frame(episode, sections, is_guest).fill(
            sections.thread, reader, render_template("_account.html"), render_template("_notices.html"),
            _watch_control(episode))
    personal = frames.personal_sections(sections, reader)
    return frames.logged_in_page(episode, sections, personal, is_guest, start=_start(), preview_html=preview_html,
                                 comment_form=comment_form, paper_form=paper_form,
                                 question_form=question_form,
                                 watch_control=Markup(_watch_control(episode))), status  # nosec B704: a template's output


def _watch_control(episode) -> str:
    """The reader's own watch button for the episode (a logged-in reader's page only)."""
    buttons = get_template_attribute("watching/_buttons.html", "watch_buttons")
    return str(buttons(url_for("watching.episode", slug=episode.slug),
                       watching.state_of(current_user, episode=episode), "episode"))


def _start() -> int | None:
    """?t=90 or ?t=1:23:45 (what "copy link at this moment" and seek links give): where the audio starts."""
    start = request.args.get("t", type=int) or markup.timestamp_seconds(request.args.get("t", ""))
    return start if start and start > 0 else None


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
