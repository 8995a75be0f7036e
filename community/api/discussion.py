from flask import abort, url_for
from flask_login import current_user

from community.api import bp, choice
from community.services import discussion, episodes, verification


def author_json(user, guest_user_ids: set[int]) -> dict:
    badges = [b for b in user.badges if b != "Guest"]
    if user.id in guest_user_ids:
        badges.insert(0, "Guest")
    # "verified": how and since when the Researcher badge was verified (None when it is not).
    return {"username": user.username, "display_name": user.name, "badges": badges,
            "verified": verification.verified_json(user)}


def post_json(node, guest_user_ids: set[int]) -> dict:
    post = node.post
    tombstone = post.is_tombstone
    return {
        "id": post.id,
        "kind": post.kind.value,
        "author": None if tombstone else author_json(post.author, guest_user_ids),
        "body_html": None if tombstone else post.body_html,
        "score": post.score,
        "status": post.status.value,
        "created_at": post.created_at.isoformat(),
        "edited_at": post.edited_at.isoformat() if post.edited_at else None,
        "url": url_for("discussion.permalink", post_id=post.id, _external=True),
        "replies": [post_json(child, guest_user_ids) for child in node.children],
    }


@bp.get("/episodes/<slug>/thread")
def episode_thread(slug: str):
    episode = episodes.get_by_slug(slug) or abort(404)
    sort = choice("sort", discussion.SORTS, "best")
    thread = discussion.episode_thread(discussion.episode_posts(episode), current_user, sort)
    guests = episode.guest_user_ids
    return {"episode": episode.slug, "sort": sort, "posts": [post_json(n, guests) for n in thread.roots]}
