"""For crawlers: robots.txt and the sitemap (split into pages of SITEMAP_PAGE_SIZE URLs,
50,000 by the protocol, behind a sitemap index once there is more than one page)."""

from __future__ import annotations

from itertools import islice
from xml.sax.saxutils import escape

from flask import Blueprint, Response, abort, current_app, url_for

from community.services import sitemap

bp = Blueprint("crawlers", __name__)

# Personal pages, forms and the console: nothing for an index, and nothing to crawl.
PRIVATE = ("/auth/", "/settings/", "/notifications", "/admin/", "/moderation/queue", "/search", "/api/")


@bp.get("/robots.txt")
def robots():
    lines = ["User-agent: *", *(f"Disallow: {path}" for path in PRIVATE), "",
             f"Sitemap: {url_for('crawlers.sitemap_index', _external=True)}", ""]
    return Response("\n".join(lines), mimetype="text/plain")


def _url(entry: sitemap.Entry) -> str:
    endpoint, arg = {"episode": ("episodes.show", "slug"), "paper": ("papers.show", "canonical_id"),
                     "person": ("episodes.person", "person_id"), "thread": ("discussion.permalink", "post_id")}[entry.kind]
    return url_for(endpoint, _external=True, **{arg: entry.key})


def _xml(lines) -> Response:
    return Response('<?xml version="1.0" encoding="UTF-8"?>\n' + "\n".join(lines) + "\n", mimetype="application/xml")


def _urlset(entries) -> Response:
    lines = ['<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">']
    for entry in entries:
        lastmod = f"<lastmod>{entry.updated.date().isoformat()}</lastmod>" if entry.updated else ""
        lines.append(f"  <url><loc>{escape(_url(entry))}</loc>{lastmod}</url>")
    lines.append("</urlset>")
    return _xml(lines)


@bp.get("/sitemap.xml")
def sitemap_index():
    size = current_app.config["SITEMAP_PAGE_SIZE"]
    entries = list(islice(sitemap.entries(), size + 1))
    if len(entries) <= size:
        return _urlset(entries)
    total = sum(1 for _ in sitemap.entries())
    pages = -(-total // size)
    return _xml(['<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">',
                 *(f"  <sitemap><loc>{escape(url_for('crawlers.sitemap_page', page=n, _external=True))}</loc></sitemap>"
                   for n in range(1, pages + 1)),
                 "</sitemapindex>"])


@bp.get("/sitemap-<int:page>.xml")
def sitemap_page(page: int):
    size = current_app.config["SITEMAP_PAGE_SIZE"]
    entries = list(islice(sitemap.entries(), (page - 1) * size, page * size)) if page >= 1 else []
    if not entries:
        abort(404)
    return _urlset(entries)
