"""Atom feeds, written with feedgen (never hand-built XML).

Every text given to feedgen goes through xml_safe: lxml refuses characters XML 1.0 does
not allow, and one stored before the forms stripped them must not break a feed for good."""

from datetime import datetime, timezone

from feedgen.ext.base import BaseEntryExtension, BaseExtension
from feedgen.feed import FeedGenerator
from flask import Blueprint, Response, abort, url_for
from lxml import etree  # feedgen's own XML library

from community import markup
from community.services import accounts, discussion, episodes, questions, transcripts
from community.text import xml_safe

bp = Blueprint("feeds", __name__)
EPOCH = datetime(2020, 1, 1, tzinfo=timezone.utc)


def _feed(title: str, self_url: str, alternate_url: str, subtitle: str) -> FeedGenerator:
    feed = FeedGenerator()
    feed.id(self_url)
    feed.title(xml_safe(title))
    feed.subtitle(xml_safe(subtitle))
    feed.link(href=alternate_url, rel="alternate")
    feed.link(href=self_url, rel="self")
    feed.language("en")
    # RFC 4287 requires an author on the feed unless every entry has one (an empty feed has none).
    feed.author(name="GI Community", uri=url_for("main.home", _external=True))
    return feed


PODCAST_NS = "https://podcastindex.org/namespace/1.0"


class _PodcastNamespace(BaseExtension):
    def extend_ns(self):
        return {"podcast": PODCAST_NS}


class _Soundbites(BaseEntryExtension):
    """<podcast:soundbite startTime="..." duration="...">words</podcast:soundbite> per entry:
    the moments of the episode with the most discussion anchored to them."""

    def __init__(self):
        self.bites = []

    def soundbites(self, bites):
        self.bites = list(bites)

    def extend_atom(self, entry):
        for bite in self.bites:
            element = etree.SubElement(entry, f"{{{PODCAST_NS}}}soundbite")
            element.set("startTime", f"{bite.start:g}")
            element.set("duration", f"{bite.duration:g}")
            element.text = xml_safe(bite.title)
        return entry

    def extend_rss(self, item):
        return self.extend_atom(item)


def _atom(feed: FeedGenerator, updated: datetime | None) -> Response:
    feed.updated(updated or EPOCH)
    response = Response(feed.atom_str(pretty=True), mimetype="application/atom+xml")
    response.last_modified = updated or EPOCH
    return response


@bp.get("/feeds/episodes.atom")
def episodes_feed():
    latest = episodes.latest(50)
    feed = _feed("Generally Intelligent episodes · GI Community", url_for("feeds.episodes_feed", _external=True),
                 url_for("episodes.index", _external=True), "New episodes, with their discussion on GI Community.")
    feed.register_extension("podcast", _PodcastNamespace, _Soundbites, atom=True, rss=False)
    bites = transcripts.soundbites([e.id for e in latest])
    for episode in reversed(latest):
        entry = feed.add_entry()
        entry.podcast.soundbites(bites.get(episode.id, []))
        link = url_for("episodes.show", slug=episode.slug, _external=True)
        entry.id(link)
        entry.title(xml_safe(f"{episode.label} {episode.title}".strip()))
        entry.link(href=link)
        entry.published(episode.published_at or EPOCH)
        entry.updated(episode.updated_at or episode.published_at or EPOCH)
        entry.summary(xml_safe(episode.summary or episode.title))
        if episode.show_notes_html:
            entry.content(xml_safe(episode.show_notes_html), type="html")
    return _atom(feed, max((e.updated_at for e in latest), default=None))


@bp.get("/episodes/<slug>/discussion.atom")
def discussion_feed(slug: str):
    episode = episodes.get_by_slug(slug) or abort(404)
    posts = discussion.latest_visible(episode)
    feed = _feed(f"Discussion of {episode.label} {episode.title} · GI Community",
                 url_for("feeds.discussion_feed", slug=slug, _external=True),
                 url_for("episodes.show", slug=slug, _external=True, _anchor="discussion"),
                 "The newest comments on this episode.")
    for post in reversed(posts):
        _post_entry(feed, post, f"{post.author.name} on {episode.title}")
    return _atom(feed, max((p.edited_at or p.created_at for p in posts), default=None))


def _post_entry(feed: FeedGenerator, post, title: str) -> None:
    entry = feed.add_entry()
    link = url_for("discussion.permalink", post_id=post.id, _external=True)
    entry.id(link)
    entry.title(xml_safe(title))
    entry.link(href=link)
    entry.author(name=xml_safe(post.author.name), uri=url_for("accounts.profile", username=post.author.username, _external=True))
    entry.published(post.created_at)
    entry.updated(post.edited_at or post.created_at)
    entry.content(xml_safe(post.body_html or post.title or ""), type="html")  # MathML travels inside the HTML


@bp.get("/u/<username>/posts.atom")
def user_feed(username: str):
    user = accounts.find_by_username(username) or abort(404)
    posts = discussion.latest_by_author(user)
    feed = _feed(f"Posts by {user.name} · GI Community", url_for("feeds.user_feed", username=user.username, _external=True),
                 url_for("accounts.profile", username=user.username, _external=True), f"What {user.name} wrote.")
    for post in reversed(posts):
        _post_entry(feed, post, f"{post.kind.value.capitalize()} by {user.name}")
    return _atom(feed, max((p.edited_at or p.created_at for p in posts), default=None))


@bp.get("/questions/answered.atom")
def answered_feed():
    rows, _ = questions.listing("answered", None, 1, per_page=50)
    feed = _feed("Answered questions · GI Community", url_for("feeds.answered_feed", _external=True),
                 url_for("questions.index", state="answered", _external=True),
                 "Listeners' questions that the guests have answered.")
    for question in reversed(rows):
        _post_entry(feed, question, f"Answered: {markup.plain_text(question.body_html)[:100]}")
    return _atom(feed, max((q.edited_at or q.created_at for q in rows), default=None))
