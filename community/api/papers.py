from flask import abort, url_for

from community.api import bp, choice, page_args, paginated
from community.services import episodes, papers


def paper_json(paper) -> dict:
    return {
        "canonical_id": paper.canonical_id,
        "url": paper.url,
        # None until the details land: "metadata" says whether they are coming ("pending").
        "title": paper.title or None,
        "source": paper.source,
        "kind": "link" if paper.is_link else "paper",
        "authors": list(paper.authors),
        "year": paper.year,
        "venue": paper.venue or None,
        "doi": paper.doi,
        "abstract": paper.abstract or None,
        "metadata": paper.metadata_status.value,
        "page": url_for("papers.show", canonical_id=paper.canonical_id, _external=True),
    }


def entry_json(post) -> dict:
    return paper_json(post.paper) | {
        "votes": post.score,
        "moment_seconds": post.moment_seconds,
        "submitted_by": post.author.username,
        "post_url": url_for("discussion.permalink", post_id=post.id, _external=True),
    }


@bp.get("/episodes/<slug>/papers")
def episode_papers(slug: str):
    episode = episodes.get_by_slug(slug) or abort(404)
    return {"episode": slug, "papers": [entry_json(p) for p in papers.episode_entries(episode)]}


@bp.get("/papers")
def all_papers():
    sort = choice("sort", tuple(papers.PAPER_SORTS), "episodes")
    kind = choice("kind", tuple(papers.KINDS), "papers")
    page, per_page = page_args(50)
    rows, total = papers.graph(sort, page, per_page=per_page, kind=kind)
    return paginated("papers", [paper_json(row.paper) | {
        "votes": row.votes,
        "episodes": [{"slug": c.cited_in.slug, "number": c.cited_in.number, "title": c.cited_in.title,
                      "moment_seconds": c.moment_seconds, "votes": c.score} for c in row.citations],
    } for row in rows], total, page, per_page, sort=sort, kind=kind)
