"""Paper links: recognised, de-duplicated, voted, gathered across episodes, exported."""

from __future__ import annotations

import bibtexparser
import pybtex.database
import pytest
from sqlalchemy import func, select

from community.extensions import db
from community.models import Paper, Post, PostKind
from tests.conftest import text_of

RAG = "Retrieval-Augmented Generation for Knowledge-Intensive NLP Tasks"


@pytest.fixture
def episode(factories):
    return factories.episode(1, "Kelvin Guu on retrieval", audio_url="https://cdn.example.org/1.mp3")


def submit(client, episode, link, title=RAG, moment="", note=""):
    return client.post(f"/episodes/{episode.slug}/papers",
                       data={"link": link, "title": title, "moment": moment, "note": note})


def entries() -> list[Post]:
    return list(db.session.scalars(select(Post).where(Post.kind == PostKind.paper)))


def test_submit_shows_entry_with_id_badge_and_moment(client, factories, login, episode):
    login(factories.user("ada"))
    response = submit(client, episode, "https://arxiv.org/abs/2005.11401", moment="12:34", note="The *RAG* paper.")
    assert response.status_code == 302
    html = client.get(f"/episodes/{episode.slug}").get_data(as_text=True)
    assert "arxiv:2005.11401" in html and ">arXiv</span>" in html and RAG in html
    assert f'href="/episodes/{episode.slug}?t=754#player">12:34</a>' in html
    assert "<em>RAG</em>" in html and "1 point" in html


def test_three_forms_of_one_paper_make_one_entry_with_three_votes(client, app, factories, login, episode):
    forms = ["https://arxiv.org/abs/2005.11401", "https://arxiv.org/pdf/2005.11401v2", "https://huggingface.co/papers/2005.11401"]
    for i, link in enumerate(forms):
        browser = login(factories.user(f"researcher{i}"), the_client=app.test_client())
        response = submit(browser, episode, link)
        assert response.status_code == 302
        if i:
            assert "already on this episode's reading list" in text_of(browser.get(response.headers["Location"]))
    db.session.expire_all()
    [entry] = entries()
    assert entry.score == 3 and entry.paper.canonical_id == "arxiv:2005.11401"
    assert db.session.scalar(select(func.count(Paper.id))) == 1


def test_resubmitting_your_own_paper_changes_nothing(client, factories, login, episode):
    login(factories.user("ada"))
    submit(client, episode, "2005.11401")
    submit(client, episode, "arXiv:2005.11401v3")
    db.session.expire_all()
    [entry] = entries()
    assert entry.score == 1


@pytest.mark.parametrize("link, message", [
    ("javascript:alert(1)", "http"),
    ("not a link at all", ""),
    ("https://arxiv.org/abs/junk", "arXiv"),
    ("", "Paste a link to the paper."),
])
def test_bad_links_rerender_with_message_and_store_nothing(client, factories, login, episode, link, message):
    login(factories.user("ada"))
    response = submit(client, episode, link)
    assert response.status_code == 422
    assert message in text_of(response)
    assert entries() == [] and db.session.scalar(select(func.count(Paper.id))) == 0


def test_bad_moment_and_missing_title_of_a_link_are_refused(client, factories, login, episode):
    """The title may be left out only where a source can tell it (tests/views/test_paper_metadata.py)."""
    login(factories.user("ada"))
    assert "mm:ss" in text_of(submit(client, episode, "2005.11401", moment="later"))
    response = submit(client, episode, "https://example.org/essay", title="")
    assert response.status_code == 422 and "Give the paper's title" in text_of(response)
    assert "https://example.org/essay" in response.get_data(as_text=True)  # what was typed stays in the form
    assert entries() == []


def test_reading_list_sorted_by_votes_then_oldest(client, app, factories, login, episode):
    """Votes first; among equal votes the earlier submission, so a new one cannot push itself to the top
    (it used to be newest first)."""
    ada = login(factories.user("ada"), the_client=app.test_client())
    submit(ada, episode, "1706.03762", title="Attention Is All You Need")
    submit(ada, episode, "2005.11401")
    submit(ada, episode, "10.1038/nature14539", title="Deep learning")
    bob = login(factories.user("bob"), the_client=app.test_client())
    submit(bob, episode, "https://www.nytimes.com/2026/01/02/technology/ai.html?smid=tw", title="A newspaper article")
    text = text_of(client.get(f"/episodes/{episode.slug}"))
    # 1 vote each: the order they came in, and the newspaper article last, among the links.
    assert text.index("Attention Is All You Need") < text.index(RAG) < text.index("Deep learning") \
        < text.index("A newspaper article")
    submit(bob, episode, "https://arxiv.org/abs/2005.11401")  # a second vote lifts RAG above the rest
    text = text_of(client.get(f"/episodes/{episode.slug}"))
    assert text.index(RAG) < text.index("Attention Is All You Need") < text.index("Deep learning")
    data = client.get(f"/api/v1/episodes/{episode.slug}/papers").get_json()
    assert [p["title"] for p in data["papers"]] == [RAG, "Attention Is All You Need", "Deep learning",
                                                    "A newspaper article"]


def test_papers_graph_groups_episodes_citing_the_same_paper(client, app, factories, login):
    first = factories.episode(12, "Jacob Steinhardt on robustness")
    second = factories.episode(14, "Yash Sharma on adversarial examples")
    ada = login(factories.user("ada"), the_client=app.test_client())
    submit(ada, first, "https://arxiv.org/pdf/1312.6199v4.pdf", title="Intriguing properties of neural networks")
    submit(ada, second, "1312.6199", title="Intriguing properties of neural networks", moment="3:00")
    submit(ada, second, "1406.2661", title="Generative Adversarial Networks")
    page = client.get("/papers/")
    text = text_of(page)
    assert text.index("Intriguing properties") < text.index("Generative Adversarial Networks")
    assert "2 episodes" in text and "Jacob Steinhardt on robustness" in text and "Yash Sharma on adversarial" in text
    detail = client.get("/papers/arxiv:1312.6199")
    assert detail.status_code == 200 and "Cited in 2 episodes" in text_of(detail)
    assert client.get("/papers/arxiv:0000.00000").status_code == 404
    api = client.get("/api/v1/papers").get_json()
    top = api["papers"][0]
    assert top["canonical_id"] == "arxiv:1312.6199" and {e["number"] for e in top["episodes"]} == {12, 14}


def test_papers_page_query_count_is_constant(client, app, factories, login, count_queries):
    ada = login(factories.user("ada"), the_client=app.test_client())
    episode = factories.episode(1)
    submit(ada, episode, "1706.03762", title="Attention")
    with count_queries() as few:
        client.get("/papers/")
    for n in range(2, 12):
        other = factories.episode(n)
        submit(ada, other, "1706.03762", title="Attention")
        submit(ada, other, f"https://example.org/paper-{n}", title=f"Paper {n}")
    with count_queries() as many:
        client.get("/papers/")
    assert few.count == many.count <= 4


def test_bibtex_export_parses_with_both_libraries(client, app, factories, login, episode):
    ada = login(factories.user("ada"), the_client=app.test_client())
    submit(ada, episode, "2005.11401", moment="1:02:03")
    submit(ada, episode, "https://doi.org/10.1038/NATURE14539", title="Deep learning {with} 100% & more_stuff")
    submit(ada, episode, "https://example.org/blog?utm_source=x", title="A blog post")
    response = client.get(f"/episodes/{episode.slug}/papers.bib")
    assert response.status_code == 200 and response.mimetype == "application/x-bibtex"
    text = response.get_data(as_text=True)
    library = bibtexparser.parse_string(text)
    assert library.failed_blocks == []
    by_key = {e.key: e for e in library.entries}
    # The blog post is a link, not a paper: not exported. Keys fall back on the id while
    # authors and year are not known (tests/views/test_paper_metadata.py has the full form).
    assert len(by_key) == 2, text
    [rag] = [e for e in library.entries if "eprint" in e.fields_dict]
    assert rag.fields_dict["eprint"].value == "2005.11401" and rag.fields_dict["archivePrefix"].value == "arXiv"
    assert rag.entry_type == "misc"
    [deep] = [e for e in library.entries if "doi" in e.fields_dict]
    assert deep.fields_dict["doi"].value == "10.1038/nature14539"
    pybtex_data = pybtex.database.parse_string(text, "bibtex")
    assert len(pybtex_data.entries) == 2
    title = next(e for e in pybtex_data.entries.values() if "doi" in e.fields).fields["title"]
    assert r"\textbraceleft{}with\textbraceright{} 100\% \& more\_stuff" in title


def test_markdown_export(client, factories, login, episode):
    login(factories.user("ada"))
    submit(client, episode, "2005.11401", moment="12:34")
    submit(client, episode, "https://example.org/blog", title="A blog post")
    text = client.get(f"/episodes/{episode.slug}/papers.md").get_data(as_text=True)
    assert f"- [{RAG}](https://arxiv.org/abs/2005.11401). `arxiv:2005.11401` (at 12:34), 1 vote" in text
    assert text.index("## Links") < text.index("[A blog post](https://example.org/blog)")


def test_episode_papers_api(client, factories, login, episode):
    login(factories.user("ada"))
    submit(client, episode, "https://openreview.net/forum?id=H1gB4RVKvB", title="Disentangling neural mechanisms")
    data = client.get(f"/api/v1/episodes/{episode.slug}/papers").get_json()
    assert data["papers"][0]["canonical_id"] == "openreview:H1gB4RVKvB"
    assert data["papers"][0]["votes"] == 1 and data["papers"][0]["url"] == "https://openreview.net/forum?id=H1gB4RVKvB"


def test_paper_entries_have_their_own_threads(client, factories, login, episode):
    login(factories.user("ada"))
    submit(client, episode, "2005.11401")
    [entry] = entries()
    client.post(f"/posts/{entry.id}/reply", data={"body": "Section 4 is the key part."})
    page = client.get(f"/posts/{entry.id}")
    assert RAG in text_of(page) and "Section 4 is the key part." in text_of(page)
    episode_text = text_of(client.get(f"/episodes/{episode.slug}"))
    assert "1 reply" in episode_text
    # The reply belongs to the paper's thread, not to the episode discussion.
    assert "Discussion (0)" in episode_text


