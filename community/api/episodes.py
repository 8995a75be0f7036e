from flask import abort, current_app, url_for

from community.api import bp, page_args, paginated
from community.services import episodes, transcripts


def episode_json(episode, detail: bool = False) -> dict:
    data = {
        "slug": episode.slug,
        "number": episode.number,
        "title": episode.title,
        "published_at": episode.published_at.isoformat() if episode.published_at else None,
        "duration_seconds": episode.duration_seconds,
        "audio_url": episode.audio_url,
        "url": url_for("episodes.show", slug=episode.slug, _external=True),
        "guests": [{"name": p.name, "affiliation": p.affiliation} for p in episode.guests],
    }
    if detail:
        data["summary"] = episode.summary
        data["show_notes_html"] = episode.show_notes_html
        data["hosts"] = [{"name": p.name, "affiliation": p.affiliation} for p in episode.hosts]
        # The most discussed moments, as podcast:soundbite data (start and duration in seconds).
        data["soundbites"] = [{"start_time": b.start, "duration": b.duration, "title": b.title, "posts": b.posts}
                              for b in transcripts.soundbites([episode.id]).get(episode.id, [])]
    return data


@bp.get("/episodes")
def list_episodes():
    number, per_page = page_args(current_app.config["EPISODES_PER_PAGE"])
    page = episodes.list_page(number, per_page)
    return paginated("episodes", [episode_json(e) for e in page.items], page.total, number, per_page)


@bp.get("/episodes/<slug>")
def get_episode(slug: str):
    episode = episodes.get_by_slug(slug)
    if episode is None:
        abort(404)
    return episode_json(episode, detail=True)
