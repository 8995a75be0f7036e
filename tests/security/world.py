"""A small, complete world for the route walks: one of every kind of row a URL can name.

Built through the factories and the services (the same code paths the app uses), so every
URL converter of every rule can be given a real id, slug or token. Shared by the CSRF
walk, the access matrix and the input-limit tests.
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import select

from community.extensions import db
from community.models import (
    AddressPurpose, Base, EmailAddress, Job, JobStatus, Notification, NotificationKind, Person, Post, ResearchDomain,
    Role, User,
)
from community.models.base import utcnow

# Every role the access matrix knows; "suspended" is a member suspended for a week; "host"
# runs the show in the console.
ROLES = ("anonymous", "member", "researcher", "guest", "host", "moderator", "admin", "suspended")
STATE_CHANGING = {"POST", "PUT", "PATCH", "DELETE"}


@dataclass
class World:
    users: dict[str, User]            # by role name (no "anonymous"); plus "author", "other"
    episode: object                   # episode 1: guest "Kelvin Guu" linked to users["guest"]
    other_episode: object             # episode 2: another guest, linked to users["other_guest"]
    person: Person
    comment: Post                     # by users["author"] on episode 1
    reply: Post                       # by users["other"], a reply to `comment`
    question: Post                    # by users["author"] on episode 1
    other_question: Post              # by users["author"] on episode 2
    paper: Post                       # paper entry on episode 1 by users["author"]
    suggestion: Post                  # by users["author"]
    invitation: object = None         # a pending invitation, for a person with no account yet
    invitation_token: str = ""        # its link's token (only its hash is stored)
    own_posts: dict[str, Post] = field(default_factory=dict)          # a comment per role user
    notifications: dict[str, Notification] = field(default_factory=dict)  # one per role user
    addresses: dict[str, EmailAddress] = field(default_factory=dict)  # an institutional address waiting, per role user
    lab_domain: ResearchDomain | None = None  # a research lab's domain an admin added
    feed_source: object = None        # a feed at a local port nothing listens on: a refresh records its error
    failed_job: Job | None = None     # a mail job that used up its attempts (/admin/jobs retries it)

    def user(self, role: str) -> User | None:
        return None if role == "anonymous" else self.users[role]


def build_world(factories) -> World:
    from community.services import episodes, guests, invitations, notifications, papers, questions, transcripts

    users = {role: factories.user(f"{role}_user", role=Role.member if role == "suspended" else Role(role))
             for role in ROLES if role != "anonymous"}
    users["author"] = factories.user("author_user")
    users["other"] = factories.user("other_user")
    users["other_guest"] = factories.user("sarah_guest", role=Role.guest)
    db.session.commit()

    episode = factories.episode(1, "Kelvin Guu on retrieval", guests=[("Kelvin Guu", "Google AI")])
    other_episode = factories.episode(2, "Sarah Hong on rendering", guests=[("Sarah Hong", "Latent Space")])
    person = db.session.scalar(select(Person).where(Person.name == "Kelvin Guu"))
    person.user_id = users["guest"].id
    db.session.scalar(select(Person).where(Person.name == "Sarah Hong")).user_id = users["other_guest"].id
    db.session.commit()

    comment = factories.comment(users["author"], episode, body="A spicy take about retrieval benchmarks.")
    reply = factories.comment(users["other"], episode, parent=comment, body="I disagree, politely.")
    question = questions.ask(users["author"], episode, "How is the retriever trained without labels?")
    other_question = questions.ask(users["author"], other_episode, "What about rendering at scale?")
    paper = papers.submit(users["author"], episode, link="2005.11401", title="Retrieval-Augmented Generation",
                          note="The paper discussed at 12:00.").post
    suggestion = guests.suggest(users["author"], name="Chelsea Finn", affiliation="Stanford", links=[],
                                why="Meta-learning and robots.", papers=[], disclosure="neither").post
    # A transcript (a fictional speaker, not the guest) so the transcript pages have something to show.
    transcripts.add_revision(None, episode, "WEBVTT\n\n00:00:00.000 --> 00:00:03.000\n<v Test Speaker>A sample line.\n",
                             "vtt")
    db.session.commit()

    invitation, link = invitations.create(users["admin"], episodes.person("Ada Invitee"), None,
                                          lambda token: f"/invite/{token}")
    from community.models import FeedSource

    feed_source = FeedSource(url="http://127.0.0.1:9/feed.rss", last_counts={})
    db.session.add(feed_source)
    db.session.commit()
    world = World(users=users, episode=episode, other_episode=other_episode, person=person, comment=comment,
                  reply=reply, question=question, other_question=other_question, paper=paper,
                  suggestion=suggestion, feed_source=feed_source, invitation=invitation,
                  invitation_token=link.rsplit("/", 1)[1])
    for role in ROLES:
        if role == "anonymous":
            continue
        user = users[role]
        world.own_posts[role] = factories.comment(user, episode, body=f"My own comment, as {role}.")
        notifications.notify([user], NotificationKind.reply, post=reply, actor=users["other"],
                             message=f"A reply for {role}", event_key=f"world:{role}")
    # Suspended last: the suspended user's older posts and notifications predate it, as in life.
    users["suspended"].suspended_until = utcnow() + timedelta(days=7)
    users["suspended"].suspension_reason = "Spam"
    db.session.commit()
    for role in ROLES:
        if role != "anonymous":
            world.addresses[role] = EmailAddress(user_id=users[role].id, email=f"{role}@cs.stanford.edu",
                                                 email_key=f"{role}@cs.stanford.edu",
                                                 purpose=AddressPurpose.institutional)
            db.session.add(world.addresses[role])
    world.lab_domain = ResearchDomain(domain="lab.example.org", name="An example lab", added_by_id=users["admin"].id)
    db.session.add(world.lab_domain)
    db.session.commit()
    for role in ROLES:
        if role != "anonymous":
            world.notifications[role] = db.session.scalar(select(Notification).where(
                Notification.user_id == users[role].id, Notification.event_key == f"world:{role}"))
    world.failed_job = Job(name="mail.send", args={"to": "a@example.org", "subject": "s", "text": "t"},
                           status=JobStatus.failed, attempts=5, max_attempts=5, last_error="SMTPDataError: 550")
    db.session.add(world.failed_job)
    db.session.commit()
    return world


class Unbuildable(Exception):
    """A rule has a URL variable this module does not know how to fill."""


def url_values(world: World, rule, role: str) -> dict:
    """Real values for every variable of `rule`, as `role` would use them: its own post for
    edit/delete/appeal (so that ownership checks would pass), its own notification, the
    question for question routes, the suggestion for suggestion routes."""
    from community.services import accounts, emails, notifications

    endpoint = rule.endpoint
    actor = world.user(role) or world.users["member"]
    values = {}
    for name in rule.arguments:
        if name == "slug":
            values[name] = world.episode.slug
        elif name == "post_id":
            if endpoint.startswith("questions."):
                values[name] = world.question.id
            elif endpoint.startswith("guests."):
                values[name] = world.suggestion.id
            elif endpoint in ("discussion.edit", "discussion.delete", "moderation.appeal", "moderation.revise") and role in world.own_posts:
                values[name] = world.own_posts[role].id
            else:
                values[name] = world.comment.id
        elif name == "person_id":
            values[name] = world.person.id
        elif name == "paper_id":
            values[name] = world.paper.paper_id
        elif name == "source_id":
            values[name] = world.feed_source.id
        elif name == "episode_id":
            values[name] = world.episode.id
        elif name == "user_id":
            values[name] = world.users["member"].id
        elif name == "name" and endpoint == "admin.change_setting":
            values[name] = "FLAG_THRESHOLD"
        elif name == "notification_id":
            values[name] = (world.notifications.get(role) or world.notifications["member"]).id
        elif name == "token" and endpoint == "accounts.reset":
            values[name] = accounts.make_reset_token(actor)
        elif name == "token" and endpoint == "notifications.unsubscribe":
            values[name] = notifications.unsubscribe_token(actor, NotificationKind.reply)
        elif name == "token" and endpoint.startswith("invitations."):
            values[name] = world.invitation_token
        elif name == "invitation_id":
            values[name] = world.invitation.id
        elif name == "token" and endpoint == "verification.confirm":
            values[name] = emails.make_token(world.addresses[role if role in world.addresses else "member"])
        elif name == "address_id":
            values[name] = world.addresses[role if role in world.addresses else "member"].id
        elif name == "domain_id":
            values[name] = world.lab_domain.id
        elif name == "job_id":
            values[name] = world.failed_job.id
        elif name == "username":
            values[name] = actor.username
        elif name == "page":  # a sitemap page
            values[name] = 1
        elif name == "canonical_id":
            values[name] = world.paper.paper.canonical_id
        elif name == "session_id":
            # The actor's own first session (ending it is theirs to do).
            from community.models import UserSession

            values[name] = db.session.scalar(
                select(UserSession.id).where(UserSession.user_id == actor.id).order_by(UserSession.id)) or 0
        elif name == "filename" and endpoint == "static":
            values[name] = "css/site.css"
        else:
            raise Unbuildable(f"{rule.rule} ({endpoint}): no value for <{name}>")
    return values


def build_url(app, world: World, rule, role: str, **overrides) -> str:
    from flask import url_for

    values = url_values(world, rule, role) | overrides
    with app.test_request_context():
        return url_for(rule.endpoint, **values)


def rules_with(app, methods: set[str]) -> list:
    """Every url_map rule accepting one of `methods`, in a stable order."""
    return sorted((r for r in app.url_map.iter_rules() if r.methods & methods), key=lambda r: (r.rule, r.endpoint))


def snapshot() -> dict[str, list[tuple]]:
    """Every row of every table, as sorted tuples of strings: equal snapshots mean nothing
    was written, changed or deleted in between."""
    db.session.commit()  # end the test's own transaction: read what other connections wrote
    tables = {}
    for table in Base.metadata.sorted_tables:
        rows = db.session.execute(select(table)).all()
        tables[table.name] = sorted(tuple(repr(value) for value in row) for row in rows)
    db.session.commit()
    return tables


def counts(snap: dict[str, list[tuple]]) -> dict[str, int]:
    return {name: len(rows) for name, rows in snap.items()}


def diff(before: dict[str, list[tuple]], after: dict[str, list[tuple]]) -> str:
    """A short description of what changed between two snapshots ("" when nothing did)."""
    changes = []
    for name in sorted(set(before) | set(after)):
        old, new = set(before.get(name, [])), set(after.get(name, []))
        if old != new:
            changes.append(f"{name}: +{len(new - old)} -{len(old - new)} rows")
    return "; ".join(changes)


# Bookkeeping, not content: re-rendering the episode page for a refused form records the
# visit (for "new since your last visit"), and every attempt counts against its rate
# limit (counters live in the database when there is no Redis). A refused compose form keeps
# the sender's words (a logged-out browser's as a pending submission, a writer's as a draft):
# they grant nothing and are shown to nobody else (issue 21).
READ_BOOKKEEPING = ("thread_visits", "rate_counters", "pending_submissions", "drafts")


def written(before: dict[str, list[tuple]], after: dict[str, list[tuple]]) -> str:
    """diff() of everything but the bookkeeping of reads: what a request really wrote."""
    return diff(*({k: v for k, v in snap.items() if k not in READ_BOOKKEEPING} for snap in (before, after)))


def send(client, method: str, url: str, **kwargs):
    """client.<method>(url) -> (status, response or None, error text). An exception that escapes
    the app (an error handler that itself fails) is what a browser sees as a bare 500."""
    try:
        response = getattr(client, method.lower())(url, **kwargs) if method.lower() in (
            "get", "post", "put", "patch", "delete") else client.open(url, method=method, **kwargs)
    except Exception as error:  # noqa: BLE001 - reported, not hidden
        db.session.rollback()
        frames = [line for line in traceback.format_exc().splitlines() if "/community/" in line or "/templates/" in line]
        return 500, None, f"unhandled {type(error).__name__}: {error} [{' | '.join(f.strip() for f in frames[-3:])}]"
    return response.status_code, response, ""


__all__ = ["ROLES", "STATE_CHANGING", "Unbuildable", "World", "build_url", "build_world", "counts", "diff",
           "rules_with", "send", "snapshot", "url_values", "written"]
