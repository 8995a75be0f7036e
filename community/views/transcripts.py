"""An episode's transcript: a page of speaker paragraphs whose every sentence is a `?t=`
link into the episode, and the same words as WebVTT and Podcasting 2.0 JSON."""

from flask import Blueprint, Response, abort, jsonify, render_template

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
