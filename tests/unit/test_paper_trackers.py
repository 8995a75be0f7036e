"""Share trackers leave a link; what names the page stays (community.paper_ids)."""

import pytest

from community.paper_ids import identify, is_tracking_param


@pytest.mark.parametrize("pasted, kept", [
    # The newspaper article of issue 20: the New York Times' share marker goes.
    ("https://www.nytimes.com/2026/01/02/technology/ai.html?smid=tw", "https://www.nytimes.com/2026/01/02/technology/ai.html"),
    ("https://www.nytimes.com/2026/01/02/technology/ai.html?smid=nytcore-ios-share&smtyp=cur&sgrp=c-cb",
     "https://www.nytimes.com/2026/01/02/technology/ai.html"),
    ("https://example.org/post?utm_source=twitter&utm_medium=social&utm_campaign=x", "https://example.org/post"),
    ("https://example.org/post?UTM_Source=News", "https://example.org/post"),
    ("https://example.org/post?fbclid=IwAR0abc", "https://example.org/post"),
    ("https://example.org/post?gclid=Cj0KCQ&msclkid=9f", "https://example.org/post"),
    ("https://example.org/post?mc_cid=abc&mc_eid=def", "https://example.org/post"),
    ("https://example.org/post?ref=hackernews", "https://example.org/post"),
    ("https://example.org/post?ref_src=twsrc%5Etfw", "https://example.org/post"),
    ("https://www.instagram.com/p/Cabc123/?igshid=MzRlODBiNWFlZA==", "https://www.instagram.com/p/Cabc123/"),
    ("https://open.spotify.com/episode/4abc?si=a1b2c3", "https://open.spotify.com/episode/4abc"),
    ("https://example.org/post?_hsenc=p2A&_hsmi=12", "https://example.org/post"),
    ("https://example.org/post?pk_campaign=x&mtm_source=y", "https://example.org/post"),
    # Parameters that say which page it is are kept, in their order, around the trackers.
    ("https://example.org/view?id=42&utm_source=x&page=2", "https://example.org/view?id=42&page=2"),
    ("https://www.youtube.com/watch?v=dQw4w9WgXcQ&t=42&si=share123&feature=youtu.be",
     "https://www.youtube.com/watch?v=dQw4w9WgXcQ&t=42"),
    ("https://x.com/someone/status/1234567890?s=20&t=AbCdEf", "https://x.com/someone/status/1234567890"),
    ("https://twitter.com/someone/status/1234567890?s=46", "https://twitter.com/someone/status/1234567890"),
    # s= and t= mean something elsewhere: kept.
    ("https://example.org/search?s=attention&t=all", "https://example.org/search?s=attention&t=all"),
    ("https://blog.example.org/?p=123&lang=en", "https://blog.example.org?p=123&lang=en"),
    ("https://scholar.example.org/citations?user=abc&hl=en", "https://scholar.example.org/citations?user=abc&hl=en"),
])
def test_trackers_are_stripped_and_content_parameters_kept(pasted, kept):
    paper = identify(pasted)
    assert paper.url == kept and paper.canonical_id == f"url:{kept}"


def test_two_shares_of_one_article_are_one_link():
    first = identify("https://www.nytimes.com/2026/01/02/technology/ai.html?smid=tw")
    second = identify("https://www.nytimes.com/2026/01/02/technology/ai.html?smid=fb&utm_medium=social")
    assert first.canonical_id == second.canonical_id


def test_papers_keep_their_identifiers_whatever_the_trackers():
    assert identify("https://arxiv.org/abs/1706.03762?utm_source=x").canonical_id == "arxiv:1706.03762"
    assert identify("https://openreview.net/forum?id=rJl-b3RcF7&referrer=%5Bthe%20profile%5D").canonical_id == \
        "openreview:rJl-b3RcF7"


@pytest.mark.parametrize("name, host, tracking", [
    ("utm_term", "", True), ("SMID", "", True), ("v", "www.youtube.com", False), ("t", "www.youtube.com", False),
    ("t", "x.com", True), ("id", "", False), ("q", "", False),
])
def test_is_tracking_param(name, host, tracking):
    assert is_tracking_param(name, host) is tracking
