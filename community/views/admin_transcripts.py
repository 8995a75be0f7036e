"""/admin/episodes/<id>/transcript: the show's team uploads a transcript (each upload a new
revision, never an overwrite), sees every revision, and confirms who each speaker is.

Its own blueprint beside the console's (views/admin.py): hosts and admins run it."""

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from community import policy
from community import transcripts as formats
from community.extensions import db
from community.forms.transcripts import SpeakersForm, TranscriptUploadForm
from community.services import DomainError, episodes, transcripts
from community.views.helpers import form_error

bp = Blueprint("admin_transcripts", __name__, url_prefix="/admin/episodes")


def _episode(episode_id: int):
    return episodes.get_by_id(episode_id) or abort(404)


def _page(episode, form: TranscriptUploadForm | None = None, status: int = 200, speakers_error: str = ""):
    rows = transcripts.revisions(episode)
    latest = rows[0].revision if rows else None
    return render_template(
        "admin/transcript.html", episode=episode, revisions=rows, latest=latest,
        form=form or TranscriptUploadForm(formdata=None), speakers_form=SpeakersForm(formdata=None),
        speakers=transcripts.speakers(latest) if latest else [], speakers_error=speakers_error,
        people=[a.person for a in episode.appearances]), status


@bp.get("/<int:episode_id>/transcript")
@policy.show_required
def index(episode_id: int):
    return _page(_episode(episode_id))


@bp.post("/<int:episode_id>/transcript")
@policy.show_required
def upload(episode_id: int):
    episode = _episode(episode_id)
    form = TranscriptUploadForm()
    if not form.validate_on_submit():
        return _page(episode, form, 422)
    upload_file = form.file.data
    data = upload_file.read()
    kind = form.kind.data or formats.detect(upload_file.filename or "", data)
    if not kind:
        form.kind.errors.append("The format could not be told from the file: choose it.")
        return _page(episode, form, 422)
    try:
        revision = transcripts.add_revision(current_user, episode, data, kind, language=form.language.data or None,
                                            note=form.note.data or "")
    except transcripts.UnreadableTranscript as error:
        db.session.rollback()  # nothing of a file that did not read is kept
        form.file.errors.extend([f"The file was not added: {len(error.problems)} problem(s), each by its line."]
                                + error.problems[:50])
        return _page(_episode(episode_id), form, 422)
    except DomainError as error:
        status = form_error(form.file, error)
        return _page(_episode(episode_id), form, status)
    db.session.commit()
    flash(f"Transcript revision {revision.number} added. Check the speakers below.", "success")
    return redirect(url_for("admin_transcripts.index", episode_id=episode.id) + "#speakers")


@bp.post("/<int:episode_id>/transcript/speakers")
@policy.show_required
def speakers(episode_id: int):
    episode = _episode(episode_id)
    if not SpeakersForm().validate_on_submit():
        abort(400)
    revision = transcripts.get_revision(episode, request.form.get("revision", type=int) or 0) or abort(404)
    chosen: dict[str, int | None] = {}
    for n in range(len(transcripts.speakers(revision))):
        label = request.form.get(f"label-{n}")
        value = request.form.get(f"speaker-{n}", "")
        if label is None:
            continue
        if value and not value.isdigit():
            abort(400)
        chosen[label] = int(value) if value else None
    try:
        changed = transcripts.set_speakers(current_user, episode, revision, chosen)
    except DomainError as error:
        db.session.rollback()
        return _page(_episode(episode_id), status=422, speakers_error=str(error))
    db.session.commit()
    flash(f"Speakers saved ({changed} changed)." if changed else "No speaker changed.", "success")
    return redirect(url_for("admin_transcripts.index", episode_id=episode.id) + "#speakers")
