from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from sqlalchemy.exc import IntegrityError

from community.extensions import db, limiter
from community.forms.papers import PaperForm, PaperKindForm
from community.pages.cache import cached_for_anonymous
from community.services import discussion, episodes, freshness, moments, papers, watching
from community.views.discussion import posting_limited
from community.views.episodes import render_episode
from community.views.helpers import compose, composes, is_safe_next, press, visible_post
from community.models import PostKind

bp = Blueprint("papers", __name__)


@bp.post("/episodes/<slug>/papers")
@composes(lambda slug: url_for("episodes.show", slug=slug, _anchor="paper-form"))
@login_required
@posting_limited("papers", lambda: discussion.posting_rate_limit(current_user, "papers"))
def submit(slug: str):
    episode = episodes.get_by_slug(slug) or abort(404)
    form = PaperForm()

    def submit_once():
        anchored = moments.resolve(episode, form.anchor())
        result = papers.submit(current_user, episode, link=form.link.data, title=form.title.data,
                               moment=form.moment.data, note=(form.note.data or form.body.data or "").strip())
        if not result.merged:
            moments.attach(result.post, episode, anchored)
        return result

    def create():
        try:
            return submit_once()
        except IntegrityError:  # the same paper added by someone else this instant: now it merges
            db.session.rollback()
            return submit_once()

    def done(result):
        if result.merged:
            flash("That paper is already on this episode's reading list, so your vote went to it instead.", "info")
        elif result.post.paper.is_link:
            flash("Link added to the reading list, among the links: it is not a paper identifier. "
                  "If it is a paper, say so with “This is a paper”.", "success")
        else:
            flash("Paper added to the reading list.", "success")
        return redirect(url_for("episodes.show", slug=slug, _anchor=f"c{result.post.id}"))

    return compose(form, form.link, lambda form, **shown: render_episode(episode, paper_form=form, **shown),
                   create, done)


@bp.post("/posts/<int:post_id>/paper-kind")
@login_required
def set_kind(post_id: int):
    entry = visible_post(post_id, PostKind.paper)
    form = PaperKindForm()
    if not form.validate_on_submit():
        abort(400)
    is_paper = form.is_paper.data == "1"
    # Back to the page the button was on (the episode's reading list, or the entry's own page).
    referrer = (request.referrer or "").removeprefix(request.host_url.rstrip("/"))
    back = referrer.split("#")[0] + f"#c{entry.id}" if is_safe_next(referrer) else \
        url_for("discussion.permalink", post_id=entry.id)
    return press(lambda: papers.confirm_paper(current_user, entry, is_paper),
                 "Marked as a paper: it is in the BibTeX export now." if is_paper else "Marked as a link, not a paper.",
                 back)


@bp.get("/papers/")
@cached_for_anonymous(lambda: (freshness.LISTS,))
def index():
    sort = request.args.get("sort", "episodes")
    sort = sort if sort in papers.PAPER_SORTS else "episodes"
    kind = request.args.get("kind", "papers")
    kind = kind if kind in papers.KINDS else "papers"
    page = max(request.args.get("page", 1, type=int), 1)
    rows, total = papers.graph(sort, page, kind=kind)
    return render_template("papers/index.html", rows=rows, total=total, sort=sort, page=page, per_page=30,
                           sorts=papers.PAPER_SORTS, kind=kind, kinds=papers.KINDS)


@bp.get("/papers/<path:canonical_id>")
def show(canonical_id: str):
    row = papers.get_paper(canonical_id)
    if row is None:
        abort(404)
    # Read per request (this page is not cached): the reader's own watch button.
    watch_state = watching.state_of(current_user, paper=row.paper) if current_user.is_authenticated else None
    return render_template("papers/show.html", row=row, watch_state=watch_state)


@bp.get("/episodes/<slug>/papers.bib")
@limiter.exempt
def bibtex(slug: str):
    episode = episodes.get_by_slug(slug) or abort(404)
    return Response(papers.bibtex(episode, papers.episode_entries(episode)), mimetype="application/x-bibtex",
                    headers={"Content-Disposition": f'inline; filename="{slug}-papers.bib"'})


@bp.get("/episodes/<slug>/papers.md")
def markdown(slug: str):
    episode = episodes.get_by_slug(slug) or abort(404)
    text = papers.markdown_list(episode, papers.episode_entries(episode),
                                url_for("episodes.show", slug=slug, _external=True))
    return Response(text, mimetype="text/markdown", headers={"Content-Disposition": f'inline; filename="{slug}-papers.md"'})
