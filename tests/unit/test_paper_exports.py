"""BibTeX people can cite from: keys, entry types, escaping, capitals kept (services.papers)."""

from __future__ import annotations

from types import SimpleNamespace

import bibtexparser
import pybtex.database
import pytest

from community.models import Paper
from community.services import papers


def paper(canonical_id="arxiv:1706.03762", title="Attention Is All You Need", authors=("Ashish Vaswani",),
          year=2017, **fields) -> Paper:
    return Paper(canonical_id=canonical_id, url=fields.pop("url", "https://arxiv.org/abs/1706.03762"),
                 source="arXiv", title=title, authors=list(authors), year=year, venue=fields.pop("venue", ""),
                 doi=fields.pop("doi", None), bibtex_type=fields.pop("bibtex_type", None),
                 arxiv_category=fields.pop("arxiv_category", ""), confirmed_paper=False)


def entry(p: Paper, moment=None, score=1, post_id=1):
    return SimpleNamespace(paper=p, moment_seconds=moment, score=score, id=post_id)


EPISODE = SimpleNamespace(label="#1", title="Test episode")


@pytest.mark.parametrize("p, key", [
    (paper(), "vaswani2017attention"),
    (paper(title="On the Opportunities and Risks of Foundation Models", authors=["Rishi Bommasani"], year=2021),
     "bommasani2021opportunities"),
    (paper(title="Towards Evaluating the Robustness of Neural Networks", authors=["Nicholas Carlini"], year=2016),
     "carlini2016towards"),
    (paper(title="Causality for Machine Learning", authors=["Bernhard Schölkopf"], year=2019),
     "scholkopf2019causality"),
    (paper(title="β-VAE: Learning Basic Visual Concepts", authors=["Irina Higgins"], year=None), "higginsvae"),
    (paper(title="", authors=[], year=None), "arxiv170603762"),
])
def test_keys_read_like_google_scholars(p, key):
    assert papers.bib_key(p) == key


def test_keys_are_unique_within_a_file_and_every_library_agrees():
    same = [paper(canonical_id=f"arxiv:1706.0376{i}", title="Attention Is All You Need") for i in range(3)]
    text = papers.bibtex(EPISODE, [entry(p, post_id=i) for i, p in enumerate(same)])
    keys = [e.key for e in bibtexparser.parse_string(text).entries]
    assert keys == ["vaswani2017attention", "vaswani2017attentiona", "vaswani2017attentionb"]
    assert list(pybtex.database.parse_string(text, "bibtex").entries) == keys


def test_types_fields_escaping_and_protected_capitals():
    items = [
        paper(title="Training BatchNorm and Only BatchNorm: 100% of {GANs} & more_stuff #1",
              authors=["Jonathan Frankle", "David J. Schwab", "Ari S. Morcos"], year=2020, venue="ICLR 2021",
              bibtex_type="inproceedings", arxiv_category="cs.LG"),
        paper(canonical_id="doi:10.1038/nature14539", title="Deep learning", authors=["Yann LeCun", "Yoshua Bengio"],
              year=2015, venue="Nature", doi="10.1038/nature14539", url="https://doi.org/10.1038/nature14539"),
        paper(canonical_id="arxiv:1807.03341", title="Troubling Trends in Machine Learning Scholarship",
              authors=["Zachary C. Lipton", "Jacob Steinhardt"], year=2018, bibtex_type="misc"),
        paper(canonical_id="url:https://example.org/a", title="A page", authors=[], year=None,
              url="https://example.org/a"),  # a link: not exported
    ]
    text = papers.bibtex(EPISODE, [entry(p, moment=75 if i == 0 else None) for i, p in enumerate(items)])
    library = bibtexparser.parse_string(text)
    assert library.failed_blocks == []
    first, second, third = library.entries
    assert (first.entry_type, second.entry_type, third.entry_type) == ("inproceedings", "article", "misc")
    f = {k: v.value for k, v in first.fields_dict.items()}
    assert f["author"] == "Jonathan Frankle and David J. Schwab and Ari S. Morcos"
    assert f["booktitle"] == "ICLR 2021" and f["year"] == "2020" and f["primaryClass"] == "cs.LG"
    assert f["eprint"] == "1706.03762" and f["archivePrefix"] == "arXiv"
    assert "{BatchNorm}" in f["title"] and r"100\%" in f["title"] and r"\textbraceleft{}" in f["title"]
    assert r"\&" in f["title"] and r"more\_stuff" in f["title"] and r"\#1" in f["title"]
    assert f["note"] == "Discussed at 1:15 in the episode"
    s = {k: v.value for k, v in second.fields_dict.items()}
    assert s["journal"] == "Nature" and s["doi"] == "10.1038/nature14539" and "eprint" not in s
    t = {k: v.value for k, v in third.fields_dict.items()}
    assert "journal" not in t and "booktitle" not in t and t["archivePrefix"] == "arXiv"
    data = pybtex.database.parse_string(text, "bibtex")
    assert [str(p) for p in data.entries["lecun2015deep"].persons["author"]] == ["LeCun, Yann", "Bengio, Yoshua"]
    assert "example.org" not in text


def test_markdown_gives_authors_year_venue_and_link():
    p = paper(authors=["Ashish Vaswani", "Noam Shazeer"], venue="NeurIPS 2017")
    text = papers.markdown_list(EPISODE, [entry(p, moment=754, score=3)], "https://example.org/episodes/1")
    assert ("- Ashish Vaswani, Noam Shazeer (2017). [Attention Is All You Need](https://arxiv.org/abs/1706.03762). "
            "*NeurIPS 2017*. `arxiv:1706.03762` (at 12:34), 3 votes") in text
