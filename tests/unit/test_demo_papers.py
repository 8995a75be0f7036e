"""The demo's reading lists carry the real papers' verified details (community/data/gi-papers.json)."""

from __future__ import annotations

import json
from importlib import resources

import bibtexparser
import pybtex.database
from sqlalchemy import select

from community.extensions import db
from community.models import Episode, MetadataStatus, Paper
from tests.conftest import text_of

KNOWN = json.loads(resources.files("community").joinpath("data/gi-papers.json").read_text("utf-8"))


def load_demo(app):
    result = app.test_cli_runner().invoke(args=["demo"])
    assert result.exit_code == 0, result.output


def slug_of(number: int) -> str:
    return db.session.scalar(select(Episode.slug).where(Episode.number == number))


def test_demo_reading_lists_show_the_real_titles(app, client):
    load_demo(app)
    for number in sorted({record["episode"] for record in KNOWN}):
        page = text_of(client.get(f"/episodes/{slug_of(number)}"))
        for record in (r for r in KNOWN if r["episode"] == number):
            assert record["title"] in page, (number, record["title"])
        assert "Paper linked in" not in page
        assert "fetching details" not in page  # verified data: nothing to wait for
    # No placeholder anywhere, and nothing fetched from the network for the demo.
    everything = list(db.session.scalars(select(Paper)))
    assert all(p.metadata_status == MetadataStatus.fetched and p.title and p.authors for p in everything)
    assert not any("Paper linked in" in p.title for p in everything)


def test_null_fields_stay_empty(app):
    load_demo(app)
    beta_vae = db.session.scalar(select(Paper).where(Paper.canonical_id == "openreview:Sy2fzU9gl"))
    assert beta_vae.year is None and beta_vae.venue == "ICLR 2017"
    troubling = db.session.scalar(select(Paper).where(Paper.canonical_id == "arxiv:1807.03341"))
    assert troubling.venue == "" and troubling.bibtex_type == "misc"


def test_episode_12_bibtex_parses_with_both_libraries_and_cites_fully(app, client):
    load_demo(app)
    text = client.get(f"/episodes/{slug_of(12)}/papers.bib").get_data(as_text=True)
    library = bibtexparser.parse_string(text)
    assert library.failed_blocks == [] and len(library.entries) == 4, text
    by_eprint = {e.fields_dict["eprint"].value: e for e in library.entries}
    # The show notes' three papers, and the sample researcher's addition (arXiv 1312.6199).
    assert set(by_eprint) == {"2009.03300", "2008.02275", "1807.03341", "1312.6199"}
    for eprint, entry in by_eprint.items():
        record = next(r for r in KNOWN if r["canonical_id"] == eprint)
        fields = {name: field.value for name, field in entry.fields_dict.items()}
        assert entry.entry_type == record["bibtex_type"]
        if record["authors"]:
            assert fields["author"].split(" and ")[0] == record["authors"][0]
            assert len(fields["author"].split(" and ")) == len(record["authors"])
        if record["year"]:
            assert fields["year"] == str(record["year"])
        if record["venue"]:
            assert fields["booktitle" if record["bibtex_type"] == "inproceedings" else "journal"] == record["venue"]
        assert fields["archivePrefix"] == "arXiv"
    assert by_eprint["2009.03300"].key == "hendrycks2020measuring"
    assert by_eprint["1807.03341"].key == "lipton2018troubling"
    assert by_eprint["1312.6199"].key == "szegedy2013intriguing"
    parsed = pybtex.database.parse_string(text, "bibtex")
    assert len(parsed.entries) == 4
    for entry in parsed.entries.values():
        assert entry.persons["author"] and entry.fields["year"]


def test_demo_bibtex_of_every_episode_parses(app, client):
    load_demo(app)
    for number in sorted({record["episode"] for record in KNOWN}):
        text = client.get(f"/episodes/{slug_of(number)}/papers.bib").get_data(as_text=True)
        assert bibtexparser.parse_string(text).failed_blocks == [], number
        keys = list(pybtex.database.parse_string(text, "bibtex").entries)
        assert len(keys) == len(set(keys))
