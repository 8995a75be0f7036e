"""Follow-up questions for an episode's guests: asked, upvoted, answered by the guest
(or on air), declined or merged by moderators."""

from __future__ import annotations

from sqlalchemy import delete, func, select

from community.extensions import db
from community.models import (
    Appearance, AppearanceRole, Episode, ModerationAction, NotificationKind, Person, Post, PostKind, PostStatus,
    User, Vote,
)
from community.services import DomainError, PermissionDenied, discussion, notifications, watching

OPEN, ANSWERED, DECLINED, MERGED = "open", "answered", "declined", "merged"
STAGES = (OPEN, ANSWERED, DECLINED, MERGED)


def ask(actor: User, episode: Episode, body: str) -> Post:
    post = discussion.create_post(actor, episode=episode, body=body, kind=PostKind.question, stage=OPEN,
                                  tell_watchers=False)
    # Like a paper entry, a question starts with its asker's vote ("me too" counts from 1).
    db.session.add(Vote(user_id=actor.id, post_id=post.id, value=1))
    post.score = 1
    db.session.flush()
    tell_guests(post)
    watching.tell_watchers(post, actor)  # a guest watching the episode already heard of it
    return post


def tell_guests(question: Post) -> None:
    """The episode's guests with an account hear of a new question (a question held for a
    moderator is told when it is let through: notify() skips posts that are not public)."""
    episode = db.session.get(Episode, question.episode_id)
    author = db.session.get(User, question.author_id)
    notifications.notify(guest_user_ids(episode.id), NotificationKind.question, post=question, actor=author,
                         message=watching.describe(author, question, "asked you a question"))


def guest_user_ids(episode_id: int) -> set[int]:
    return set(db.session.scalars(select(Person.user_id).join(Appearance, Appearance.person_id == Person.id).where(
        Appearance.episode_id == episode_id, Appearance.role == AppearanceRole.guest, Person.user_id.is_not(None))))


def guest_episode_ids(user_id: int):
    """The episodes this account was a guest on (a subquery)."""
    return select(Appearance.episode_id).join(Person, Person.id == Appearance.person_id).where(
        Person.user_id == user_id, Appearance.role == AppearanceRole.guest)


def waiting_filter(user_id: int):
    """Open, public questions on this account's episodes: what waits for the guest."""
    return (Post.kind == PostKind.question, Post.status == PostStatus.visible, Post.stage == OPEN,
            Post.episode_id.in_(guest_episode_ids(user_id)))


def is_guest(user: User | None) -> bool:
    """A guest of at least one episode (whatever the account's role)."""
    if user is None or not user.is_authenticated:
        return False
    return db.session.scalar(select(func.count()).select_from(guest_episode_ids(user.id).subquery())) > 0


def is_guest_of(user: User | None, episode_id: int) -> bool:
    if user is None or not user.is_authenticated:
        return False
    return db.session.scalar(select(func.count(Appearance.id)).join(Person, Person.id == Appearance.person_id).where(
        Person.user_id == user.id, Appearance.episode_id == episode_id, Appearance.role == AppearanceRole.guest)) > 0


def is_host(user: User) -> bool:
    return db.session.scalar(select(func.count(Appearance.id)).join(Person, Person.id == Appearance.person_id).where(
        Person.user_id == user.id, Appearance.role == AppearanceRole.host)) > 0


def _interested(question: Post) -> set[int]:
    """The asker and everyone who voted for the question."""
    voters = set(db.session.scalars(select(Vote.user_id).where(Vote.post_id == question.id)))
    return voters | {question.author_id}


def _require_question(post: Post) -> None:
    if post.kind != PostKind.question:
        raise DomainError("That is not a question.")


def answer(actor: User, question: Post, body: str) -> Post:
    """The guest's written answer: a reply shown under the question with the Guest badge."""
    _require_question(question)
    if not is_guest_of(actor, question.episode_id):
        raise PermissionDenied("Only a guest of this episode can answer its questions.")
    if question.stage in (DECLINED, MERGED) or not question.is_live:
        raise DomainError("This question is closed.")
    reply = discussion.create_post(actor, episode=None, body=body, parent=question, notify_parent=False,
                                   tell_watchers=False)
    question.answer_id = reply.id
    question.stage = ANSWERED
    db.session.flush()
    interested = watching.unmuted(_interested(question), question)
    notifications.notify(interested, NotificationKind.answer, post=question, actor=actor,
                         message=watching.describe(actor, reply, "answered", question), about=reply)
    watching.tell_watchers(reply, actor, already=interested)
    return reply


def answer_on_air(actor: User, question: Post, episode: Episode, moment_seconds: int | None) -> None:
    """Hosts and moderators: the question was answered in a later episode, at this moment."""
    _require_question(question)
    if not (actor.is_moderator or is_host(actor)):
        raise PermissionDenied("Only hosts and moderators can mark a question answered on air.")
    question.stage = ANSWERED
    question.linked_episode_id = episode.id
    question.moment_seconds = moment_seconds
    db.session.flush()
    notifications.notify(_interested(question), NotificationKind.answer, post=question, actor=actor,
                         message=f"Answered on air in {episode.label} {episode.title}".strip())


def decline(actor: User, question: Post, reason: str) -> None:
    _require_question(question)
    if not actor.is_moderator:
        raise PermissionDenied("Only moderators decline questions.")
    reason = " ".join((reason or "").split())
    if not reason:
        raise DomainError("Give a reason: the asker will see it.")
    question.stage = DECLINED
    question.stage_note = reason[:500]
    db.session.add(ModerationAction(moderator_id=actor.id, action="decline_question", post_id=question.id,
                                    target_user_id=question.author_id, reason=reason))
    db.session.flush()
    notifications.notify([question.author_id], NotificationKind.moderation, post=question, actor=actor,
                         message=f"Your question was declined: {reason}", event_key="decline")


def merge(actor: User, duplicate: Post, into: Post) -> None:
    """Votes move to the surviving question (each voter counted once); the asker is told."""
    _require_question(duplicate)
    _require_question(into)
    if not actor.is_moderator:
        raise PermissionDenied("Only moderators merge questions.")
    if duplicate.id == into.id or duplicate.episode_id != into.episode_id:
        raise DomainError("Merge into another question of the same episode.")
    if into.stage == MERGED:
        raise DomainError("That question was itself merged; merge into the one it went to.")
    voters = set(db.session.scalars(select(Vote.user_id).where(Vote.post_id == duplicate.id)))
    already = set(db.session.scalars(select(Vote.user_id).where(Vote.post_id == into.id)))
    for user_id in sorted(voters - already - {into.author_id}):
        db.session.add(Vote(user_id=user_id, post_id=into.id, value=1))
    db.session.execute(delete(Vote).where(Vote.post_id == duplicate.id))
    db.session.flush()
    into.score = db.session.scalar(select(func.count(Vote.id)).where(Vote.post_id == into.id))
    duplicate.score = 0
    duplicate.stage = MERGED
    duplicate.merged_into_id = into.id
    db.session.add(ModerationAction(moderator_id=actor.id, action="merge_question", post_id=duplicate.id,
                                    target_user_id=duplicate.author_id, reason=f"duplicate of question {into.id}"))
    db.session.flush()
    notifications.notify([duplicate.author_id], NotificationKind.merged, post=into, actor=actor,
                         message="Your question was merged into this one; your vote came along.")


def for_episode(posts: list[Post], viewer: User | None) -> list[Post]:
    """An episode's questions from the page's posts: open first by votes, then the rest."""
    shown = [p for p in posts if p.kind == PostKind.question and p.stage != MERGED and not p.is_tombstone
             and discussion.visible_to(viewer, p)]
    return sorted(shown, key=lambda p: (p.stage != OPEN, -p.score, p.created_at.timestamp(), p.id))


def listing(state: str, viewer: User | None, page: int, per_page: int = 30):
    """/questions/: across episodes, most-voted first; a guest's own episodes first."""
    stages = {"open": (OPEN,), "answered": (ANSWERED,), "declined": (DECLINED,), "all": (OPEN, ANSWERED, DECLINED)}
    query = (select(Post, Episode).join(Episode, Episode.id == Post.episode_id)
             .where(Post.kind == PostKind.question, Post.status == PostStatus.visible, Episode.is_published,
                    Post.stage.in_(stages.get(state, (OPEN,))))
             .order_by(Post.score.desc(), Post.created_at.asc(), Post.id))
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    rows = db.session.execute(query.limit(per_page).offset((page - 1) * per_page)).all()
    for post, episode in rows:
        post.on_episode = episode
    return [post for post, _ in rows], total


def for_guest(user: User | None, limit: int = 20) -> list[Post]:
    """Open questions on the episodes this user was a guest on: the guest's inbox."""
    if user is None or not user.is_authenticated:
        return []
    query = (select(Post, Episode).join(Episode, Episode.id == Post.episode_id)
             .where(*waiting_filter(user.id))
             .order_by(Post.score.desc(), Post.created_at.asc(), Post.id).limit(limit))
    rows = db.session.execute(query).all()
    for post, episode in rows:
        post.on_episode = episode
    return [post for post, _ in rows]

