"""Table-driven tests for community.paper_ids (pure functions, no app needed)."""

from __future__ import annotations

import dataclasses

import pytest

from community.paper_ids import PaperId, PaperIdError, identify, url_for_canonical

RAG = ("arxiv:2005.11401", "https://arxiv.org/abs/2005.11401", "arXiv")
ATTENTION = ("arxiv:1706.03762", "https://arxiv.org/abs/1706.03762", "arXiv")
INTRIGUING = ("arxiv:1312.6199", "https://arxiv.org/abs/1312.6199", "arXiv")
HEP_TH = ("arxiv:hep-th/9901001", "https://arxiv.org/abs/hep-th/9901001", "arXiv")
MATH_GT = ("arxiv:math/0309136", "https://arxiv.org/abs/math/0309136", "arXiv")
CS_OLD = ("arxiv:cs/0112017", "https://arxiv.org/abs/cs/0112017", "arXiv")
BITNET = ("arxiv:2402.17764", "https://arxiv.org/abs/2402.17764", "arXiv")
DEEP_LEARNING = ("doi:10.1038/nature14539", "https://doi.org/10.1038/nature14539", "DOI")
OPTUNA = ("doi:10.1145/3292500.3330701", "https://doi.org/10.1145/3292500.3330701", "DOI")
IMAGENET = ("doi:10.1007/s11263-015-0816-y", "https://doi.org/10.1007/s11263-015-0816-y", "DOI")
RELATIVITY = ("doi:10.1002/andp.19053221004", "https://doi.org/10.1002/andp.19053221004", "DOI")
ALPHAGO = ("doi:10.1038/nature16961", "https://doi.org/10.1038/nature16961", "DOI")
ALPHAFOLD = ("doi:10.1038/s41586-021-03819-2", "https://doi.org/10.1038/s41586-021-03819-2", "DOI")
ALPHAZERO = ("doi:10.1126/science.aar6404", "https://doi.org/10.1126/science.aar6404", "DOI")
BIORXIV = ("doi:10.1101/2020.01.01.123456", "https://doi.org/10.1101/2020.01.01.123456", "bioRxiv")
ICLR_A = ("openreview:H1gB4RVKvB", "https://openreview.net/forum?id=H1gB4RVKvB", "OpenReview")
ICLR_B = ("openreview:rJl-b3RcF7", "https://openreview.net/forum?id=rJl-b3RcF7", "OpenReview")
ACL_2020 = ("acl:2020.acl-main.1", "https://aclanthology.org/2020.acl-main.1", "ACL Anthology")
BERT = ("acl:N19-1423", "https://aclanthology.org/N19-1423", "ACL Anthology")
SIMCLR = ("pmlr:v119/chen20j", "https://proceedings.mlr.press/v119/chen20j.html", "PMLR")
BATCHNORM = ("pmlr:v37/ioffe15", "https://proceedings.mlr.press/v37/ioffe15.html", "PMLR")
GPT3_HASH = "1457c0d6bfcb4967418bfb8ac142f64a"
GPT3 = (
    f"neurips:2020/{GPT3_HASH}",
    f"https://proceedings.neurips.cc/paper_files/paper/2020/hash/{GPT3_HASH}-Abstract.html",
    "NeurIPS",
)
NEURIPS_2022_HASH = "b1efde53be364a73914f58805a001731"
NEURIPS_2022 = (
    f"neurips:2022/{NEURIPS_2022_HASH}",
    f"https://proceedings.neurips.cc/paper_files/paper/2022/hash/{NEURIPS_2022_HASH}-Abstract-Conference.html",
    "NeurIPS",
)


def web(url: str) -> tuple[str, str, str]:
    return (f"url:{url}", url, "Web")


# (input, (canonical_id, url, source), version)
VALID = [
    # --- arXiv abstract / pdf / html pages -------------------------------------------
    ("https://arxiv.org/abs/2005.11401", RAG, None),
    ("http://arxiv.org/abs/2005.11401v2", RAG, "v2"),
    ("https://arxiv.org/pdf/2005.11401", RAG, None),
    ("https://arxiv.org/pdf/2005.11401.pdf", RAG, None),
    ("https://arxiv.org/pdf/2005.11401v4.pdf", RAG, "v4"),
    ("https://arxiv.org/pdf/1706.03762v7", ATTENTION, "v7"),
    ("https://www.arxiv.org/abs/1706.03762", ATTENTION, None),
    ("https://export.arxiv.org/abs/1706.03762v5", ATTENTION, "v5"),
    ("https://arxiv.org/abs/1706.03762?context=cs.LG", ATTENTION, None),
    ("https://arxiv.org/abs/1706.03762v5/", ATTENTION, "v5"),
    ("https://arxiv.org/format/1706.03762", ATTENTION, None),
    ("https://arxiv.org/html/2402.17764", BITNET, None),
    ("https://arxiv.org/html/2402.17764v1", BITNET, "v1"),
    ("https://arxiv.org/html/2402.17764v1/x1.png", BITNET, "v1"),
    ("arxiv.org/abs/1706.03762", ATTENTION, None),
    ("  https://arxiv.org/abs/1312.6199 \n", INTRIGUING, None),
    ("HTTPS://ARXIV.ORG/abs/1312.6199", INTRIGUING, None),
    ("\u200bhttps://arxiv.org/abs/1312.6199\ufeff", INTRIGUING, None),  # zero-width junk from copy-paste
    ("https://arxiv.org/abs/hep-th/9901001", HEP_TH, None),
    ("https://arxiv.org/pdf/hep-th/9901001v1.pdf", HEP_TH, "v1"),
    ("https://arxiv.org/abs/math.GT/0309136", MATH_GT, None),
    ("https://arxiv.org/abs/cs/0112017v1", CS_OLD, "v1"),
    # --- bare arXiv identifiers --------------------------------------------------------
    ("2005.11401", RAG, None),
    ("2005.11401v2", RAG, "v2"),
    ("arXiv:2005.11401", RAG, None),
    ("arXiv:1706.03762v7 [cs.CL]", ATTENTION, "v7"),
    ("arxiv: 1312.6199", INTRIGUING, None),
    ("hep-th/9901001", HEP_TH, None),
    ("arXiv:hep-th/9901001v2", HEP_TH, "v2"),
    ("math.GT/0309136", MATH_GT, None),
    ("math/0309136v3", MATH_GT, "v3"),
    ("cs/0112017", CS_OLD, None),
    ("0704.0001", ("arxiv:0704.0001", "https://arxiv.org/abs/0704.0001", "arXiv"), None),
    ("1412.7878", ("arxiv:1412.7878", "https://arxiv.org/abs/1412.7878", "arXiv"), None),
    ("1501.00001", ("arxiv:1501.00001", "https://arxiv.org/abs/1501.00001", "arXiv"), None),
    # --- arXiv mirrors and the arXiv DOI -------------------------------------------
    ("https://huggingface.co/papers/2005.11401", RAG, None),
    ("https://huggingface.co/papers/1706.03762#community", ATTENTION, None),
    ("https://www.alphaxiv.org/abs/2005.11401", RAG, None),
    ("https://alphaxiv.org/abs/2005.11401v3", RAG, "v3"),
    ("https://www.alphaxiv.org/overview/1706.03762v7", ATTENTION, "v7"),
    ("https://www.semanticscholar.org/arxiv/1706.03762", ATTENTION, None),
    ("https://api.semanticscholar.org/arXiv:1706.03762", ATTENTION, None),
    ("https://ar5iv.labs.arxiv.org/html/1706.03762", ATTENTION, None),
    ("https://ar5iv.org/abs/1312.6199", INTRIGUING, None),
    ("https://web.archive.org/web/2020/https://arxiv.org/abs/1706.03762", ATTENTION, None),
    ("https://doi.org/10.48550/arXiv.1706.03762", ATTENTION, None),
    ("doi:10.48550/arXiv.2005.11401", RAG, None),
    ("10.48550/ARXIV.1312.6199", INTRIGUING, None),
    # --- DOIs --------------------------------------------------------------------------
    ("https://doi.org/10.1038/nature14539", DEEP_LEARNING, None),
    ("http://dx.doi.org/10.1038/nature14539", DEEP_LEARNING, None),
    ("doi.org/10.1038/nature14539", DEEP_LEARNING, None),
    ("https://doi.org/10.1038/NATURE14539", DEEP_LEARNING, None),
    ("https://doi.org/10.1038/nature14539.", DEEP_LEARNING, None),
    ("doi:10.1145/3292500.3330701", OPTUNA, None),
    ("DOI: 10.1145/3292500.3330701", OPTUNA, None),
    ("10.1145/3292500.3330701", OPTUNA, None),
    ("10.1145%2F3292500.3330701", OPTUNA, None),
    ("https://doi.org/10.1145%2F3292500.3330701", OPTUNA, None),
    # --- publisher pages that embed a DOI ---------------------------------------------
    ("https://dl.acm.org/doi/10.1145/3292500.3330701", OPTUNA, None),
    ("https://dl.acm.org/doi/abs/10.1145/3292500.3330701", OPTUNA, None),
    ("https://dl.acm.org/doi/pdf/10.1145/3292500.3330701?download=true", OPTUNA, None),
    ("https://link.springer.com/article/10.1007/s11263-015-0816-y", IMAGENET, None),
    ("https://link.springer.com/content/pdf/10.1007/s11263-015-0816-y.pdf", IMAGENET, None),
    ("https://onlinelibrary.wiley.com/doi/10.1002/andp.19053221004", RELATIVITY, None),
    ("https://onlinelibrary.wiley.com/doi/abs/10.1002/andp.19053221004", RELATIVITY, None),
    ("https://www.nature.com/articles/nature14539", DEEP_LEARNING, None),
    ("https://www.nature.com/articles/nature16961", ALPHAGO, None),
    ("https://www.nature.com/articles/s41586-021-03819-2", ALPHAFOLD, None),
    ("https://www.nature.com/articles/s41586-021-03819-2.pdf", ALPHAFOLD, None),
    ("https://www.science.org/doi/10.1126/science.aar6404", ALPHAZERO, None),
    ("https://www.science.org/doi/full/10.1126/science.aar6404", ALPHAZERO, None),
    # --- bioRxiv / medRxiv -------------------------------------------------------------
    ("https://www.biorxiv.org/content/10.1101/2020.01.01.123456v2", BIORXIV, "v2"),
    ("https://www.biorxiv.org/content/10.1101/2020.01.01.123456v2.full", BIORXIV, "v2"),
    ("https://www.biorxiv.org/content/10.1101/2020.01.01.123456v2.full.pdf", BIORXIV, "v2"),
    ("https://biorxiv.org/content/10.1101/2020.01.01.123456", BIORXIV, None),
    (
        "https://www.medrxiv.org/content/10.1101/2020.03.09.20033217v1.full-text",
        ("doi:10.1101/2020.03.09.20033217", "https://doi.org/10.1101/2020.03.09.20033217", "medRxiv"),
        "v1",
    ),
    ("https://www.biorxiv.org/content/10.1101/622803v4", ("doi:10.1101/622803", "https://doi.org/10.1101/622803", "bioRxiv"), "v4"),
    # --- OpenReview --------------------------------------------------------------------
    ("https://openreview.net/forum?id=H1gB4RVKvB", ICLR_A, None),
    ("https://openreview.net/pdf?id=H1gB4RVKvB", ICLR_A, None),
    ("https://openreview.net/forum?id=rJl-b3RcF7&noteId=rJl-b3RcF7", ICLR_B, None),
    ("openreview.net/forum?id=rJl-b3RcF7", ICLR_B, None),
    ("openreview:H1gB4RVKvB", ICLR_A, None),
    # --- ACL Anthology -----------------------------------------------------------------
    ("https://aclanthology.org/2020.acl-main.1", ACL_2020, None),
    ("https://aclanthology.org/2020.acl-main.1/", ACL_2020, None),
    ("https://aclanthology.org/2020.acl-main.1.pdf", ACL_2020, None),
    ("https://aclanthology.org/N19-1423", BERT, None),
    ("https://aclanthology.org/N19-1423.pdf", BERT, None),
    ("https://www.aclweb.org/anthology/N19-1423", BERT, None),
    ("https://www.aclweb.org/anthology/N19-1423.pdf", BERT, None),
    ("http://www.aclweb.org/anthology/N/N19/N19-1423.pdf", BERT, None),
    # --- PMLR --------------------------------------------------------------------------
    ("https://proceedings.mlr.press/v119/chen20j.html", SIMCLR, None),
    ("http://proceedings.mlr.press/v119/chen20j/chen20j.pdf", SIMCLR, None),
    ("https://proceedings.mlr.press/v119/chen20j/chen20j-supp.pdf", SIMCLR, None),
    ("https://proceedings.mlr.press/v37/ioffe15.html", BATCHNORM, None),
    ("http://proceedings.mlr.press/v37/ioffe15.pdf", BATCHNORM, None),
    ("http://jmlr.org/proceedings/papers/v37/ioffe15.html", BATCHNORM, None),
    # --- NeurIPS -----------------------------------------------------------------------
    (f"https://proceedings.neurips.cc/paper/2020/hash/{GPT3_HASH}-Abstract.html", GPT3, None),
    (f"https://proceedings.neurips.cc/paper_files/paper/2020/hash/{GPT3_HASH}-Abstract.html", GPT3, None),
    (f"https://proceedings.neurips.cc/paper/2020/file/{GPT3_HASH}-Paper.pdf", GPT3, None),
    (f"https://papers.nips.cc/paper/2020/hash/{GPT3_HASH}-Abstract.html", GPT3, None),
    (
        f"https://proceedings.neurips.cc/paper_files/paper/2022/file/{NEURIPS_2022_HASH}-Paper-Conference.pdf",
        NEURIPS_2022,
        None,
    ),
    (
        "https://papers.nips.cc/paper/7181-attention-is-all-you-need",
        ("neurips:7181", "https://papers.nips.cc/paper/7181-attention-is-all-you-need", "NeurIPS"),
        None,
    ),
    (
        "https://papers.nips.cc/paper/7181-attention-is-all-you-need.pdf",
        ("neurips:7181", "https://papers.nips.cc/paper/7181-attention-is-all-you-need", "NeurIPS"),
        None,
    ),
    # --- everything else: normalised Web links ----------------------------------------
    ("https://ieeexplore.ieee.org/document/8578843", web("https://ieeexplore.ieee.org/document/8578843"), None),
    (
        "https://paperswithcode.com/paper/attention-is-all-you-need",
        web("https://paperswithcode.com/paper/attention-is-all-you-need"),
        None,
    ),
    (
        "HTTPS://Example.COM:443/Path/?utm_source=twitter&utm_medium=social&id=7&fbclid=abc#section-2",
        web("https://example.com/Path/?id=7"),
        None,
    ),
    ("http://example.com:80/", web("http://example.com"), None),
    ("https://example.com:8443/a", web("https://example.com:8443/a"), None),
    (
        "https://example.com/paper?b=2&a=1&gclid=x&mc_cid=y&mc_eid=z&UTM_Campaign=q",
        web("https://example.com/paper?b=2&a=1"),
        None,
    ),
    ("https://www.youtube.com/watch?v=dQw4w9WgXcQ&si=Xyz123", web("https://www.youtube.com/watch?v=dQw4w9WgXcQ"), None),
    ("https://blog.example.org/posts/rag/", web("https://blog.example.org/posts/rag/"), None),
    ("https://example.com/?", web("https://example.com"), None),
    (
        "https://openreview.net/group?id=ICLR.cc/2020/Conference",
        web("https://openreview.net/group?id=ICLR.cc/2020/Conference"),
        None,
    ),
    ("https://arxiv.org/list/cs.LG/recent", web("https://arxiv.org/list/cs.LG/recent"), None),
    ("https://bücher.example/ä?q=ü", web("https://xn--bcher-kva.example/%C3%A4?q=%C3%BC"), None),
]


@pytest.mark.parametrize(("text", "expected", "version"), VALID, ids=[row[0].strip()[:80] for row in VALID])
def test_identify(text: str, expected: tuple[str, str, str], version: str | None) -> None:
    canonical_id, url, source = expected
    assert identify(text) == PaperId(canonical_id=canonical_id, url=url, source=source, version=version)


def assert_human_message(err: PaperIdError) -> None:
    """A one-sentence, user-facing message: capitalised, ends with a full stop, no internals."""
    message = str(err)
    assert 15 <= len(message) <= 200, message
    assert message[0].isupper(), message
    assert message.endswith("."), message
    assert "\n" not in message
    for internal in ("Traceback", "PaperId", "regex", "None", "re.Match", "Error"):
        assert internal not in message, message


REFUSED = [
    "",
    "   \n\t",
    "javascript:alert(1)",
    "JavaScript:alert(document.cookie)",
    "data:text/html,<script>alert(1)</script>",
    "ftp://arxiv.org/abs/2005.11401",
    "file:///etc/passwd",
    "mailto:someone@example.com",
    "https://example.com/a b",
    "https://arxiv.org/abs/2005.11401\nhttps://evil.example",
    "https://arxiv.org/abs/2005.1140\u200b1",  # invisible character inside
    "https://example.com/" + "a" * 2000,
    "http://localhost/paper",
    "localhost:5000/paper",
    "http://127.0.0.1:5000/",
    "http://[::1]/",
    "http://10.0.0.1/admin",
    "https://user:secret@example.com/",
    "https://example.com:99999/",
    "https://",
    "https:///path-only",
    "https://exa$mple.com/",
    "example.com/paper",
    "www.example.com",
    "hello",
    "2013.12345",  # month 13
    "1501.1234",  # 2015+ ids have 5 digits
    "1412.12345",  # pre-2015 ids have 4 digits
    "0612.0001",  # new-style ids start in April 2007
    "2005.11401v0",
    "foo/9901001",  # not an arXiv archive
    "arXiv:not-an-id",
    "10.1234",
    "doi:10.1038/",
    "https://doi.org/",
    "https://doi.org/not-a-doi",
    "https://arxiv.org/abs/not-an-id",
    "https://arxiv.org/pdf/",
    "https://openreview.net/forum",
    "https://openreview.net/forum?id=",
    "https://openreview.net/pdf?id=<script>",
    "url:example.com",
    "url:javascript:alert(1)",
    "acl:not an id",
    "pmlr:chen20j",
    "neurips:2020/nothex",
]


@pytest.mark.parametrize("text", REFUSED, ids=[repr(t[:60]) for t in REFUSED])
def test_identify_refuses(text: str) -> None:
    with pytest.raises(PaperIdError) as excinfo:
        identify(text)
    assert_human_message(excinfo.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("javascript:alert(1)", "Only http and https links can be submitted."),
        ("mailto:someone@example.com", "Only http and https links can be submitted."),
        ("", "Please paste a paper link or identifier."),
        ("example.com/paper", "Please paste the full link, starting with https://."),
    ],
)
def test_specific_messages(text: str, message: str) -> None:
    with pytest.raises(PaperIdError, match="^" + message.replace(".", r"\.") + "$"):
        identify(text)


def test_paper_id_error_is_value_error() -> None:
    assert issubclass(PaperIdError, ValueError)


def test_one_paper_many_links_one_canonical_id() -> None:
    links = [
        "https://arxiv.org/abs/2005.11401",
        "https://arxiv.org/pdf/2005.11401v2.pdf",
        "https://huggingface.co/papers/2005.11401",
        "https://doi.org/10.48550/arXiv.2005.11401",
        "arXiv:2005.11401v3",
    ]
    assert {identify(link).canonical_id for link in links} == {"arxiv:2005.11401"}


# Rows whose displayed URL legitimately differs from url_for_canonical(): the old NIPS
# numbering keeps the slug the user pasted, which the canonical id does not carry.
URL_NOT_RECOVERABLE = {"neurips:7181"}


@pytest.mark.parametrize(("text", "expected", "version"), VALID, ids=[row[0].strip()[:80] for row in VALID])
def test_canonical_round_trip(text: str, expected: tuple[str, str, str], version: str | None) -> None:
    paper = identify(text)
    assert identify(paper.canonical_id).canonical_id == paper.canonical_id
    if paper.canonical_id not in URL_NOT_RECOVERABLE:
        assert url_for_canonical(paper.canonical_id) == paper.url
    # Normalising an already-normalised URL changes nothing.
    assert identify(paper.url).canonical_id == paper.canonical_id


@pytest.mark.parametrize(
    ("canonical_id", "url"),
    [
        ("arxiv:2005.11401", "https://arxiv.org/abs/2005.11401"),
        ("arxiv:hep-th/9901001", "https://arxiv.org/abs/hep-th/9901001"),
        ("arxiv:math/0309136", "https://arxiv.org/abs/math/0309136"),
        ("doi:10.1038/nature14539", "https://doi.org/10.1038/nature14539"),
        ("doi:10.1101/2020.01.01.123456", "https://doi.org/10.1101/2020.01.01.123456"),
        ("doi:10.48550/arxiv.1706.03762", "https://arxiv.org/abs/1706.03762"),
        (
            "doi:10.1002/(sici)1097-4571(199806)49:8<693::aid-asi4>3.0.co;2-o",
            "https://doi.org/10.1002/(sici)1097-4571(199806)49:8%3C693::aid-asi4%3E3.0.co;2-o",
        ),
        ("doi:10.1000/100%", "https://doi.org/10.1000/100%25"),
        ("openreview:H1gB4RVKvB", "https://openreview.net/forum?id=H1gB4RVKvB"),
        ("acl:2020.acl-main.1", "https://aclanthology.org/2020.acl-main.1"),
        ("acl:N19-1423", "https://aclanthology.org/N19-1423"),
        ("pmlr:v119/chen20j", "https://proceedings.mlr.press/v119/chen20j.html"),
        (f"neurips:2020/{GPT3_HASH}", GPT3[1]),
        (f"neurips:2020/hash/{GPT3_HASH}", GPT3[1]),
        (f"neurips:2022/{NEURIPS_2022_HASH}", NEURIPS_2022[1]),
        ("neurips:7181", "https://papers.nips.cc/paper/7181"),
        ("url:https://example.com/path?q=1", "https://example.com/path?q=1"),
    ],
)
def test_url_for_canonical(canonical_id: str, url: str) -> None:
    assert url_for_canonical(canonical_id) == url


@pytest.mark.parametrize(
    "canonical_id",
    [
        "",
        "arxiv",
        "2005.11401",
        "isbn:9780262035613",
        "https://arxiv.org/abs/2005.11401",
        "arxiv:garbage",
        "doi:not-a-doi",
        "openreview:",
        "openreview:bad id",
        "acl:P19",
        "pmlr:v119",
        "neurips:2020/xyz",
        "url:javascript:alert(1)",
        "url:ftp://example.com/",
    ],
)
def test_url_for_canonical_refuses(canonical_id: str) -> None:
    with pytest.raises(PaperIdError) as excinfo:
        url_for_canonical(canonical_id)
    assert_human_message(excinfo.value)


@pytest.mark.parametrize(
    ("text", "arxiv_id", "doi"),
    [
        ("https://arxiv.org/abs/2005.11401v2", "2005.11401", None),
        ("hep-th/9901001", "hep-th/9901001", None),
        ("https://doi.org/10.1038/nature14539", None, "10.1038/nature14539"),
        ("https://www.biorxiv.org/content/10.1101/2020.01.01.123456v2", None, "10.1101/2020.01.01.123456"),
        ("https://openreview.net/forum?id=H1gB4RVKvB", None, None),
        ("https://example.com/", None, None),
    ],
)
def test_convenience_properties(text: str, arxiv_id: str | None, doi: str | None) -> None:
    paper = identify(text)
    assert paper.arxiv_id == arxiv_id
    assert paper.doi == doi


def test_paper_id_is_frozen() -> None:
    paper = identify("2005.11401")
    with pytest.raises(dataclasses.FrozenInstanceError):
        paper.canonical_id = "arxiv:0000.00000"  # type: ignore[misc]
