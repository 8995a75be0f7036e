"""flask --app community <command>: operator commands."""

from __future__ import annotations

import sys

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy import select

from community import feed_parser, job_queue
from community import transcripts as transcript_formats
from community.extensions import db
from community.models import Episode, FeedSource, Person, Role
from community.seed import bench as bench_seed, demo as demo_seed
from community.services import (
    DomainError, accounts, backup, discussion, episodes, feeds, notifications, papers, people, search, sessions,
    transcripts,
)

users_cli = AppGroup("users", help="Create users and change their roles.")
ROLE_CHOICE = click.Choice([role.value for role in Role])


@users_cli.command("create")
@click.argument("username")
@click.option("--email", required=True)
@click.option("--role", type=ROLE_CHOICE, default=Role.member.value, show_default=True)
@click.option("--password", help="For scripts; asked for (hidden) when left out.")
def create_user(username: str, email: str, role: str, password: str | None) -> None:
    """Create an account."""
    if password is None:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = accounts.register(username, email, password, role=Role(role), confirmed=True)  # the operator vouches
    except DomainError as error:
        raise click.ClickException(str(error)) from None
    db.session.commit()
    click.echo(f"created {user.username} ({user.role.value})")


@users_cli.command("set-role")
@click.argument("username")
@click.argument("role", type=ROLE_CHOICE)
def set_role(username: str, role: str) -> None:
    """Give an existing account a role."""
    user = accounts.find_by_username(username)
    if user is None:
        raise click.ClickException(f"no user named {username}")
    accounts.set_role(None, user, Role(role))
    db.session.commit()
    click.echo(f"{user.username} is now {role}")


def _actor(username: str | None):
    """--as USERNAME: whose name the admin log shows (left out: the command line)."""
    if username is None:
        return None
    user = accounts.find_by_username(username)
    if user is None:
        raise click.ClickException(f"no user named {username}")
    return user


def _console(operation) -> None:
    """Run one console operation and commit, or say in one line why it was refused."""
    try:
        message = operation()
    except DomainError as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from None
    db.session.commit()
    click.echo(message)


AS_OPTION = click.option("--as", "as_user", metavar="USERNAME", help="Log the change as this account.")
episodes_cli = AppGroup("episodes", help="Episodes, as the console changes them (each change is in the admin log).")


def _episode(slug: str):
    episode = episodes.get_by_slug(slug, include_unpublished=True)
    if episode is None:
        raise click.ClickException(f"no episode with the slug {slug}")
    return episode


@episodes_cli.command("set-guests")
@click.argument("slug")
@click.option("--guest", "guests", multiple=True, metavar="NAME", help="In order; repeat for each guest.")
@click.option("--host", "hosts", multiple=True, metavar="NAME")
@click.option("--cohost", "cohosts", multiple=True, metavar="NAME")
@AS_OPTION
def set_guests(slug: str, guests: tuple[str], hosts: tuple[str], cohosts: tuple[str], as_user: str | None) -> None:
    """Set who was on an episode (people not known yet are added)."""
    episode, actor = _episode(slug), _actor(as_user)
    _console(lambda: (f"{slug}: guests {', '.join(guests) or 'none'}; hosts {', '.join(hosts) or 'none'}"
                      + (f"; co-hosts {', '.join(cohosts)}" if cohosts else "")
                      + ("" if episodes.set_appearances(actor, episode, list(guests), list(hosts), list(cohosts),
                                                        create_missing=True) else " (unchanged)")))


@episodes_cli.command("publish")
@click.argument("slug")
@AS_OPTION
def publish(slug: str, as_user: str | None) -> None:
    episode, actor = _episode(slug), _actor(as_user)
    _console(lambda: f"{slug} published" if episodes.set_published(actor, episode, True) else f"{slug} was published")


@episodes_cli.command("unpublish")
@click.argument("slug")
@AS_OPTION
def unpublish(slug: str, as_user: str | None) -> None:
    episode, actor = _episode(slug), _actor(as_user)
    _console(lambda: f"{slug} unpublished" if episodes.set_published(actor, episode, False)
             else f"{slug} was unpublished")


people_cli = AppGroup("people", help="People on the show (each change is in the admin log).")


def _person(reference: str):
    """A person by number, or by name."""
    if reference.isdigit():
        found = db.session.get(Person, int(reference))
    else:
        found = next(iter(episodes.find_people([reference], create_missing=False)), None) if reference.strip() else None
    if found is None:
        raise click.ClickException(f"no person {reference}")
    return found


@people_cli.command("link-user")
@click.argument("person")
@click.argument("username")
@AS_OPTION
def link_user(person: str, username: str, as_user: str | None) -> None:
    """Link PERSON (number or name) to the account USERNAME."""
    actor = _actor(as_user)
    user = accounts.find_by_username(username)
    if user is None:
        raise click.ClickException(f"no user named {username}")
    try:
        found = _person(person)
    except DomainError as error:
        raise click.ClickException(str(error)) from None
    _console(lambda: f"{found.name} is linked to {user.username}" if people.link_user(actor, found, user)
             else f"{found.name} was already linked to {user.username}")


@people_cli.command("merge")
@click.argument("keep_id", type=int)
@click.argument("other_id", type=int)
@AS_OPTION
def merge_people(keep_id: int, other_id: int, as_user: str | None) -> None:
    """Merge person OTHER_ID into KEEP_ID (the same human): episodes, followers and account move."""
    actor = _actor(as_user)
    keep, other = _person(str(keep_id)), _person(str(other_id))
    name = other.name
    _console(lambda: f"merged {name} ({other_id}) into {people.merge(actor, keep, other).name} ({keep_id})")


@click.command("import-feed")
@click.argument("source")
def import_feed(source: str) -> None:
    """Create or update episodes from a podcast RSS/Atom feed (URL or file). Idempotent."""
    try:
        feed = feed_parser.parse_feed_bytes(feed_parser.load_source(source))
    except feed_parser.FeedError as error:
        raise click.ClickException(str(error)) from None
    # The bar draws only on a terminal; in logs and CI the summary line is what counts.
    with click.progressbar(length=len(feed.items), label=f"Importing {feed.title or source}",
                           file=sys.stderr) as bar:
        report = feeds.import_feed(feed, progress=lambda item: bar.update(1))
    db.session.commit()
    click.echo(report.summary())
    for line in report.details():
        click.echo(f"  {line}")


feeds_cli = AppGroup("feeds", help="The podcast feeds episodes are imported from (also at /admin/feeds).")


@feeds_cli.command("add")
@click.argument("url")
def feeds_add(url: str) -> None:
    """Add a feed URL to refresh (hourly with the timer, or `flask feeds refresh`)."""
    try:
        source = feeds.add_source(None, url)
    except DomainError as error:
        raise click.ClickException(str(error)) from None
    db.session.commit()
    click.echo(f"added feed {source.id}: {source.url}")


@feeds_cli.command("refresh")
def feeds_refresh() -> None:
    """Refresh every active feed (conditional GET: an unchanged feed is not downloaded again).
    Each result, failures included, is kept on the feed and shown at /admin/feeds; the
    command exits non-zero when any feed failed."""
    ids = [source.id for source in feeds.active_sources()]
    if not ids:
        click.echo("no active feeds: add one with `flask feeds add URL`")
        return
    failed = 0
    for source_id in ids:
        source = db.session.get(FeedSource, source_id)
        try:
            feeds.refresh(source)
            db.session.commit()
        except Exception as error:  # noqa: BLE001 - one broken import must not stop the other feeds
            current_app.logger.exception("importing feed %s failed", source_id)
            db.session.rollback()  # nothing of the half-done import stays
            source = db.session.get(FeedSource, source_id)
            feeds.record_failure(source, f"import failed: {type(error).__name__}: {error}")
            db.session.commit()
        failed += source.last_error is not None
        counts = source.last_counts.get("summary", "") if source.last_status == "imported" else ""
        click.echo(f"{source.url}: {source.last_status}" + (f": {counts}" if counts else "")
                   + (f": {source.last_error}" if source.last_error else ""))
    if failed:
        raise click.ClickException(f"{failed} of {len(ids)} feeds failed (see /admin/feeds)")


@click.command("demo")
def demo() -> None:
    """Load the real Generally Intelligent episodes #0-#14 and a small sample community. Idempotent."""
    counts = demo_seed.load()
    db.session.commit()
    click.echo(", ".join(f"{name}: {count} new" for name, count in counts.items()))
    click.echo(f"Sample accounts (ada_l, tensor_tom, kelvin, ...) use the password {demo_seed.DEMO_PASSWORD!r}.")


markup_cli = AppGroup("markup", help="Stored HTML of user content.")


@markup_cli.command("rebake")
def rebake() -> None:
    """Re-render every post and profile bio from its Markdown source."""
    _console(lambda: f"re-rendered {discussion.rebake()} posts")


@click.command("bench-data")
@click.option("--posts", default=10_000, show_default=True, help="Posts of every kind in all.")
@click.option("--users", default=2_000, show_default=True)
@click.option("--episodes", "episode_count", default=60, show_default=True)
@click.option("--seed", default=42, show_default=True)
@click.option("--transcripts", "transcript_count", default=1, show_default=True,
              help="Episodes given a synthetic two-hour transcript of 2,000 segments (bench-500 first).")
def bench_data_command(posts: int, users: int, episode_count: int, seed: int, transcript_count: int) -> None:
    """Generate a deterministic synthetic community for benchmarks (bulk inserts)."""
    with click.progressbar(length=posts, label="Generating posts", file=sys.stderr) as bar:
        counts = bench_seed.generate(posts=posts, users=users, episodes=episode_count, seed=seed, progress=bar.update)
    counts["transcripts"] = bench_seed.add_transcripts(transcript_count, seed=seed)
    click.echo(", ".join(f"{name}: {count}" for name, count in counts.items()))


@click.command("backup")
@click.argument("path", type=click.Path(dir_okay=False))
def backup_command(path: str) -> None:
    """Write a consistent copy of the SQLite database to PATH (the site can keep running).
    On PostgreSQL, explains pg_dump: the database address is printed, never its password."""
    try:
        written = backup.backup(path)
    except backup.BackupError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"backup written to {written} (integrity check ok)")


@click.command("restore")
@click.argument("path", type=click.Path(dir_okay=False, exists=True))
@click.option("--yes", is_flag=True, help="Confirm: the current database content is replaced.")
def restore_command(path: str, yes: bool) -> None:
    """Replace the SQLite database with the backup at PATH (stop the app servers first)."""
    if not yes:
        raise click.ClickException("This replaces every row of the current database; add --yes to go ahead.")
    try:
        backup.restore(path)
    except backup.BackupError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"restored from {path}")


search_cli = AppGroup("search", help="The full-text search index.")


@search_cli.command("reindex")
def search_reindex() -> None:
    """Rebuild the search index of episodes and posts."""
    search.reindex()
    db.session.commit()
    click.echo("search index rebuilt")


notifications_cli = AppGroup("notifications", help="Notification email.")


@notifications_cli.command("send-digests")
def send_digests() -> None:
    """Queue each user's daily digest (run once a day from a timer); the worker sends them."""
    _console(lambda: f"queued {notifications.send_digests()} digests")


@click.command("worker")
@click.option("--threads", default=2, show_default=True, help="Jobs run at once (mail waits on the network).")
def worker(threads: int) -> None:
    """Run queued jobs (mail, paper metadata...) until stopped; also relays jobs a crash left behind."""
    engine = job_queue.engine()
    click.echo(f"Job worker: {threads} thread(s), queue in {engine.where}, relay every {engine.relay_seconds} s. "
               "Ctrl-C stops it after the running jobs.")
    engine.run_worker(threads)


sessions_cli = AppGroup("sessions", help="Login sessions.")


@sessions_cli.command("prune")
def prune_sessions() -> None:
    """Delete the sessions that are over (unused for SESSION_IDLE_DAYS or older than
    SESSION_MAX_DAYS); they already log nobody in. Run daily from cron or a timer."""
    _console(lambda: f"pruned {sessions.prune()} sessions")


transcripts_cli = AppGroup("transcripts", help="Episode transcripts.")


@transcripts_cli.command("import")
@click.argument("slug")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--kind", type=click.Choice(["vtt", "srt", "json", "html"]), help="Default: from the file's extension.")
@click.option("--language", help="e.g. en")
@click.option("--note", default="", help="What this revision corrects.")
def import_transcript(slug: str, path: str, kind: str | None, language: str | None, note: str) -> None:
    """Add a transcript revision to an episode from a WebVTT, SRT, JSON or HTML file."""
    episode = episodes.get_by_slug(slug)
    if episode is None:
        raise click.ClickException(f"No episode {slug!r}.")
    with open(path, "rb") as file:
        data = file.read()
    kind = kind or transcript_formats.detect(path, data)
    if not kind:
        raise click.ClickException("Say the format with --kind (vtt, srt, json or html).")
    try:
        revision = transcripts.add_revision(None, episode, data, kind, language=language, note=note)
    except DomainError as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from None
    db.session.commit()
    click.echo(f"revision {revision.number} of {slug}: {len(data):,} bytes")


@transcripts_cli.command("fetch")
@click.argument("slug", required=False)
def fetch_transcripts(slug: str | None) -> None:
    """Fetch the feed's podcast:transcript files again (every episode that has one, or SLUG),
    as jobs; a file whose words and timings have not changed adds no revision."""
    chosen = [episodes.get_by_slug(slug, include_unpublished=True)] if slug else list(db.session.scalars(
        select(Episode).where(Episode.transcript_url.is_not(None))))
    if slug and chosen[0] is None:
        raise click.ClickException(f"No episode {slug!r}.")
    for episode in chosen:
        transcripts.enqueue_fetch(episode)
    db.session.commit()
    click.echo(f"{len(chosen)} transcripts queued for fetching")


papers_cli = AppGroup("papers", help="Paper details from arXiv, Crossref and OpenReview.")


@papers_cli.command("fetch-metadata")
@click.option("--limit", default=100, show_default=True, help="Papers at most in this run.")
def fetch_paper_metadata(limit: int) -> None:
    """Fetch the details of papers still waiting for them, and retry failed ones whose time
    has come (each source at its own polite pace). Safe to run from cron."""
    results: dict[str, int] = {}
    for paper_id in papers.due_papers(limit):
        outcome = papers.enrich(paper_id)
        results[outcome] = results.get(outcome, 0) + 1
    click.echo(", ".join(f"{outcome}: {count}" for outcome, count in sorted(results.items())) or "nothing to fetch")


def init_app(app: Flask) -> None:
    app.cli.add_command(worker)
    app.cli.add_command(transcripts_cli)
    app.cli.add_command(papers_cli)
    app.cli.add_command(sessions_cli)
    app.cli.add_command(notifications_cli)
    app.cli.add_command(search_cli)
    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)
    app.cli.add_command(bench_data_command)
    app.cli.add_command(markup_cli)
    app.cli.add_command(users_cli)
    app.cli.add_command(episodes_cli)
    app.cli.add_command(people_cli)
    app.cli.add_command(import_feed)
    app.cli.add_command(feeds_cli)
    app.cli.add_command(demo)
