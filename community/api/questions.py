from flask import abort, url_for

from community.api import bp, choice, page_args, paginated
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
    state = choice("state", ("open", "answered", "declined", "all"), "open")
    page, per_page = page_args()
    rows, total = questions.listing(state, None, page, per_page)
    return paginated("questions", [
        {"id": q.id, "state": q.stage, "votes": q.score, "body_html": q.body_html, "episode": q.on_episode.slug,
         "url": url_for("discussion.permalink", post_id=q.id, _external=True)} for q in rows], total, page, per_page,
        state=state)


@bp.get("/guests/suggestions")
def suggestions():
    sort = choice("sort", tuple(guests.SUGGESTION_SORTS), "endorsements")
    status = choice("status", ("", *guests.STAGES), "") or None
    number, per_page = page_args()
    page = guests.board(sort, status, number, per_page)
    return paginated("suggestions", [{
            "id": s.id, "nominee": s.title, "affiliation": (s.details or {}).get("affiliation", ""),
            "links": (s.details or {}).get("links", []), "papers": (s.details or {}).get("papers", []),
            "status": s.stage, "status_note": s.stage_note, "endorsements": s.score, "why_html": s.body_html,
            "suggested_by": s.author.username, "url": url_for("discussion.permalink", post_id=s.id, _external=True),
        } for s in page.items], page.total, number, per_page, sort=sort, status=status)
