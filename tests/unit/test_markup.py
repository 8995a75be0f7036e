"""community.markup: Markdown with math, sanitised; attacks never survive."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from community import markup


def test_markdown_basics():
    html = markup.render("*em* **strong** `code`\n\n> quote\n\n- a\n- b\n\n| x | y |\n|---|---|\n| 1 | 2 |")
    for fragment in ("<em>em</em>", "<strong>strong</strong>", "<code>code</code>", "<blockquote>", "<li>a</li>", "<td>1</td>"):
        assert fragment in html


def test_fenced_code_keeps_dollars_and_underscores():
    html = markup.render("```python\nx_1 = $a$ * b_2\n```")
    assert "<pre tabindex=\"0\"><code>x_1 = $a$ * b_2\n</code></pre>" in html and "<math" not in html


def test_inline_and_display_math_become_mathml():
    html = markup.render("Loss $\\mathcal{L}(\\theta)$ and\n\n$$\\sum_{i=1}^n x_i^2$$")  # display: a paragraph of its own
    assert html.count("<math") == 2
    assert 'display="inline"' in html and 'display="block"' in html
    assert "<msubsup>" in html or "<munderover>" in html


def test_underscores_inside_math_are_not_emphasis():
    html = markup.render(r"$a_1 + b_2$ and $c_3$")
    assert "<em>" not in html and html.count("<math") == 2


def test_money_is_not_math_and_escaped_dollar_is_a_dollar():
    assert "<math" not in markup.render("It costs $5 and $6 per GPU hour")
    assert markup.render(r"\$x\$") == "<p>$x$</p>"


def test_bad_latex_shows_the_source_instead_of_failing():
    html = markup.render(r"$\frac{1}{$ ok")
    assert "<p>" in html


def test_bare_urls_autolink_with_ugc_rel():
    html = markup.render("see https://arxiv.org/abs/2005.11401.")
    assert '<a href="https://arxiv.org/abs/2005.11401" rel="nofollow ugc noopener">' in html
    assert html.endswith(".</p>")


@pytest.mark.parametrize("source", [
    "<script>alert(1)</script>",
    "[x](javascript:alert(1))",
    "[x](JaVaScRiPt:alert(1))",
    "[x](javascript&#58;alert(1))",
    "![x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "![x](javascript:alert(1))",
    "[x][1]\n\n[1]: javascript:alert(1)",
    "<javascript:alert(1)>",
    "<img src=x onerror=alert(1)>",
    '<a href="http://x" onclick="alert(1)">k</a>',
    '<p style="background:url(javascript:alert(1))">x</p>',
    "<style>*{background:url(//evil.example)}</style>",
    "<svg onload=alert(1)>",
    "<iframe srcdoc='<script>alert(1)</script>'>",
    "<math><mtext><script>alert(1)</script></mtext></math>",
    '<math href="javascript:alert(1)"><mi>x</mi></math>',
    '<math><mi xlink:href="javascript:alert(1)">x</mi></math>',
    r"$\href{javascript:alert(1)}{x}$",
    '<details open ontoggle=alert(1)>',
    '[x](http://a.example "\\" onmouseover=alert(1) x=\\"")',
    "<form action=javascript:alert(1)><button>go</button></form>",
    "[x](data:text/html,<script>alert(1)</script>)",
])
def test_attacks_never_survive(source):
    assert_safe(markup.render(source))


class _Audit(HTMLParser):
    def __init__(self):
        super().__init__()
        self.problems: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag not in markup.HTML_TAGS | markup.MATHML_TAGS:
            self.problems.append(f"tag <{tag}>")
        for name, value in attrs:
            if name.startswith("on") or name in ("style", "srcdoc", "xlink:href", "src", "formaction"):
                self.problems.append(f"attribute {name} on <{tag}>")
            if name == "href" and not re.match(r"(https?:|mailto:|\?t=\d+#player$)", value or ""):
                self.problems.append(f"href {value!r}")


def assert_safe(html: str) -> None:
    """Structural check: only allow-listed tags, no handlers or styles, only safe link schemes."""
    audit = _Audit()
    audit.feed(html)
    assert audit.problems == [], (audit.problems, html)


def test_show_notes_keep_links_drop_pixels_and_link_moments():
    html = markup.render_feed_html('<p>At 1:02:03 <a href="https://x.example">x</a><img src="http://t.example/p.gif" width="1"></p>')
    assert '<a class="seek" href="?t=3723#player">1:02:03</a>' in html
    assert 'rel="nofollow noopener"' in html and "<img" not in html


@pytest.mark.parametrize("text, seconds", [("12:34", 754), ("1:02:03", 3723), ("0:05", 5), ("99", None), ("1:75", None)])
def test_timestamp_seconds(text, seconds):
    assert markup.timestamp_seconds(text) == seconds


def test_what_scrolls_in_its_own_box_can_be_scrolled_by_keyboard():
    html = markup.render("Short $x$ stays out of the tab order.\n\n$$y^2$$\n\n"
                         "Long $" + " + ".join(f"a_{i}" for i in range(20)) + "$ is reachable.\n\n```\ncode\n```")
    assert html.count('tabindex="0"') == 3  # the display formula, the long inline one, the code block
    assert '<math xmlns="http://www.w3.org/1998/Math/MathML" display="inline"><mrow><mi>x</mi>' in html
