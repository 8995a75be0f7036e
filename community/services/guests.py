"""Guest suggestions: who should come on the show next, endorsed by the community and
moved through a pipeline by moderators."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import func, select

from community import paper_ids
from community.extensions import db
from community.models import Episode, ModerationAction, NotificationKind, Post, PostKind, PostStatus, User, Vote
from community.names import person_key, without_initials
from community.services import DomainError, PermissionDenied, accounts, discussion, notifications

STAGES = ("suggested", "contacted", "scheduled", "recorded", "declined")
ACTIVE_STAGES = ("suggested", "contacted", "scheduled")
DISCLOSURES = {
    "self": "I am the nominee",
    "worked": "I have worked with the nominee",
    "neither": "Neither",
}
MAX_LINKS, MAX_PAPERS = 5, 5


def _normalise_url(url: str) -> str:
    """Profile URLs compare without scheme, www., trailing slash or case of the host."""
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower().removeprefix("www.")
    return f"{host}{parts.path.rstrip('/')}{'?' + parts.query if parts.query else ''}"


def find_duplicate(name: str, links: list[str]) -> Post | None:
    """An existing suggestion for the same person: same folded name (middle initials aside:
    "Christopher D. Manning" is "Christopher Manning") or a shared profile URL."""
    key = person_key(name)
    same_name = db.session.scalar(select(Post).where(Post.kind == PostKind.suggestion, Post.title_key == key,
                                                     Post.status == PostStatus.visible))
    if same_name is not None:
        return same_name
    short = without_initials(key)
    wanted = {_normalise_url(link) for link in links}
    for post in db.session.scalars(select(Post).where(Post.kind == PostKind.suggestion, Post.status == PostStatus.visible)
                                   .order_by(Post.id)):
        if without_initials(post.title_key or "") == short:
            return post
        if wanted & {_normalise_url(link) for link in (post.details or {}).get("links", [])}:
            return post
    return None


def _papers(lines: list[str]) -> list[dict]:
    entries = [line.strip() for line in lines if line.strip()]
    if len(entries) > MAX_PAPERS:
        raise DomainError(f"At most {MAX_PAPERS} papers.")
    papers = []
    for entry in entries:
        try:
            pid = paper_ids.identify(entry)
        except paper_ids.PaperIdError as error:
            raise DomainError(f"{entry}: {error}") from None
        papers.append({"canonical_id": pid.canonical_id, "url": pid.url, "source": pid.source})
    return papers


@dataclass
class Nomination:
    post: Post | None
    duplicate: Post | None  # set instead of post when the nominee is already on the board


def suggest(actor: User, *, name: str, affiliation: str, links: list[str], why: str, papers: list[str],
            disclosure: str) -> Nomination:
    discussion.ensure_can_write(actor)
    name = " ".join((name or "").split())
    if not name:
        raise DomainError("Who should come on the show? Give their name.")
    if disclosure not in DISCLOSURES:
        raise DomainError("Say how you know the nominee.")
    clean_links = accounts.clean_links(links, MAX_LINKS)
    clean_papers = _papers(papers)
    duplicate = find_duplicate(name, clean_links)
    if duplicate is not None:
        return Nomination(post=None, duplicate=duplicate)
    post = discussion.create_post(
        actor, episode=None, body=why, kind=PostKind.suggestion, stage="suggested", title=name[:300],
        title_key=person_key(name)[:300],
        details={"affiliation": affiliation.strip()[:200], "links": clean_links, "papers": clean_papers,
                 "disclosure": disclosure},
    )
    return Nomination(post=post, duplicate=None)


def active_endorsements(user: User) -> int:
    return db.session.scalar(select(func.count(Vote.id)).join(Post, Post.id == Vote.post_id).where(
        Vote.user_id == user.id, Post.kind == PostKind.suggestion, Post.stage.in_(ACTIVE_STAGES)))


@discussion.upvote_rule(PostKind.suggestion)
def check_endorsement_cap(actor: User, post: Post) -> None:
    """At most N active endorsements each, so the board shows priorities, not volume.
    An endorsement is an upvote: discussion.set_vote runs this before adding one."""
    cap = current_app.config["ENDORSEMENT_CAP"]
    already = db.session.scalar(select(Vote.id).where(Vote.user_id == actor.id, Vote.post_id == post.id))
    if already is None and active_endorsements(actor) >= cap:
        raise DomainError(f"You already endorse {cap} open suggestions, the most anyone can. "
                          "Withdraw one to endorse this one.")


def set_stage(actor: User, suggestion: Post, stage: str, note: str = "", episode: Episode | None = None) -> None:
    """Moderators and admins move a suggestion along; every change is logged publicly."""
    if not actor.is_moderator:
        raise PermissionDenied("Only moderators and admins change a suggestion's status.")
    if suggestion.kind != PostKind.suggestion:
        raise DomainError("That is not a guest suggestion.")
    if stage not in STAGES:
        raise DomainError("Unknown status.")
    note = " ".join((note or "").split())
    if stage == "declined" and not note:
        raise DomainError("Give a reason for declining: the suggester will see it.")
    if stage == "recorded" and episode is None:
        raise DomainError("Choose the episode it was recorded for.")
    suggestion.stage = stage
    suggestion.stage_note = note[:500] or None
    suggestion.linked_episode_id = episode.id if stage == "recorded" and episode else None
    reason = note or (f"recorded: {episode.label} {episode.title}" if episode else "")
    db.session.add(ModerationAction(moderator_id=actor.id, action=f"suggestion_{stage}", post_id=suggestion.id,
                                    target_user_id=suggestion.author_id, reason=reason.strip()))
    db.session.flush()
    notifications.notify([suggestion.author_id], NotificationKind.moderation, post=suggestion, actor=actor,
                         message=f"Your suggestion of {suggestion.title} is now {stage}" + (f": {note}" if note else ""),
                         event_key=f"stage:{stage}")


SUGGESTION_SORTS = {"endorsements": "most endorsed", "newest": "newest"}


def board(sort: str, stage: str | None, page: int, per_page: int = 30):
    query = select(Post).where(Post.kind == PostKind.suggestion, Post.status == PostStatus.visible)
    if stage in STAGES:
        query = query.where(Post.stage == stage)
    order = (Post.created_at.desc(),) if sort == "newest" else (Post.score.desc(), Post.created_at.asc())
    return db.paginate(query.order_by(*order, Post.id), page=page, per_page=per_page, error_out=False)
