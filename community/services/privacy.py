"""A user's own data: the export of everything they wrote and did, and account deletion.

Export: one ZIP (account.json, posts.json, posts/<id>-<kind>.md, README.txt) holding the
user's own rows only. Other people appear as post ids and permalinks, never with their
email or their text; moderators as "a moderator", never by name.

Deletion keeps the users row, anonymised, so that votes still count, flags still weigh in
the moderation history and the public log keeps its meaning ("[deleted user]"). The owner
chooses whether their posts stay (under "[deleted user]") or go (tombstones, as the
author's own delete makes: replies by others stay where they are).
"""

from __future__ import annotations

import json
import secrets
import zipfile
from datetime import datetime
from typing import IO, Any

from flask import url_for
from sqlalchemy import delete, func, select, update

from community import identity
from community.extensions import db
from community.models import (
    EmailAddress, Episode, Flag, Follow, ModerationAction, Notification, NotificationKind, Person, Post, PostStatus,
    Revision, Role, ThreadVisit, User, UserSession, Verification, Vote, Watch,
)
from community.models.base import utcnow
from community.services import DomainError, accounts
from community.services.discussion import render_body
from community.services.notifications import EMAIL_DEFAULTS, email_mode
from community.services.sessions import device_label, end_all_sessions

# Every deleted account shows as this, in threads, the API and the moderation log alike.
# Brackets and the space are outside the username alphabet (accounts.USERNAME_RE), so no
# one can register it, and /u/[deleted user] finds no account (see deleted_username_key).
DELETED_NAME = "[deleted user]"
EXPORT_FORMAT = 1


def deleted_username_key(user: User) -> str:
    """The unique key a deleted account keeps. "/" is outside the username alphabet (no
    registration can clash) and cannot be matched by /u/<username> (no URL reaches it)."""
    return f"deleted/{user.id}"


def deleted_email(user: User) -> str:
    """Unique and undeliverable: .invalid never resolves (RFC 6761), and the registration
    form refuses special-use domains, so no account can take it first."""
    return f"deleted-{user.id}@deleted.invalid"


def is_deleted(user: User) -> bool:
    return user.deleted_at is not None


# ---------------------------------------------------------------- export


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _permalink(post_id: int | None) -> str | None:
    return url_for("discussion.permalink", post_id=post_id, _external=True) if post_id else None


def _episode_url(slug: str | None) -> str | None:
    return url_for("episodes.show", slug=slug, _external=True) if slug else None


def _post_record(post: Post, episodes: dict[int, Episode], revisions: list[Revision], author_id: int) -> dict:
    """Every column of the post that is the author's (or public), plus its edit history.
    Left out: flag_count and flag_weight, which describe other readers' flags and show
    only in the moderation queue."""
    episode = episodes.get(post.episode_id)
    linked = episodes.get(post.linked_episode_id)
    return {
        "id": post.id,
        "kind": post.kind.value,
        "url": _permalink(post.id),
        "episode": {"slug": episode.slug, "number": episode.number, "title": episode.title,
                    "url": _episode_url(episode.slug)} if episode else None,
        "parent": {"id": post.parent_id, "url": _permalink(post.parent_id)} if post.parent_id else None,
        "root_id": post.root_id,
        "depth": post.depth,
        "status": post.status.value,
        "status_reason": post.status_reason,
        "created_at": _iso(post.created_at),
        "edited_at": _iso(post.edited_at),
        "score": post.score,
        "reply_count": post.reply_count,
        "locked": post.locked,
        "title": post.title,
        "body_source": post.body_source,
        "body_html": post.body_html,
        "paper": {"canonical_id": post.paper.canonical_id, "url": post.paper.url, "title": post.paper.title}
        if post.paper is not None else None,
        "moment_seconds": post.moment_seconds,
        "stage": post.stage,
        "stage_note": post.stage_note,
        "details": post.details,
        "answer": {"id": post.answer_id, "url": _permalink(post.answer_id)} if post.answer_id else None,
        "linked_episode": {"slug": linked.slug, "url": _episode_url(linked.slug)} if linked else None,
        "merged_into": {"id": post.merged_into_id, "url": _permalink(post.merged_into_id)}
        if post.merged_into_id else None,
        "appeal": {"note": post.appeal_note, "appealed_at": _iso(post.appealed_at),
                   "resolved_at": _iso(post.appeal_resolved_at)} if post.appealed_at else None,
        # Earlier sources, newest first; an edit by someone else is "a moderator", unnamed.
        "revisions": [{"created_at": _iso(r.created_at), "body_source": r.body_source,
                       "edited_by": "you" if r.editor_id == author_id else "a moderator"} for r in revisions],
    }


def _front_matter_value(value: Any) -> str:
    """JSON scalars are valid YAML: strings quoted and escaped, null, numbers."""
    return json.dumps(value, ensure_ascii=False)


def _markdown(record: dict) -> str:
    episode = record["episode"]
    fields = {
        "id": record["id"],
        "kind": record["kind"],
        "episode": episode["slug"] if episode else None,
        "url": record["url"],
        "parent": record["parent"]["url"] if record["parent"] else None,
        "status": record["status"],
        "created_at": record["created_at"],
        "edited_at": record["edited_at"],
    }
    if record["title"]:
        fields["title"] = record["title"]
    if record["paper"]:
        fields["paper"] = record["paper"]["canonical_id"]
    lines = ["---", *(f"{key}: {_front_matter_value(value)}" for key, value in fields.items()), "---", ""]
    return "\n".join(lines) + record["body_source"] + ("\n" if record["body_source"] else "")


def _notification_record(n: Notification) -> dict:
    """Replies and mentions quote someone else's post: only its id and link are exported."""
    quotes_someone = n.kind in (NotificationKind.reply, NotificationKind.mention, NotificationKind.watching)
    return {"kind": n.kind.value, "post_id": n.post_id, "post_url": _permalink(n.post_id),
            "message": None if quotes_someone else n.message,
            "created_at": _iso(n.created_at), "read_at": _iso(n.read_at), "emailed_at": _iso(n.emailed_at)}


def export_data(user: User) -> dict[str, Any]:
    """The user's rows as plain data: {"account": ..., "posts": [...]}. One query per table."""
    uid = user.id
    posts = list(db.session.scalars(select(Post).where(Post.author_id == uid).order_by(Post.id)))
    post_ids = [p.id for p in posts]
    revisions: dict[int, list[Revision]] = {}
    if post_ids:
        for r in db.session.scalars(select(Revision).where(Revision.post_id.in_(select(Post.id).where(
                Post.author_id == uid))).order_by(Revision.id.desc())):
            revisions.setdefault(r.post_id, []).append(r)
    visits = db.session.execute(select(ThreadVisit.visited_at, ThreadVisit.episode_id)
                                .where(ThreadVisit.user_id == uid).order_by(ThreadVisit.visited_at)).all()
    episode_ids = ({p.episode_id for p in posts} | {p.linked_episode_id for p in posts}
                   | {episode_id for _, episode_id in visits}) - {None}
    episodes = ({e.id: e for e in db.session.scalars(select(Episode).where(Episode.id.in_(episode_ids)))}
                if episode_ids else {})

    sessions = db.session.scalars(select(UserSession).where(UserSession.user_id == uid).order_by(UserSession.id))
    votes = db.session.scalars(select(Vote).where(Vote.user_id == uid).order_by(Vote.id))
    flags = db.session.scalars(select(Flag).where(Flag.user_id == uid).order_by(Flag.id))
    follows = db.session.execute(select(Follow.created_at, Person.id, Person.name).join(Person, Person.id == Follow.person_id)
                                 .where(Follow.user_id == uid).order_by(Follow.id)).all()
    notifications = db.session.scalars(select(Notification).where(Notification.user_id == uid).order_by(Notification.id))
    watches = db.session.scalars(select(Watch).where(Watch.user_id == uid).order_by(Watch.id))
    taken = db.session.scalars(select(ModerationAction).where(ModerationAction.moderator_id == uid)
                               .order_by(ModerationAction.id))
    about = db.session.scalars(select(ModerationAction).where(ModerationAction.target_user_id == uid)
                               .order_by(ModerationAction.id))
    addresses = db.session.scalars(select(EmailAddress).where(EmailAddress.user_id == uid).order_by(EmailAddress.id))
    verifications = db.session.scalars(select(Verification).where(Verification.user_id == uid)
                                       .order_by(Verification.id))

    account = {
        "format": EXPORT_FORMAT,
        "exported_at": _iso(utcnow()),
        "profile": {
            "id": uid, "username": user.username, "email": user.email, "display_name": user.display_name,
            "affiliation": user.affiliation, "bio_source": user.bio_source, "links": list(user.links or []),
            "role": user.role.value, "created_at": _iso(user.created_at),
            "url": url_for("accounts.profile", username=user.username, _external=True),
            "suspended_until": _iso(user.suspended_until), "suspension_reason": user.suspension_reason,
            "email_confirmed_at": _iso(user.email_confirmed_at),
            "orcid_id": user.orcid_id, "orcid_verified_at": _iso(user.orcid_verified_at),
        },
        # Addresses waiting for their link and institutional ones; what was verified, how, since when.
        "email_addresses": [{"email": a.email, "purpose": a.purpose.value, "created_at": _iso(a.created_at),
                             "confirmed_at": _iso(a.confirmed_at)} for a in addresses],
        "verifications": [{"kind": v.kind.value, "detail": v.detail, "verified_at": _iso(v.verified_at),
                           "expires_at": _iso(v.expires_at), "revoked_at": _iso(v.revoked_at)} for v in verifications],
        # The choice for every kind, defaults included: what the settings page shows.
        "email_notifications": {kind.value: email_mode(user, kind) for kind in EMAIL_DEFAULTS},
        "sessions": [{"device": device_label(s.user_agent), "user_agent": s.user_agent, "network": s.network,
                      "created_at": _iso(s.created_at), "last_seen_at": _iso(s.last_seen_at)} for s in sessions],
        "votes": [{"post_id": v.post_id, "post_url": _permalink(v.post_id), "value": v.value,
                   "created_at": _iso(v.created_at)} for v in votes],
        "flags": [{"post_id": f.post_id, "post_url": _permalink(f.post_id), "reason": f.reason.value, "note": f.note,
                   "created_at": _iso(f.created_at), "resolved_at": _iso(f.resolved_at)} for f in flags],
        "follows": [{"person_id": person_id, "name": name, "url": url_for("episodes.person", person_id=person_id,
                                                                         _external=True),
                     "created_at": _iso(created_at)} for created_at, person_id, name in follows],
        "watches": [{"episode_id": w.episode_id, "post_id": w.post_id, "paper_id": w.paper_id, "muted": w.muted,
                     "created_at": _iso(w.created_at)} for w in watches],
        "watch_own_threads": user.watch_own_threads,
        "thread_visits": [{"episode": episodes[episode_id].slug, "visited_at": _iso(visited_at)}
                          for visited_at, episode_id in visits if episode_id in episodes],
        "notifications": [_notification_record(n) for n in notifications],
        # As the public log shows them, less the names: what happened, to which post, why.
        "moderation_actions_taken": [{"action": a.action, "post_id": a.post_id, "post_url": _permalink(a.post_id),
                                      "reason": a.reason, "created_at": _iso(a.created_at)} for a in taken],
        "moderation_actions_about_you": [{"action": a.action, "post_id": a.post_id, "post_url": _permalink(a.post_id),
                                          "reason": a.reason, "created_at": _iso(a.created_at)} for a in about],
    }
    return {"account": account,
            "posts": [_post_record(p, episodes, revisions.get(p.id, []), uid) for p in posts]}


README = """GI Community: your data
=======================

account.json   your profile, email addresses and what they verified, notification
               settings, login sessions (browser, network, when), the votes you cast and
               flags you made (by post id and link), the guests you follow, your
               notifications, moderation records.
posts.json     every post you wrote (comments, paper links, questions, guest
               suggestions), whatever its status, with every field and earlier versions.
posts/         the same posts as Markdown files, one per post: front matter (kind,
               episode, link, status, dates), then the text as you wrote it.

Other people appear only as post ids and links: their text and addresses are theirs.
"""


def write_export(user: User, out: IO[bytes]) -> None:
    """The export as a ZIP written to `out` (a file object open for binary writing)."""
    data = export_data(user)
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("README.txt", README)
        archive.writestr("account.json", json.dumps(data["account"], indent=2, ensure_ascii=False))
        archive.writestr("posts.json", json.dumps(data["posts"], indent=2, ensure_ascii=False))
        for record in data["posts"]:
            archive.writestr(f"posts/{record['id']:07d}-{record['kind']}.md", _markdown(record))


def export_filename(user: User) -> str:
    return f"gi-community-{user.username}-{utcnow():%Y-%m-%d}.zip"


# ---------------------------------------------------------------- deletion


def delete_account(actor: User, password: str, *, remove_posts: bool) -> None:
    """Delete the actor's own account, confirmed by their password. Ends every session;
    the caller logs this browser out. remove_posts=False keeps the posts, shown under
    "[deleted user]"; True blanks them into tombstones (replies by others stay)."""
    if is_deleted(actor):
        raise DomainError("This account is already deleted.")
    try:
        confirmed = accounts.authenticate(actor.username, password or "")
    except DomainError:
        confirmed = None
    if confirmed is None or confirmed.id != actor.id:
        raise DomainError("That is not your current password; nothing was deleted.")
    uid = actor.id
    old_key = actor.username_key

    if remove_posts:
        _remove_posts(uid)
    _rename_in_notifications(uid, {actor.name, actor.username})
    db.session.execute(delete(Notification).where(Notification.user_id == uid))
    db.session.execute(delete(Follow).where(Follow.user_id == uid))
    db.session.execute(delete(Watch).where(Watch.user_id == uid))
    db.session.execute(delete(ThreadVisit).where(ThreadVisit.user_id == uid))
    # Addresses are personal; what they verified goes with them.
    db.session.execute(delete(Verification).where(Verification.user_id == uid))
    db.session.execute(delete(EmailAddress).where(EmailAddress.user_id == uid))
    # A guest's Person (the public record of their appearances) stays; the link to the account goes.
    db.session.execute(update(Person).where(Person.user_id == uid).values(user_id=None))
    end_all_sessions(actor)
    # Votes and flags stay attached to the anonymised row: scores and moderation history hold.

    actor.username = DELETED_NAME
    actor.username_key = deleted_username_key(actor)
    actor.email = actor.email_key = deleted_email(actor)
    actor.password_hash = "!deleted:" + secrets.token_hex(16)  # no password verifies against it
    actor.display_name = DELETED_NAME
    actor.affiliation = ""
    actor.bio_source = actor.bio_html = ""
    actor.links = []
    actor.orcid_id = actor.orcid_verified_at = None  # the iD is free to sign up again
    actor.role = Role.member  # no badge, and no moderator rights left on the row
    actor.verified_via, actor.verified_detail, actor.verified_since, actor.verified_until = None, "", None, None
    actor.email_prefs = {kind.value: "none" for kind in EMAIL_DEFAULTS}
    actor.deleted_at = utcnow()
    _reset_look_alike_keys(actor)
    db.session.flush()
    _unlink_mentions(old_key)
    db.session.flush()


# How messages written by services.discussion and services.questions go on after the
# actor's name ("Ada Lovelace replied: ..."): what follows the name, whatever it was then.
# Older messages, then services.watching.describe's verbs.
_AFTER_THE_NAME = (" replied: ", " mentioned you: ", " answered a question", " replied to ", " mentioned you",
                   " answered ", " asked you a question", " asked a question", " commented", " added a paper",
                   " suggested a guest")


def _rename_in_notifications(uid: int, current_names: set[str]) -> None:
    """Other people's notifications of what this account did begin with its name, as it
    was when they were written (display names change): "[deleted user]" takes its place."""
    rows = db.session.execute(select(Notification.id, Notification.message).where(
        Notification.actor_id == uid, Notification.message != "",
        Notification.kind.in_([NotificationKind.reply, NotificationKind.mention, NotificationKind.answer,
                               NotificationKind.question, NotificationKind.watching]))).all()
    renamed = []
    for notification_id, message in rows:
        new = None
        for name in sorted(current_names, key=len, reverse=True):
            if message.startswith(f"{name} "):
                new = DELETED_NAME + message[len(name):]
                break
        if new is None:
            cuts = [at for at in (message.find(marker) for marker in _AFTER_THE_NAME) if at > 0]
            new = DELETED_NAME + message[min(cuts):] if cuts else None
        if new is not None and new != message:
            renamed.append({"id": notification_id, "message": new[:500]})
    if renamed:
        db.session.execute(update(Notification), renamed)  # by primary key, one executemany


def _reset_look_alike_keys(user: User) -> None:
    """The look-alike keys of services.accounts (TR39 skeletons): the old names stop
    blocking anyone, and every deleted account holds the key of "[deleted user]" so that
    no live account can pass for a deleted one."""
    user.username_skeleton = ""
    user.display_name_skeleton = identity.name_key(DELETED_NAME)


def _remove_posts(uid: int) -> None:
    """The author's own delete for every post at once: the text and its history go; the
    rows stay as tombstones so that replies keep their place. A post moderators removed
    stays "removed" (the log and its placeholder keep saying why), with its text gone too."""
    mine = select(Post.id).where(Post.author_id == uid).scalar_subquery()
    # Notifications quoting these posts to others keep only the generic line (Notification.text).
    db.session.execute(update(Notification).where(
        Notification.post_id.in_(mine), Notification.kind.in_([NotificationKind.reply, NotificationKind.mention,
                                                               NotificationKind.watching])
    ).values(message=""), execution_options={"synchronize_session": False})
    db.session.execute(delete(Revision).where(Revision.post_id.in_(mine)),
                       execution_options={"synchronize_session": False})
    blank = {"body_source": "", "body_html": "", "title": None, "title_key": None, "details": None,
             "appeal_note": None}
    db.session.execute(update(Post).where(Post.author_id == uid, Post.status != PostStatus.removed)
                       .values(status=PostStatus.deleted, **blank), execution_options={"synchronize_session": False})
    db.session.execute(update(Post).where(Post.author_id == uid, Post.status == PostStatus.removed)
                       .values(**blank), execution_options={"synchronize_session": False})
    db.session.expire_all()


def _unlink_mentions(old_key: str) -> None:
    """Posts that mention @old_name linked to the profile; the name is free now (see
    DELETED_NAME), so they are rendered again and link to no one until someone takes it."""
    for post in db.session.scalars(select(Post).where(
            Post.body_source != "", func.lower(Post.body_source).contains(f"@{old_key}", autoescape=True))):
        post.body_html = render_body(post.body_source)[0]
