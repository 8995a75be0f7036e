"""Every state-changing route either bumps exactly the content versions of the pages it
changes, or is declared page-neutral here with the reason; and after every one of them,
every cached page served is the page a fresh rendering gives.

The routes come from app.url_map and the cached pages from the views carrying
`cached_for_anonymous` (as the page cache middleware finds them), so a new route fails
this test until it is classified, and a new cached page is checked without being named.
Each route is sent for real, with a valid form, by a role that may do it, on the shared
route-walk world (tests/security/world.py)."""

from __future__ import annotations

import io

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import pytest
from flask import url_for
from sqlalchemy import select, update

from community.extensions import cache, db
from community.models import ContentVersion, User
from community.models.base import utcnow
from community.services import accounts, discussion, emails, episodes, freshness, moderation, papers, people, questions
from community.services.freshness import EVERYTHING, LISTS
from tests.factories import Factories
from tests.oidc_provider import oidc_app_config, oidc_provider  # noqa: F401 (a fixture)
from tests.security.world import STATE_CHANGING, build_url, build_world, rules_with, snapshot, written

EPISODE, LISTS_ONLY, ALL = "the episode's page and the lists", "the lists", "every page"


@dataclass
class Case:
    role: str  # who sends it ("anonymous": no login)
    changes: str  # EPISODE, LISTS_ONLY or ALL
    form: Callable = lambda w, made: {}
    # Rows the request acts on, made fresh for it (so that earlier requests do not get in
    # its way); returns URL values (and anything `form` needs).
    make: Callable = lambda w: {}


def _comment_by(role: str, body: str = "A comment to act on."):
    return lambda w: {"post_id": discussion.create_post(w.users[role], episode=w.episode, body=body).id}


def _just_deleted_by(role: str):
    def make(w):
        post = discussion.create_post(w.users[role], episode=w.episode, body="Deleted, then undone.")
        discussion.delete_post(w.users[role], post)
        return {"post_id": post.id}
    return make


def _question(w):
    return {"post_id": questions.ask(w.users["author"], w.episode, "A fresh question for the guests?").id}


def _fictional_guest_transcript(w):
    """The guest's account moved to a fictional guest of the episode who has a (sample)
    transcript line: a correction may be attached to one's own words only."""
    from community.models import Appearance, AppearanceRole
    from community.services import episodes as episode_service, transcripts

    guest = w.users["guest"]
    for person in w.episode.guests:
        if person.user_id == guest.id:
            person.user_id = None
    db.session.flush()
    sam = episode_service.person("Sam Sample")
    sam.user_id = guest.id
    db.session.add(Appearance(episode=w.episode, person=sam, role=AppearanceRole.guest, position=9))
    db.session.flush()
    transcripts.add_revision(None, w.episode, "WEBVTT\n\n00:00:00.000 --> 00:00:04.000\n"
                                              "<v Sam Sample>A sample sentence, said in 2018.\n", "vtt")
    db.session.commit()
    return {"revision": str(w.episode.transcript_revision)}


def _two_questions(w):
    first = questions.ask(w.users["author"], w.episode, "Is this a duplicate question?")
    return {"post_id": first.id, "into": questions.ask(w.users["other"], w.episode, "The question it duplicates?").id}


def _flagged_by_member(w):
    post = discussion.create_post(w.users["author"], episode=w.episode, body="Flagged, then not.")
    moderation.flag(w.users["member"], post, moderation.FlagReason.spam)
    return {"post_id": post.id}


def _console_episode(published: bool) -> int:
    episode = episodes.save(None, None, title=f"A console episode ({'published' if published else 'draft'})")
    episodes.set_published(None, episode, published)
    return episode.id


def _fresh_account(w):
    """An account of its own: suspending the world's member would stop later requests."""
    return {"user_id": accounts.register(f"console{len(w.users)}x{utcnow().microsecond}",
                                         f"console{utcnow().microsecond}@example.org", Factories.PASSWORD).id}


def _person_without_account(w):
    return {"person_id": people.save(None, None, name=f"Linked Later {utcnow().microsecond}").id}


def _person_with_account(w):
    person = people.save(None, None, name=f"Unlinked Later {utcnow().microsecond}")
    people.link_user(None, person, w.users["researcher"])
    return {"person_id": person.id}


def _duplicate_person(w):
    return {"other": people.save(None, None, name=f"Kelvin Duplicate {utcnow().microsecond}").id}


def _member_with_orcid(w):
    from community.services import orcid

    orcid.link(w.users["member"], orcid.Identity("0000-0002-1825-0097"))
    return {}


CHANGES_PAGES: dict[str, Case] = {
    "discussion.comment": Case("member", EPISODE, lambda w, m: {"body": "A new comment on the episode."}),
    "discussion.reply": Case("member", EPISODE, lambda w, m: {"body": "A reply to the comment."}),
    "discussion.edit": Case("member", EPISODE, lambda w, m: {"body": "Edited words.", "submit": "Save"},
                            _comment_by("member")),
    "discussion.delete": Case("member", EPISODE, make=_comment_by("member")),
    "discussion.undelete": Case("member", EPISODE, make=_just_deleted_by("member")),
    # Moderators' shared lists show hidden posts: the revised text must reach them.
    "moderation.revise": Case("member", EPISODE, lambda w, m: {"body": "Revised, with the source."},
                              lambda w: _hidden_own_post(w)),
    "discussion.vote": Case("member", EPISODE, lambda w, m: {"up": "1"}),
    "papers.submit": Case("member", EPISODE, lambda w, m: {"link": "1706.03762", "title": "Attention Is All You Need",
                                                            "moment": "3:00", "note": ""}),
    # A link said to be a paper: its entry on the episode, and the papers' lists.
    "papers.set_kind": Case("member", EPISODE, lambda w, m: {"is_paper": "1"},
                            lambda w: {"post_id": papers.submit(w.users["member"], w.episode,
                                                                link="https://example.org/an-essay",
                                                                title="An essay").post.id}),
    "questions.ask": Case("member", EPISODE, lambda w, m: {"body": "What would you do differently now?"}),
    # A guest's correction of their own words: inline in the episode's transcript.
    "moments.correct": Case("guest", EPISODE, lambda w, m: {
        "correction": "I misspoke: it was 2019.", "anchor_revision": m["revision"], "anchor_start": "0",
        "anchor_end": "10"}, _fictional_guest_transcript),
    "questions.answer": Case("guest", EPISODE, lambda w, m: {"body": "Here is my answer."}, _question),
    "questions.on_air": Case("moderator", EPISODE, lambda w, m: {"episode": str(w.other_episode.id), "moment": "1:00"},
                             _question),
    "questions.decline": Case("moderator", EPISODE, lambda w, m: {"reason": "Out of scope"}, _question),
    "questions.merge": Case("moderator", EPISODE, lambda w, m: {"into": str(m["into"])}, _two_questions),
    "moderation.flag": Case("member", EPISODE, lambda w, m: {"reason": "spam", "note": ""}, _comment_by("author")),
    "moderation.unflag": Case("member", EPISODE, make=_flagged_by_member),
    "moderation.act": Case("moderator", EPISODE, lambda w, m: {"action": "remove", "reason": "Spam", "detail": ""},
                           _comment_by("author")),
    # The menu on a post: the same decision as the queue's, so the same pages change.
    "moderation.moderate": Case("moderator", EPISODE, lambda w, m: {"action": "hide", "reason": "Spam", "detail": ""},
                                _comment_by("author")),
    "moderation.bulk": Case("moderator", EPISODE,
                            lambda w, m: {"action": "hide", "reason": "Spam", "post_ids": [str(m["target"])]},
                            lambda w: {"target": discussion.create_post(w.users["author"], episode=w.episode,
                                                                       body="Hidden in bulk.").id}),
    "guests.suggest": Case("member", LISTS_ONLY, lambda w, m: {
        "name": "Yann LeCun", "affiliation": "NYU", "links": "", "why": "Energy-based models.", "papers": "",
        "disclosure": "neither"}),
    "guests.set_status": Case("moderator", LISTS_ONLY, lambda w, m: {"stage": "contacted", "note": "Emailed.",
                                                                      "episode": "0"}),
    # The name next to every post of the account, on every page.
    "accounts.edit_profile": Case("member", ALL, lambda w, m: {"display_name": "Renamed Member",
                                                               "affiliation": "Somewhere Else", "bio": "", "links": ""}),
    # The ORCID verification goes with the iD: the byline's badge, on every page.
    "orcid.unlink": Case("member", ALL, make=_member_with_orcid),
    "accounts.delete_account": Case("researcher", ALL, lambda w, m: {"password": Factories.PASSWORD,
                                                                     "posts": "keep"}),
    # The console: episodes and people show on every page (freshness.SHOWN).
    "admin.new_episode": Case("admin", ALL, lambda w, m: {"title": "A new episode", "number": "90"}),
    "admin.edit_episode": Case("admin", ALL, lambda w, m: {"title": "Kelvin Guu on retrieval, again", "number": "1"}),
    "admin.publish_episode": Case("admin", ALL, make=lambda w: {"episode_id": _console_episode(False)}),
    "admin.unpublish_episode": Case("admin", ALL, make=lambda w: {"episode_id": _console_episode(True)}),
    "admin.set_episode_people": Case("admin", EPISODE, lambda w, m: {"guests": "Kelvin Guu\nSarah Hong"}),
    # A transcript revision, or a speaker confirmed: segments show on the episode's pages
    # (freshness.SHOWN: a segment names no episode, so every page).
    "admin_transcripts.upload": Case("admin", ALL, lambda w, m: {"file": (io.BytesIO(
        b"WEBVTT\n\n00:00:00.000 --> 00:00:02.000\n<v Test Speaker>A corrected sample line.\n"), "t.vtt")}),
    "admin_transcripts.speakers": Case("admin", ALL, lambda w, m: {"revision": "1", "label-0": "Test Speaker",
                                                                    "speaker-0": str(w.person.id)}),
    "admin.new_person": Case("admin", ALL, lambda w, m: {"name": "Chelsea Finn", "affiliation": "Stanford"}),
    "admin.edit_person": Case("admin", ALL, lambda w, m: {"name": "Kelvin Guu", "affiliation": "Elsewhere"}),
    "admin.link_person": Case("admin", ALL, lambda w, m: {"username": "other_user"}, _person_without_account),
    "admin.unlink_person": Case("admin", ALL, make=_person_with_account),
    "admin.merge_person": Case("admin", ALL, lambda w, m: {"other": str(m["other"])}, _duplicate_person),
    "admin.set_role": Case("admin", ALL, lambda w, m: {"role": "researcher"}, _fresh_account),
    # Linking the account to a person of the show: the Guest badge next to its posts, on every page.
    "invitations.accept": Case("member", ALL, make=lambda w: {"token": w.invitation_token}),
    # A verified researcher: the badge and "verified · domain" next to every post of the account.
    "verification.confirm": Case("member", ALL, make=lambda w: {"token": emails.make_token(
        emails.add_institutional(w.users["member"], "member.fresh@cs.stanford.edu"))}),
    "verification.researcher": Case("moderator", ALL, lambda w, m: {"grant": "1", "note": "Known researcher"},
                                    lambda w: {"username": w.users["member"].username}),
}

# Routes that write nothing a cached page shows, and why. They must bump no version.
PAGE_NEUTRAL: dict[str, str] = {
    "accounts.login": "a login session and the login budget: no page shows who is logged in",
    "accounts.logout": "ends a login session",
    "accounts.register": "a new account: it has written nothing yet",
    "accounts.reset_request": "mails a reset link (and counts the attempt)",
    "accounts.reset": "a password hash",
    "accounts.change_password": "a password hash, and the account's other sessions end",
    "accounts.end_session": "a login session",
    "accounts.end_other_sessions": "login sessions",
    "accounts.export_data": "reads the account's data into a ZIP; writes nothing",
    "discussion.preview": "renders a preview of what is typed; writes nothing",
    "drafts.save": "a draft: only its writer sees it, filled into their forms, never on a cached page",
    "episodes.follow": "follows show on the person's page and in notifications, neither cached",
    "moderation.appeal": "the appeal is read on the moderation queue and the post's permalink, neither cached",
    "notifications.read_all": "notifications are personal pages, never cached",
    "notifications.settings": "e-mail preferences",
    "notifications.unsubscribe": "e-mail preferences",
    "admin.suspension": "suspended_until and the moderation log; no cached page shows either",
    "admin.change_setting": "policy read by writes (limits, weights, thresholds); no page shows it",
    "invitations.new": "an invitation is seen in the console and by whoever holds its link, neither cached",
    "invitations.revoke": "the same: the console and the link's own page",
    "verification.change_account_address": "an address waiting for its link: no page shows it",
    "verification.add_institutional": "an address waiting for its link: no page shows it",
    "verification.resend": "mails the link again (the address waits as before)",
    "verification.resend_address": "mails the link again (the address waits as before)",
    "verification.remove_address": "an address that verified nothing (one that did changes users.verified_*, "
                                   "which every page shows)",
    "verification.domains": "a research lab's domain: it verifies addresses confirmed later; no page lists it",
    "verification.remove_domain": "a research lab's domain: verifications it gave stay until they lapse",
    "admin_feeds.add": "a feed source and an admin-log row, shown only on /admin/feeds (never cached)",
    "admin_feeds.deactivate": "a feed source and an admin-log row, shown only on /admin/feeds (never cached)",
    # The episodes a refresh imports are writes to `episodes`/`people`/`appearances`, which bump
    # every page through the listener like any other (tests/views/test_admin_feeds.py shows it).
    "admin_feeds.refresh": "the source's last result, shown only on /admin/feeds; its imports bump pages themselves",
    "orcid.start": "starts an ORCID sign-in in this browser's session (off to the provider)",
    "orcid.link": "starts linking an ORCID iD in this browser's session (off to the provider)",
    "orcid.new_account": "a new account (after an ORCID sign-in): it has written nothing yet",
    "admin_jobs.retry": "queues a failed job again (and an admin-log row): neither shows on a cached page",
}

# Routes that end what later ones need (the session, the account) go last.
LAST = ("accounts.logout", "accounts.change_password", "accounts.reset", "accounts.end_session",
        "accounts.end_other_sessions", "accounts.delete_account")

NEUTRAL_ROLES = {"accounts.login": "anonymous", "accounts.register": "anonymous", "accounts.reset_request": "anonymous",
                 "accounts.reset": "anonymous", "moderation.appeal": "member", "verification.domains": "admin",
                 "verification.remove_domain": "admin", "admin.suspension": "admin", "admin.change_setting": "admin",
                 "admin_feeds.add": "admin", "admin_feeds.deactivate": "admin", "admin_feeds.refresh": "admin",
                 "orcid.start": "anonymous", "orcid.new_account": "anonymous",
                 "invitations.new": "admin", "invitations.revoke": "admin", "admin_jobs.retry": "admin"}
NEUTRAL_FORMS = {
    "admin_feeds.add": lambda w: {"url": "http://127.0.0.1:9/another-feed.rss"},
    "accounts.login": lambda w: {"login": w.users["other"].username, "password": Factories.PASSWORD},
    "accounts.register": lambda w: {"username": "newcomer", "email": "newcomer@example.org",
                                    "password": "a completely different passphrase",
                                    "confirm": "a completely different passphrase"},
    "accounts.reset_request": lambda w: {"email": w.users["member"].email},
    "accounts.reset": lambda w: {"password": "a completely different passphrase",
                                 "confirm": "a completely different passphrase"},
    "accounts.change_password": lambda w: {"current": Factories.PASSWORD, "password": "a completely different passphrase",
                                           "confirm": "a completely different passphrase"},
    "discussion.preview": lambda w: {"body": "*preview*"},
    "drafts.save": lambda w: {"draft_form": f"/episodes/{w.episode.slug}/comments", "draft_page": "/", "body": "half a thought"},
    "episodes.follow": lambda w: {"on": "1"},
    "moderation.appeal": lambda w: {"text": "Please look again."},
    "notifications.settings": lambda w: {"reply": "none", "mention": "none"},
    "admin.suspension": lambda w: {"action": "suspend", "reason": "Spam", "days": "3"},
    "admin.change_setting": lambda w: {"FLAG_THRESHOLD-value": "4"},
    "invitations.new": lambda w: {"person": str(w.person.id), "email": ""},
    "verification.change_account_address": lambda w: {"new_email": "member.new@example.org"},
    "verification.add_institutional": lambda w: {"institutional_email": "member.second@mit.edu"},
    "verification.domains": lambda w: {"domain": "newlab.example.com", "name": "A new lab"},
}


def _hidden_own_post(w):
    post = discussion.create_post(w.users["member"], episode=w.episode, body="Hidden, then appealed.")
    moderation.act(w.users["moderator"], post, "hide", "Spam")
    return {"post_id": post.id}


NEUTRAL_MAKE = {"moderation.appeal": _hidden_own_post, "admin.suspension": _fresh_account}


@pytest.fixture
def app_config(oidc_provider):
    # ORCID sign-in set up against a real local provider, so its routes do what they do.
    return {"PROPAGATE_EXCEPTIONS": False, **oidc_app_config(oidc_provider)}


@pytest.fixture
def world(factories):
    world = build_world(factories)
    # Old accounts: the new-account posting limits are another test's business.
    for user in world.users.values():
        user.created_at = utcnow() - timedelta(days=30)
    db.session.commit()
    return world


def cached_pages(app, world) -> list[str]:
    """Every page the anonymous cache keeps, for every episode of the world."""
    urls = []
    with app.test_request_context():
        for endpoint, view in sorted(app.view_functions.items()):
            if not hasattr(view, "page_cache_keys"):
                continue
            rule = next(app.url_map.iter_rules(endpoint))
            if rule.arguments == {"slug"}:
                urls += [url_for(endpoint, slug=e.slug) for e in (world.episode, world.other_episode)]
            else:
                assert not rule.arguments, f"{endpoint}: teach cached_pages() its URL"
                urls.append(url_for(endpoint))
    return urls


TIMES = re.compile(r"(<time[^>]*>)[^<]*(</time>)")


def pages(app, urls) -> dict[str, str]:
    got = {}
    for url in urls:
        response = app.test_client().get(url)  # cookie-less: through the middleware when cached
        assert response.status_code == 200, url
        got[url] = TIMES.sub(r"\1\2", response.get_data(as_text=True))  # "just now" may have become "a minute ago"
    return got


def fresh_pages(app, urls) -> dict[str, str]:
    cache.clear()
    for name in ("recent_pages", "recent_sections", "recent_frames"):
        if name in app.extensions:
            app.extensions[name].items.clear()
    return pages(app, urls)


def content_versions() -> dict[str, int]:
    db.session.commit()
    found = dict(db.session.execute(select(ContentVersion.key, ContentVersion.version)).all())
    db.session.commit()
    return found


def expected_bumps(case: Case, world) -> set[str]:
    return {EPISODE: {LISTS, freshness.episode_key(world.episode.slug)}, LISTS_ONLY: {LISTS}, ALL: {EVERYTHING}}[
        case.changes]


def test_every_state_changing_route_is_classified(app):
    endpoints = {rule.endpoint for rule in rules_with(app, STATE_CHANGING)}
    unclassified = sorted(endpoints - CHANGES_PAGES.keys() - PAGE_NEUTRAL.keys())
    assert not unclassified, ("classify these routes in tests/views/test_invalidation.py, as changing pages "
                              f"(CHANGES_PAGES) or page-neutral with the reason (PAGE_NEUTRAL): {unclassified}")
    gone = sorted((CHANGES_PAGES.keys() | PAGE_NEUTRAL.keys()) - endpoints)
    assert not gone, f"no such routes any more: {gone}"
    assert not CHANGES_PAGES.keys() & PAGE_NEUTRAL.keys()


def test_every_write_bumps_exactly_the_versions_of_what_it_changes(app, world, login):
    urls = cached_pages(app, world)
    assert any("/episodes/" in url for url in urls) and "/" in urls
    rules = sorted(rules_with(app, STATE_CHANGING), key=lambda r: (r.endpoint in LAST, r.endpoint == LAST[-1],
                                                                   r.endpoint))
    problems = []
    for rule in rules:
        endpoint = rule.endpoint
        case = CHANGES_PAGES.get(endpoint)
        role = case.role if case else NEUTRAL_ROLES.get(endpoint, "member")
        made = (case.make if case else NEUTRAL_MAKE.get(endpoint, lambda w: {}))(world)
        db.session.commit()
        form = case.form(world, made) if case else NEUTRAL_FORMS.get(endpoint, lambda w: {})(world)
        browser = app.test_client() if role == "anonymous" else login(world.users[role], the_client=app.test_client())
        url = build_url(app, world, rule, role, **{k: v for k, v in made.items() if k in rule.arguments})

        before_pages, before_versions, before_rows = pages(app, urls), content_versions(), snapshot()
        for method in sorted(rule.methods & STATE_CHANGING):
            response = getattr(browser, method.lower())(url, data=form)
            where = f"{method} {url} [{endpoint}] as {role}"
            if response.status_code >= 400:
                problems.append(f"{where}: {response.status_code}, not a request that may be done")
        after_rows = snapshot()
        served, bumped = pages(app, urls), content_versions()
        bumped = {k for k, v in bumped.items() if v != before_versions.get(k, 0)}
        fresh = fresh_pages(app, urls)
        stale = sorted(u for u in urls if served[u] != fresh[u])
        if stale:
            problems.append(f"{where}: stale cached pages {stale} (bumped {sorted(bumped)})")
        if case is None:
            changed = sorted(u for u in urls if fresh[u] != before_pages[u])
            if bumped or changed:
                problems.append(f"{where}: declared page-neutral, but bumped {sorted(bumped)} and changed {changed}")
        else:
            if not written(before_rows, after_rows):
                problems.append(f"{where}: wrote nothing (the case does not really do it)")
            if bumped != expected_bumps(case, world):
                problems.append(f"{where}: bumped {sorted(bumped)}, expected {sorted(expected_bumps(case, world))} "
                                f"({case.changes})")
        # A password route that worked changed the password: put it back for the next login.
        db.session.execute(update(User).where(User.id.in_([u.id for u in world.users.values()]))
                           .values(password_hash=Factories._password_hash))
        db.session.commit()
    assert not problems, "\n".join(problems)


def test_a_rolled_back_write_bumps_nothing(app, world):
    before = content_versions()
    discussion.create_post(world.users["member"], episode=world.episode, body="Never committed.")
    db.session.flush()
    db.session.rollback()
    db.session.commit()
    assert content_versions() == before


def test_bulk_writes_bump_everything(app, world):
    """A transaction touching more than freshness.MANY rows (a re-render of every post, an
    import) bumps everything rather than listing each page."""
    from community.models import Post

    before = content_versions()
    db.session.execute(update(Post).values(score=Post.score))  # no WHERE: every post
    db.session.commit()
    after = content_versions()
    assert after[EVERYTHING] == before.get(EVERYTHING, 0) + 1 and after.get(LISTS) == before.get(LISTS)


def test_the_listener_costs_no_query_on_reads_and_one_lookup_per_write(app, world, count_queries):
    """Reading changes nothing; a vote is looked up through its post once, at commit."""
    with count_queries() as q:
        db.session.scalars(select(User)).all()
        db.session.commit()
    assert q.count == 1
    with count_queries() as q:
        discussion.set_vote(world.users["member"], world.comment, True)
        db.session.commit()
    # insert, score, score read; then at commit: the episode's slug, and two versions.
    assert q.count <= 6, q.statements
