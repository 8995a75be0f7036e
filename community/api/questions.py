from flask import abort, request, url_for

from community.api import bp
from community.api.discussion import author_json
from community.services import episodes, guests, questions


def question_json(question, answers: dict, guest_ids: set[int], linked: dict) -> dict:
    answer = answers.get(question.answer_id)
    if answer is not None and not answer.is_live:  # pending, hidden, removed or deleted: not public
        answer = None
    on_air = linked.get(question.linked_episode_id)
    return {
        "id": question.id,
        "state": question.stage,
        "declined_reason": question.stage_note if question.stage == questions.DECLINED else None,
        "body_html": question.body_html,
        "votes": question.score,
        "author": author_json(question.author, set()),
        "created_at": question.created_at.isoformat(),
        "url": url_for("discussion.permalink", post_id=question.id, _external=True),
        "answer": {"body_html": answer.body_html, "author": author_json(answer.author, guest_ids),
                   "created_at": answer.created_at.isoformat()} if answer else None,
        "answered_on_air": {"episode": on_air.slug, "moment_seconds": question.moment_seconds} if on_air else None,
    }


@bp.get("/episodes/<slug>/questions")
def episode_questions(slug: str):
    episode = episodes.get_by_slug(slug) or abort(404)
    page = episodes.episode_content(episode, None, "best")
    return {"episode": slug, "questions": [question_json(q, page.answers, page.guest_user_ids, page.linked)
                                           for q in page.questions]}


@bp.get("/questions")
def all_questions():
    state = request.args.get("state", "open")
    rows, total = questions.listing(state if state in ("open", "answered", "declined", "all") else "open", None,
                                    max(request.args.get("page", 1, type=int), 1))
    return {"total": total, "questions": [
        {"id": q.id, "state": q.stage, "votes": q.score, "body_html": q.body_html, "episode": q.on_episode.slug,
         "url": url_for("discussion.permalink", post_id=q.id, _external=True)} for q in rows]}


@bp.get("/guests/suggestions")
def suggestions():
    page = guests.board(request.args.get("sort", "endorsements"), request.args.get("status"),
                        max(request.args.get("page", 1, type=int), 1))
    return {
        "suggestions": [{
            "id": s.id, "nominee": s.title, "affiliation": (s.details or {}).get("affiliation", ""),
            "links": (s.details or {}).get("links", []), "papers": (s.details or {}).get("papers", []),
            "status": s.stage, "status_note": s.stage_note, "endorsements": s.score, "why_html": s.body_html,
            "suggested_by": s.author.username, "url": url_for("discussion.permalink", post_id=s.id, _external=True),
        } for s in page.items],
        "next": url_for("api.suggestions", page=page.next_num, _external=True) if page.has_next else None,
    }
