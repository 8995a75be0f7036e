"""Papers fill in their own details: a submission by bare id needs no title; the details come
from arXiv, Crossref or OpenReview, served here by a local HTTP server in each API's own
format (tests/fixtures/README.md), read by the real HTTP client."""

from __future__ import annotations

import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlsplit

import bibtexparser
import pybtex.database
import pytest
from sqlalchemy import select, update

from community.extensions import db
from community.models import MetadataStatus, Paper, Post, PostKind
from community.services import paper_sources, papers
from tests.conftest import make_test_app, text_of

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


class FakeApis(BaseHTTPRequestHandler):
    """arXiv under /arxiv, Crossref under /crossref, OpenReview API 2 under /or2 and API 1
    under /or1. `down` names the sources answering 503 (a source having a bad day)."""

    requests: list[str] = []
    down: set[str] = set()

    def do_GET(self):  # noqa: N802
        parts = urlsplit(self.path)
        query = parse_qs(parts.query)
        FakeApis.requests.append(self.path)
        source = parts.path.split("/")[1]
        if source in self.down:
            return self._send(503, b"Service Unavailable", "text/plain")
        if parts.path == "/arxiv/api/query":
            wanted = query["id_list"][0]
            path = FIXTURES / "arxiv" / f"{wanted}.xml"
            return self._send(200, (path if path.exists() else FIXTURES / "arxiv" / "error.xml").read_bytes(),
                              "application/atom+xml; charset=utf-8")
        if parts.path.startswith("/crossref/works/"):
            doi = unquote(parts.path.removeprefix("/crossref/works/")).lower()
            path = FIXTURES / "crossref" / f"{doi.replace('/', '_')}.json"
            if not path.exists():
                return self._send(404, b"Resource not found.", "text/plain")
            return self._send(200, path.read_bytes(), "application/json")
        if parts.path in ("/or2/notes", "/or1/notes"):
            version = "v2" if parts.path == "/or2/notes" else "v1"
            path = FIXTURES / "openreview" / version / f"{query['id'][0]}.json"
            return self._send(200, (path if path.exists() else FIXTURES / "openreview" / "v2" / "empty.json")
                              .read_bytes(), "application/json; charset=utf-8")
        return self._send(404, b"Not Found", "text/plain")

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def apis():
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeApis)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    FakeApis.requests, FakeApis.down = [], set()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def api_config(base: str) -> dict:
    return {"ARXIV_API_URL": f"{base}/arxiv", "CROSSREF_API_URL": f"{base}/crossref",
            "OPENREVIEW_API_URL": f"{base}/or2", "OPENREVIEW_API_V1_URL": f"{base}/or1",
            "PAPER_METADATA_INTERVALS": {}, "PAPER_METADATA_TIMEOUT": 5.0}


@pytest.fixture
def episode(factories):
    return factories.episode(7, "Jonathan Frankle on lottery tickets")


def submit(client, episode, link, title=""):
    return client.post(f"/episodes/{episode.slug}/papers", data={"link": link, "title": title, "moment": "", "note": ""})


def paper_of(canonical_id: str) -> Paper:
    db.session.expire_all()
    return db.session.scalar(select(Paper).where(Paper.canonical_id == canonical_id))


CASES = [
    # (what the researcher types, canonical id, title, first author, year, what BibTeX makes of it)
    ("1706.03762", "arxiv:1706.03762", "Attention Is All You Need", "Ashish Vaswani", 2017,
     ("misc", "vaswani2017attention", {"eprint": "1706.03762", "archivePrefix": "arXiv", "primaryClass": "cs.CL"})),
    ("10.1038/nature14539", "doi:10.1038/nature14539", "Deep learning", "Yann LeCun", 2015,
     ("article", "lecun2015deep", {"journal": "Nature", "doi": "10.1038/nature14539"})),
    ("openreview:rJl-b3RcF7", "openreview:rJl-b3RcF7",
     "The Lottery Ticket Hypothesis: Finding Sparse, Trainable Neural Networks", "Jonathan Frankle", 2018,
     ("inproceedings", "frankle2018lottery", {"booktitle": "ICLR 2019 Conference"})),
    ("https://openreview.net/forum?id=FixtureNoteV2", "openreview:FixtureNoteV2",
     "A Fixture Paper in the API 2 Format", "Ada Example", 2024,
     ("inproceedings", "example2024fixture", {"booktitle": "ICLR 2024 poster"})),
]


@pytest.mark.parametrize("typed, canonical, title, first_author, year, bib", CASES,
                         ids=["arxiv", "doi", "openreview-api1", "openreview-api2"])
def test_bare_id_without_title_fills_page_api_and_bib(app, client, factories, login, episode, apis,
                                                      typed, canonical, title, first_author, year, bib):
    app.config.update(api_config(apis))
    login(factories.user("ada"))
    response = submit(client, episode, typed)
    assert response.status_code == 302
    # Nothing waited on the network: the entry is there, saying its details are on the way.
    assert FakeApis.requests == []
    page = text_of(client.get(f"/episodes/{episode.slug}"))
    assert "fetching details…" in page and canonical in page
    entry = client.get(f"/api/v1/episodes/{episode.slug}/papers").get_json()["papers"][0]
    assert entry["metadata"] == "pending" and entry["title"] is None and entry["authors"] == []

    assert papers.enrich(paper_of(canonical).id) == "fetched"

    page = text_of(client.get(f"/episodes/{episode.slug}"))
    assert title in page and first_author in page and f"({year})" in page and "fetching details" not in page
    detail = text_of(client.get(f"/papers/{canonical}"))
    assert title in detail and first_author in detail
    entry = client.get(f"/api/v1/episodes/{episode.slug}/papers").get_json()["papers"][0]
    assert (entry["title"], entry["authors"][0], entry["year"], entry["metadata"]) == (title, first_author, year,
                                                                                        "fetched")
    text = client.get(f"/episodes/{episode.slug}/papers.bib").get_data(as_text=True)
    library = bibtexparser.parse_string(text)
    assert library.failed_blocks == []
    [item] = library.entries
    kind, key, fields = bib
    assert (item.entry_type, item.key) == (kind, key)
    values = {name: field.value for name, field in item.fields_dict.items()}
    assert first_author in values["author"] and values["year"] == str(year)
    assert all(values[name] == value for name, value in fields.items()), values
    parsed = pybtex.database.parse_string(text, "bibtex").entries[key]
    assert str(parsed.persons["author"][0]) .replace(",", "").split()[0] in first_author
    assert parsed.fields["year"] == str(year)
    # The entry carries the title too: search finds the paper by it.
    assert title.split()[-1] in text_of(client.get("/search", query_string={"q": title.split()[-1]}))


def test_failing_source_shows_nothing_invented_and_is_retried_later(app, client, factories, login, episode, apis):
    app.config.update(api_config(apis))
    FakeApis.down = {"arxiv"}
    login(factories.user("ada"))
    submit(client, episode, "1706.03762")
    paper_id = paper_of("arxiv:1706.03762").id
    assert papers.enrich(paper_id) == "failed"
    paper = paper_of("arxiv:1706.03762")
    assert paper.metadata_status == MetadataStatus.failed and "HTTP 503" in paper.metadata_error
    assert (paper.title, paper.authors, paper.year, paper.venue) == ("", [], None, "")
    page = text_of(client.get(f"/episodes/{episode.slug}"))
    assert "details not available yet" in page and "arXiv 1706.03762" in page and "Vaswani" not in page
    entry = client.get(f"/api/v1/episodes/{episode.slug}/papers").get_json()["papers"][0]
    assert (entry["title"], entry["authors"], entry["year"], entry["metadata"]) == (None, [], None, "failed")
    bib = client.get(f"/episodes/{episode.slug}/papers.bib").get_data(as_text=True)
    assert "author" not in bib and "year" not in bib and "eprint = {1706.03762}" in bib

    # Not asked again right away...
    assert papers.due_papers() == []
    runner = app.test_cli_runner()
    assert "nothing to fetch" in runner.invoke(args=["papers", "fetch-metadata"]).output
    # ...but once its retry time has come (an hour after the failure), and arXiv is back.
    db.session.execute(update(Paper).where(Paper.id == paper_id)
                       .values(metadata_checked_at=paper.metadata_checked_at - timedelta(hours=2)))
    db.session.commit()
    FakeApis.down = set()
    assert papers.due_papers() == [paper_id]
    result = runner.invoke(args=["papers", "fetch-metadata"])
    assert result.exit_code == 0 and "fetched: 1" in result.output
    paper = paper_of("arxiv:1706.03762")
    assert paper.metadata_status == MetadataStatus.fetched and paper.authors[0] == "Ashish Vaswani"
    assert paper.metadata_attempts == 0 and paper.metadata_error is None


def test_unknown_ids_fail_with_the_sources_reason(app, apis):
    app.config.update(api_config(apis))
    with pytest.raises(paper_sources.SourceError, match="incorrect id format"):
        paper_sources.fetch_arxiv("1706.99999", app.config)
    with pytest.raises(paper_sources.SourceError, match="not found"):
        paper_sources.fetch_crossref("10.5555/no-such-doi", app.config)
    with pytest.raises(paper_sources.SourceError, match="no note"):
        paper_sources.fetch_openreview("NoSuchNote", app.config)
    with pytest.raises(paper_sources.SourceError, match="unreachable"):
        paper_sources.fetch_crossref("10.1038/nature14539", {**app.config, "CROSSREF_API_URL": "http://127.0.0.1:9"})


def test_a_fetched_paper_is_not_fetched_again_within_the_ttl(app, factories, episode, apis):
    app.config.update(api_config(apis))
    result = papers.submit(factories.user("ada"), episode, link="10.1038/nature14539")
    db.session.commit()
    assert papers.enrich(result.post.paper_id) == "fetched"
    assert papers.enrich(result.post.paper_id) == "cached"
    assert len(FakeApis.requests) == 1
    # A second episode citing it asks for nothing either.
    other = factories.episode(8)
    papers.submit(factories.user("bob"), other, link="https://doi.org/10.1038/NATURE14539")
    db.session.commit()
    assert papers.due_papers() == [] and len(FakeApis.requests) == 1


def test_each_source_keeps_its_own_pace_across_processes(app, database, tmp_path, factories, episode, apis):
    """A source's turn lives in the shared limit storage (the database here, Redis when
    configured): another app, as another worker process would, finds the turn taken."""
    slow = {**api_config(apis), "PAPER_METADATA_INTERVALS": {"arXiv": 3600, "Crossref": 3600},
            "PAPER_METADATA_MAX_WAIT": 0}
    app.config.update(slow)
    ada = factories.user("ada")
    first = papers.submit(ada, episode, link="1706.03762").post.paper_id
    second = papers.submit(ada, episode, link="2005.11401").post.paper_id
    doi = papers.submit(ada, episode, link="10.1038/nature14539").post.paper_id
    db.session.commit()
    assert papers.enrich(first) == "fetched"
    other_worker = make_test_app(database, tmp_path, **slow)
    with other_worker.app_context():
        assert papers.enrich(second) == "deferred"  # arXiv's turn is taken, for an hour
        assert papers.enrich(doi) == "fetched"  # Crossref's is another turn
        db.session.remove()
    assert [r.split("?")[0] for r in FakeApis.requests] == ["/arxiv/api/query", "/crossref/works/10.1038/nature14539"]
    assert paper_of("arxiv:2005.11401").metadata_status == MetadataStatus.pending
    assert papers.due_papers() == [second]


def test_the_lookup_starts_after_the_submission_commits(app, client, factories, login, episode, apis):
    app.config.update(api_config(apis), PAPER_METADATA_LOOKUP=True)
    login(factories.user("ada"))
    assert submit(client, episode, "1706.03762").status_code == 302
    paper_id = paper_of("arxiv:1706.03762").id
    for thread in threading.enumerate():
        if thread.name == f"paper-metadata-{paper_id}":
            thread.join(timeout=30)
    assert paper_of("arxiv:1706.03762").title == "Attention Is All You Need"
    # A submission that is refused (rolled back) asks for nothing.
    FakeApis.requests.clear()
    assert submit(client, episode, "10.1038/nature14539", title="x" * 301).status_code == 422
    assert FakeApis.requests == [] and paper_of("doi:10.1038/nature14539") is None


def test_a_link_is_listed_apart_and_exported_once_confirmed(app, client, factories, login, episode):
    ada = factories.user("ada")
    login(ada)
    submit(client, episode, "1706.03762", title="Attention Is All You Need")
    response = submit(client, episode, "https://www.nytimes.com/2026/01/02/technology/ai.html?smid=tw&utm_source=x",
                      title="An article about the paper")
    assert "among the links" in text_of(client.get(response.headers["Location"]))
    html = client.get(f"/episodes/{episode.slug}").get_data(as_text=True)
    assert html.index("Attention Is All You Need") < html.index('id="links-heading"') < html.index("An article")
    assert "smid" not in html and "https://www.nytimes.com/2026/01/02/technology/ai.html" in html
    bib = client.get(f"/episodes/{episode.slug}/papers.bib").get_data(as_text=True)
    assert "nytimes" not in bib
    papers_page = text_of(client.get("/papers/"))
    assert "Attention Is All You Need" in papers_page and "An article" not in papers_page
    assert "An article" in text_of(client.get("/papers/?kind=links"))

    [link] = [p for p in db.session.scalars(select(Post).where(Post.kind == PostKind.paper)) if p.paper.is_link]
    # Someone else may not say what it is; its submitter may (the button is theirs alone).
    bob = factories.user("bob")
    other = login(bob, the_client=app.test_client())
    assert "This is a paper" not in other.get(f"/episodes/{episode.slug}").get_data(as_text=True)
    assert other.post(f"/posts/{link.id}/paper-kind", data={"is_paper": "1"}).status_code == 403
    assert "This is a paper" in client.get(f"/episodes/{episode.slug}").get_data(as_text=True)
    response = client.post(f"/posts/{link.id}/paper-kind", data={"is_paper": "1"},
                           headers={"Referer": f"http://localhost/episodes/{episode.slug}"})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/episodes/{episode.slug}#c{link.id}")
    bib = client.get(f"/episodes/{episode.slug}/papers.bib").get_data(as_text=True)
    assert "An article about the paper" in bib and "@misc" in bib
    assert "An article" in text_of(client.get("/papers/"))
    # A moderator may take it back.
    moderator = login(factories.user("mod", role="moderator"), the_client=app.test_client())
    assert moderator.post(f"/posts/{link.id}/paper-kind", data={"is_paper": "0"}).status_code == 302
    assert "nytimes" not in client.get(f"/episodes/{episode.slug}/papers.bib").get_data(as_text=True)
