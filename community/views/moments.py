"""Moments on the episode page: the transcript with where discussion clusters (a template
global the episode page calls), the box that starts a post on selected words, and a
guest's correction of their own words."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint, abort, flash, g, redirect, request, url_for
from flask_login import current_user, login_required

from community import anchoring
from community.extensions import db
from community.forms.moments import CorrectionForm, MomentForm
from community.pages.threads import moment_chip
from community.pages.transcript import transcript_sentences
from community.services import DomainError, episodes, moments, transcripts
from community.views.episodes import render_episode
from community.views.helpers import composes, form_error, refusal

bp = Blueprint("moments", __name__)
bp.add_app_template_global(moment_chip, "moment_chip")
bp.add_app_template_global(transcript_sentences, "transcript_sentences")
bp.add_app_template_global(moments.moment_of, "moment_of")


@dataclass
class TranscriptOnPage:
    transcript: transcripts.Transcript
    paragraphs: list
    chapter_heads: dict  # paragraph index -> the chapter starting there
    text: anchoring.Text
    moments: moments.EpisodeMoments


@bp.app_template_global("episode_transcript")
def episode_transcript(episode) -> TranscriptOnPage | None:
    """What every reader sees alike: it is part of the shared, cached page."""
    transcript = transcripts.current(episode) if episode.transcript_revision else None
    if transcript is None:
        return None
    text = anchoring.Text.of(transcript.segments)
    paragraphs = transcripts.paragraphs(transcript, episode.chapters or [])
    return TranscriptOnPage(transcript, paragraphs, transcripts.chapter_heads(paragraphs, episode.chapters or []), text,
                            moments.for_episode(episode, text, episode.duration_seconds))


@dataclass
class Discussing:
    """The words a reader is about to discuss (a sentence's "discuss" link, or a form sent
    back to be fixed), with the posts already there: the thread filtered to that moment."""
    revision: int
    start: int
    end: int
    quote: str
    seconds: int
    position: int | None
    posts: list
    form: MomentForm  # the box's text, and what was wrong with it when it comes back
    correction_form: CorrectionForm


@bp.app_template_global("discussing")
def discussing(episode, on_page: TranscriptOnPage | None, forms=()) -> Discussing | None:
    if on_page is None:
        return None
    text, revision = on_page.text, on_page.transcript.revision.number
    sent = next((f for f in (*forms, g.get("correction_form")) if getattr(getattr(f, "anchor_start", None), "data", None)), None)
    correction = g.get("correction_form")
    if sent is None and correction is not None and correction.correction.data:
        sent = correction  # sent with no words chosen: the box still comes back with what was typed
    if sent is not None:
        try:
            start, end = int(sent.anchor_start.data), int(sent.anchor_end.data)
        except (TypeError, ValueError):
            start = end = 0
        if not 0 <= start < end <= len(text.text):
            start = end = 0  # no words (or words beyond this revision): the text is kept, the quote empty
        position = None
    else:
        position = request.args.get("discuss", type=int)
        span = moments.sentence_span(text, position) if position is not None else None
        if span is None:
            return None
        start, end = span
    seconds = int(text.time_range(start, end)[0] or 0)
    return Discussing(revision, start, end, text.text[start:end], seconds, position,
                      moments.posts_at(episode, position, text) if position is not None else [],
                      *_box_forms(sent))


def _box_forms(sent) -> tuple[MomentForm, CorrectionForm]:
    """The box's forms, holding what was sent when it comes back to be fixed."""
    form, correction = MomentForm(formdata=None), CorrectionForm(formdata=None)
    if isinstance(sent, CorrectionForm):
        correction = sent
    elif sent is not None:
        form.body.data, form.body.errors = sent.body.data, list(sent.body.errors)
        if "link" in sent:  # a paper sent from the box
            form.link.data, form.link.errors = sent.link.data, list(sent.link.errors)
    return form, correction


@bp.app_template_global("empty_moment_forms")
def empty_moment_forms() -> tuple[MomentForm, CorrectionForm]:
    """The box with nothing selected yet (JS fills it in on a selection)."""
    return _box_forms(None)


@bp.post("/episodes/<slug>/corrections")
@composes(lambda slug: url_for("episodes.show", slug=slug, _anchor="moment-compose"))
@login_required
def correct(slug: str):
    episode = episodes.get_by_slug(slug) or abort(404)
    form = g.correction_form = CorrectionForm()
    refused = refusal(form, form.correction)
    if refused:
        return render_episode(episode, status=refused)
    try:
        moment = moments.add_correction(current_user, episode, moments.resolve(episode, form.anchor()),
                                        form.correction.data)
    except DomainError as error:
        return render_episode(episode, status=form_error(form.correction, error))
    db.session.commit()
    flash("Correction added: it shows beside your words in the transcript.", "success")
    return redirect(url_for("episodes.show", slug=slug, t=int(moment.time_start or 0), _anchor=f"moment-{moment.id}"))
