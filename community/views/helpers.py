"""Template filters and globals shared by every page, and what every view needs: safe
"next" addresses, the post a reader may see, and refusals shown beside a form."""

from __future__ import annotations

import time
from urllib.parse import urljoin, urlsplit

from flask import Flask, flash, g, redirect, request, url_for
from wtforms.form import BaseForm

from community import markup
from community.extensions import db
from community.formatting import duration, exact_time, iso, iso_duration, plural, relative_time, sentence
from community.forms import ActionForm
from community.models import Post, PostKind, PostStatus
from community.services import DomainError, NotFound, PermissionDenied, discussion


def is_safe_next(target: str | None) -> bool:
    """Only paths on this site: no scheme, no host, no protocol-relative or backslash tricks."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return False
    if any(ord(c) < 32 or ord(c) == 127 for c in target):  # CR/LF would break the Location header
        return False
    parts = urlsplit(urljoin(request.host_url, target))
    return parts.netloc == urlsplit(request.host_url).netloc and parts.scheme in ("http", "https")


def next_page() -> str | None:
    """Where the person was going before logging in, signing up, confirming an address or
    resetting a password (`?next=` on the address, or a `next` form field), when it is a
    page of this site; pass it on with `url_for(..., next=next_page())` to keep it."""
    target = request.args.get("next") or request.form.get("next")
    return target if is_safe_next(target) else None


def safe_referrer() -> str | None:
    """The page of this site the request came from (path, query and anchor), if any."""
    ref = request.referrer or ""
    host = request.host_url.rstrip("/")
    if not ref.startswith(host + "/"):
        return None
    path = ref[len(host):]
    return path if is_safe_next(path.split("#")[0]) else None


def composes(page):
    """Declares a compose view and the page its form is on (`page(**view_args)`, a URL one
    can GET, with the form's anchor): a refused submission keeps the text as the writer's
    draft, an accepted one discards it, and a logged-out writer's submission is kept and
    given back on that page after login (views/drafts.py)."""
    def mark(view):
        view.compose_page = page
        return view
    return mark


def compose_page() -> str | None:
    """The page of the compose form this request was sent from, when it is one."""
    from flask import current_app

    view = current_app.view_functions.get(request.endpoint or "")
    page = getattr(view, "compose_page", None)
    return page(**(request.view_args or {})) if page else None


def with_drafts(forms: dict, saved: dict | None = None):
    """Forms shown fresh on a page (not a submission being fixed), keyed by their action
    path, filled from the reader's drafts of them: the text written before a refusal, a
    logout or on another device comes back. One query for the page, unless the caller
    looked the drafts up already (`saved`: drafts.of_forms)."""
    from flask_login import current_user

    from community.services import drafts

    if not current_user.is_authenticated:
        return forms
    if saved is None:
        saved = drafts.of_forms(current_user, list(forms))
    for key, fields in saved.items():
        form = forms[key]
        form.process(formdata=None, data={name: value for name, value in fields.items() if name in form})
        form.draft_restored = True
    return forms


def visible_post(post_id: int, kind: PostKind | None = None) -> Post:
    """The post the reader asked for, or NotFound saying why when the reader may know it.
    A post hidden by moderators (or by flags) is named in the public moderation log, so its
    page says so; one waiting for approval is known to nobody but its author and the
    moderators, so it answers as if it did not exist. No hidden text is ever shown."""
    from flask_login import current_user

    post = discussion.get_post_or_none(post_id)
    if post is not None and (kind is None or post.kind == kind):
        if discussion.visible_to(current_user, post):
            return post
        if post.status == PostStatus.hidden:
            raise NotFound("This post is hidden while the moderators review it; the public moderation log says why.")
    raise NotFound(f"There is no {kind.value if kind else 'post'} with the number {post_id}.")


def status_for(error: DomainError) -> int:
    """The status of a refusal: 403 when the actor may not, 404 when the target is not
    there for them, 422 when the rule refused what was sent."""
    if isinstance(error, PermissionDenied):
        return 403
    if isinstance(error, NotFound):
        return 404
    return 422


def form_error(target, error: DomainError) -> int:
    """A refusal shown beside the form it concerns, which the view renders again with what
    was typed: the transaction rolled back (nothing half-written is kept), the message added
    to the field's errors (or to the form's own when given a form), the status returned.
    A refusal that has no form to return to is left to the DomainError handler (web.py)."""
    db.session.rollback()
    errors = target.form_errors if isinstance(target, BaseForm) else target.errors
    errors.append(str(error))
    return status_for(error)


def refusal(form, field) -> int | None:
    """Why a compose form cannot be taken as sent, as the status to re-render it with: 422
    when it does not validate, 429 when the writer's budget is spent (discussion.budgeted),
    said beside `field` with the wait; None when it may go ahead. The text stays in the form."""
    valid = form.validate_on_submit()
    spent = g.get("limit_refused")
    if spent is not None:
        g.retry_after = wait = max(1, spent.reset_at - int(time.time()))
        field.errors = [*field.errors, f"Too many requests (the limit is {spent.limit}). Your text is kept here: "
                                       f"you can send it in {wait} s."]
        return 429
    return None if valid else 422


def compose(form, field, page, create, done, preview: bool = False):
    """A compose form sent (a comment, a reply, a question, a paper): `page(form, status=...)`
    again, with what was typed, when the form is refused (refusal) or create() is (the
    message beside `field`); `page(form, preview_html=...)` with `field` rendered when
    `preview` was asked for; otherwise what create() made, committed, and `done(made)`:
    the writer's redirect."""
    refused = refusal(form, field)
    if refused:
        return page(form, status=refused)
    if preview:
        return page(form, preview_html=discussion.preview_html(field.data))
    try:
        made = create()
    except DomainError as error:
        return page(form, status=form_error(field, error))
    db.session.commit()
    return done(made)


def flash_refusal(error: DomainError) -> None:
    """A refusal of a button press (no typed text to keep): rolled back, and told on the
    page the view sends the reader back to."""
    db.session.rollback()
    flash(str(error), "error")


def press(action, done: str, back: str, refused_back: str | None = None, category: str = "success"):
    """A button press: run the service call, commit, and say `done` on the way `back`. A
    role that may not is the DomainError handler's 403 (in the rule's words); any other
    refusal is rolled back and told on the way back (to `refused_back` when given)."""
    try:
        action()
    except PermissionDenied:
        raise
    except DomainError as error:
        flash_refusal(error)
        return redirect(refused_back or back)
    db.session.commit()
    flash(done, category)
    return redirect(back)


def _header_counts():
    """Asked by the header only when a user is logged in: one small query for both counts,
    once per request. Kept under the reader's id, which the class stand-in of a shared
    frame refuses to give: one reader's counts never reach a shared page."""
    from flask import g
    from flask_login import current_user

    from community.services import inbox

    if not current_user.is_authenticated:
        return inbox.HeaderCounts(unread=0, waiting=0)
    user_id = current_user.id
    found = g.get("header_counts")
    if found is None or found[0] != user_id:
        found = g.header_counts = (user_id, inbox.header_counts(current_user))
    return found[1]


def _unread_count() -> int:
    return _header_counts().unread


def _questions_waiting() -> int:
    """Open questions on the episodes the reader was a guest on (0 for everyone else)."""
    return _header_counts().waiting


def _queue_size() -> int:
    """Items in the moderation queue (0 for everyone but moderators). The header's account
    links are rendered per request, also on a shared frame, so it is never stale."""
    return _header_counts().queue


# Header navigation; an entry shows once its blueprint is registered.
NAV = [
    ("episodes.index", "Episodes"),
    ("papers.index", "Papers"),
    ("questions.index", "Questions"),
    ("guests.suggestions", "Suggest a guest"),
    ("search.search", "Search"),
]


def episode_json_ld(episode) -> dict:
    """schema.org PodcastEpisode for an episode page (JSON-LD), leaving out what is unknown."""
    page_url = url_for("episodes.show", slug=episode.slug, _external=True)

    def person(p, role: str) -> dict:
        return _known({"@type": "Person", "name": p.name, "jobTitle": role,
                       "affiliation": {"@type": "Organization", "name": p.affiliation} if p.affiliation else None,
                       "url": url_for("episodes.person", person_id=p.id, _external=True)})

    return _known({
        "@context": "https://schema.org", "@type": "PodcastEpisode", "name": episode.title, "url": page_url,
        "episodeNumber": episode.number,
        "datePublished": episode.published_at.date().isoformat() if episode.published_at else None,
        "description": episode.summary or None, "timeRequired": iso_duration(episode.duration_seconds) or None,
        "image": episode.image_url or None,
        "associatedMedia": {"@type": "MediaObject", "contentUrl": episode.audio_url} if episode.audio_url else None,
        "actor": [person(p, "Guest") for p in episode.guests] + [person(p, "Host") for p in episode.hosts] or None,
        "partOfSeries": {"@type": "PodcastSeries", "name": "Generally Intelligent",
                         "url": url_for("episodes.index", _external=True),
                         "webFeed": url_for("feeds.episodes_feed", _external=True)},
        "discussionUrl": f"{page_url}#discussion",
    })


def _known(data: dict) -> dict:
    return {key: value for key, value in data.items() if value is not None}


def init_app(app: Flask) -> None:
    @app.context_processor
    def navigation():
        return {"site_nav": [(endpoint, label) for endpoint, label in NAV if endpoint in app.view_functions],
                "unread_count": _unread_count, "questions_waiting": _questions_waiting,
                "moderation_queue_size": _queue_size}

    app.add_template_filter(relative_time, "timeago")
    app.add_template_filter(iso, "iso")
    app.add_template_filter(exact_time, "exact")
    app.add_template_filter(duration, "duration")
    app.add_template_filter(sentence, "sentence")
    app.add_template_global(episode_json_ld, "episode_json_ld")
    app.add_template_filter(lambda n, one, many=None: f"{n} {plural(n, one, many or one + 's')}", "counted")
    app.add_template_global(ActionForm, "ActionForm")
    from community.pages import readers, threads

    app.add_template_global(threads.render_thread, "render_thread")
    app.add_template_global(readers.vote_button_html, "vote_button_html")
    app.add_template_global(readers.slot_marker, "slot_marker")
    app.add_template_filter(markup.plain_text, "plain_text")
