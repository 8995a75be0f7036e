"""An episode's transcript: a page of speaker paragraphs whose every sentence is a `?t=`
link into the episode, and the same words as WebVTT and Podcasting 2.0 JSON; its chapters
as Podcasting 2.0 JSON chapters, and the posts anchored to its words as Web Annotations."""

from flask import Blueprint, Response, abort, jsonify, render_template, url_for

from community.services import episodes, transcripts

bp = Blueprint("transcripts", __name__)


def _transcript(slug: str):
    episode = episodes.get_by_slug(slug) or abort(404)
    transcript = transcripts.current(episode) or abort(404)
    return episode, transcript


@bp.get("/episodes/<slug>/transcript")
def show(slug: str):
    episode, transcript = _transcript(slug)
    return render_template("transcripts/show.html", episode=episode, transcript=transcript,
                           paragraphs=transcripts.paragraphs(transcript))


@bp.get("/episodes/<slug>/transcript.vtt")
def webvtt(slug: str):
    _, transcript = _transcript(slug)
    return Response(transcripts.as_webvtt(transcript), mimetype="text/vtt")


@bp.get("/episodes/<slug>/transcript.json")
def podcast_json(slug: str):
    _, transcript = _transcript(slug)
    response = jsonify(transcripts.as_podcast_json(transcript))
    response.mimetype = "application/json"
    return response


@bp.get("/episodes/<slug>/chapters.json")
def chapters(slug: str):
    """The JSON chapters format (podcast:chapters, version 1.2) of the episode's chapters
    (an empty list when it has none)."""
    episode = episodes.get_by_slug(slug) or abort(404)
    response = jsonify({"version": "1.2.0", "chapters": [
        {"startTime": c["start"], "title": c["title"], **{k: c[k] for k in ("url", "img") if c.get(k)}}
        for c in episode.chapters or []]})
    response.mimetype = "application/json+chapters"
    return response


@bp.get("/episodes/<slug>/annotations.jsonld")
def annotations(slug: str):
    """Discussion anchored to the transcript, as a W3C Web Annotation collection (JSON-LD);
    an empty collection while nothing is anchored."""
    episode = episodes.get_by_slug(slug) or abort(404)
    here = url_for("transcripts.annotations", slug=slug, _external=True)
    items = transcripts.web_annotations(
        episode, url_for("transcripts.show", slug=slug, _external=True),
        lambda post_id: url_for("discussion.permalink", post_id=post_id, _external=True), episode.audio_url)
    response = jsonify({
        "@context": ["http://www.w3.org/ns/anno.jsonld",
                     {"drifted": url_for("transcripts.show", slug=slug, _external=True, _anchor="drifted")}],
        "id": here, "type": "AnnotationCollection",
        "label": f"Discussion anchored to the transcript of {episode.label} {episode.title}".strip(),
        "total": len(items),
        "first": {"id": here + "#page-1", "type": "AnnotationPage", "items": items}})
    response.mimetype = "application/ld+json"
    response.headers["Content-Type"] = 'application/ld+json; profile="http://www.w3.org/ns/anno.jsonld"'
    return response
