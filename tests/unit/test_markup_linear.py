"""markup.render's time grows linearly with the text, whatever its shape (issue 15, item 1).

Each pathological shape is rendered at 2,500, 5,000, 10,000 and 20,000 characters (the
comment limit). CPU time (time.process_time, the least of 3 runs) may grow at most 3 times
faster than the text plus 20 ms, which a busy machine does not trip but a quadratic shape
does (64 times the time for 8 times the text). Past a bound, render shows the text as
written, so a shape may also get cheaper as it grows.
"""

from __future__ import annotations

import signal
import time
from contextlib import contextmanager

import pytest

from community import markup
from community.services import discussion

SIZES = (2_500, 5_000, 10_000, 20_000)
# A quadratic shape takes 64x the time at 8x the size. The '<div>' run took 12.5x on a quiet
# machine and 34x in one loaded CI run (its smallest size timed fast there): 4.5 (36x) keeps
# quadratics failing without failing on that noise.
SLACK = 4.5
FLOOR = 0.02  # seconds: below this, timings are noise
# Seconds of CPU for any shape at 20,000 characters: a bound on a disaster (a quadratic shape
# takes tens of seconds there), not a speed target, which bench/ measures. The slowest shapes
# take 0.41-0.49 s on a quiet machine and 0.52-0.59 s on a busy one.
WORST = 2.0


def fill(unit: str, size: int, head: str = "", tail: str = "") -> str:
    """head + unit repeated + tail, about `size` characters."""
    return head + unit * max(1, (size - len(head) - len(tail)) // len(unit)) + tail


def every(unit: str, size: int, gap: int = 50) -> str:
    """unit every `gap` characters, plain text between."""
    return (unit + "a" * (gap - len(unit))) * (size // gap)


def growing(line, size: int, sep: str = "\n") -> str:
    """line(0), line(1), ... joined by sep, up to `size` characters."""
    parts, used, i = [], 0, 0
    while used + len(line(i)) + len(sep) <= size:
        parts.append(line(i))
        used += len(line(i)) + len(sep)
        i += 1
    return sep.join(parts)


SHAPES = {
    # Nested list and quote markers (MAX_NESTING), the ReDoS of issue 15 first.
    "nesting: '-  ' * 43 + 'x' per line (the ReDoS)": lambda n: fill("-  " * 43 + "x\n", n),
    "nesting: '-  ' * 63 + 'x' per line": lambda n: fill("-  " * 63 + "x\n", n),
    "nesting: '-  ' run": lambda n: fill("-  ", n, tail="x"),
    "nesting: '- ' run": lambda n: fill("- ", n, tail="x"),
    "nesting: '-\\t' run": lambda n: fill("-\t", n, tail="x"),
    "nesting: '* ' run": lambda n: fill("* ", n, tail="x"),
    "nesting: '1. ' run": lambda n: fill("1. ", n, tail="x"),
    "nesting: '1) ' run": lambda n: fill("1) ", n, tail="x"),
    "nesting: '> ' run": lambda n: fill("> ", n, tail="x"),
    "nesting: '>' run": lambda n: fill(">", n, tail=" x"),
    "nesting: '- * 1. > ' run": lambda n: fill("- * 1. > ", n, tail="x"),
    "nesting: '- ' * 64 per line": lambda n: fill("- " * 64 + "x\n", n),
    "nesting: '- > 1. * ' * 16 per line": lambda n: fill("- > 1. * " * 16 + "x\n", n),
    "nesting: '> ' * 63 per line": lambda n: fill("> " * 63 + "x\n", n),
    "nesting: '- ' lines": lambda n: fill("- \n", n),
    "nesting: '-  ' * 43 + 'x' per CR line": lambda n: fill("-  " * 43 + "x\r", n),
    "nesting: indented 4 spaces a level": lambda n: growing(lambda i: "    " * i + "- x", n),
    "nesting: indented a tab a level": lambda n: growing(lambda i: "\t" * i + "- x", n),
    "nesting: '>' * i per line": lambda n: growing(lambda i: ">" * i + " x", n),
    "nesting: newlines": lambda n: "\n" * (n - 1) + "x",
    # One-line blocks: the block parser re-reads the rest of the block after each.
    "blocks: '#' lines": lambda n: fill("#\n", n),
    "blocks: '# a' lines": lambda n: fill("# a\n", n),
    "blocks: '---' lines": lambda n: fill("---\n", n),
    "blocks: setext 'a' '===' lines": lambda n: fill("a\n===\n", n),
    "blocks: '-' lines": lambda n: fill("-\n", n),
    "blocks: '-\\t' lines": lambda n: fill("-\t\n", n),
    "blocks: '#' CR lines": lambda n: fill("#\r", n),
    "blocks: 990 '-' lines then text": lambda n: fill("a", n, head="-\n" * 990),
    "blocks: '1. a' '- b' lines": lambda n: fill("1. a\n- b\n", n),
    "fences: '```x' lines": lambda n: fill("```x\n", n),
    "fences: '```x' paragraphs": lambda n: fill("```x\n\n", n),
    "fences: '~~~' lines": lambda n: fill("~~~\n", n),
    "fences: 470 unclosed then text": lambda n: fill("a", n, head="```x\n" * 470),
    # Links: the link parser reads from "[" to its "]" and from "](" to its ")".
    "links: '[' run": lambda n: fill("[", n, tail="x"),
    "links: '[' every 50": lambda n: every("[", n),
    "links: 33 unmatched '[' then text": lambda n: fill("a", n, head="[" * 33),
    "links: nested '[' ']' every 50": lambda n: "[" * (n // 50) + "a" * (n - n // 25) + "]" * (n // 50),
    "links: '[x](' every 50": lambda n: every("[x](", n),
    "links: \"[x](a'b)\" every 50": lambda n: every("[x](a'b)", n),
    "links: '[x](<' every 50": lambda n: every("[x](<", n),
    "links: '[x][' every 50": lambda n: every("[x][", n),
    "links: '![' every 50": lambda n: every("![", n),
    "links: '](' run": lambda n: fill("](", n),
    "links: '[x](' then '('": lambda n: fill("(", n, head="[x]("),
    "links: '[x](a) ' run": lambda n: fill("[x](a) ", n),
    "links: reading list": lambda n: fill("- [A paper title](https://arxiv.org/abs/2005.11401)\n", n),
    "links: '[x]: u' definitions": lambda n: fill("[x]: u\n", n),
    # Emphasis.
    "emphasis: '*' run": lambda n: fill("*", n, tail="x"),
    "emphasis: '*' * n/2 + x + '*' * n/2": lambda n: "*" * (n // 2) + "x" + "*" * (n // 2),
    "emphasis: '_' * n/2 + x + '_' * n/2": lambda n: "_" * (n // 2) + "x" + "_" * (n // 2),
    "emphasis: '*a' run": lambda n: fill("*a", n),
    "emphasis: '_a' run": lambda n: fill("_a", n),
    "emphasis: '**a' run": lambda n: fill("**a", n),
    "emphasis: '***a' run": lambda n: fill("***a", n),
    "emphasis: '*_' run": lambda n: fill("*_", n),
    "emphasis: '*a* ' run": lambda n: fill("*a* ", n),
    "emphasis: growing '*' runs": lambda n: growing(lambda i: "*" * (i + 1) + "a", n, sep=" "),
    # Code spans.
    "code: '`' run": lambda n: fill("`", n, tail="x"),
    "code: '`a' run": lambda n: fill("`a", n),
    "code: '``a' run": lambda n: fill("``a", n),
    "code: growing backtick runs": lambda n: growing(lambda i: "`" * (i + 1) + "a", n, sep=" "),
    "code: 32 backtick lengths then text": lambda n: fill("a", n, head=" ".join("`" * i for i in range(1, 33)) + " "),
    "code: escaped backticks": lambda n: fill("\\`", n),
    # HTML-ish text: html.parser reads on from an unclosed "<a".
    "html: '<' run": lambda n: fill("<", n),
    "html: '<a' run": lambda n: fill("<a", n),
    "html: \"<a href='\" run": lambda n: fill("<a href='", n),
    "html: '<a b=\"' run": lambda n: fill('<a b="', n),
    "html: '<x@' run": lambda n: fill("<x@", n),
    "html: '<http:' run": lambda n: fill("<http:", n),
    "html: '<div>' run": lambda n: fill("<div>", n),
    "html: '</' run": lambda n: fill("</", n),
    "html: '<!--' run": lambda n: fill("<!--", n),
    "html: '<![CDATA[' run": lambda n: fill("<![CDATA[", n),
    "html: 95 '<a ' then attribute-like text": lambda n: fill("a ", n, head="<a " * 95),
    "html: plain closed tags '<sub>x</sub>' run": lambda n: fill("<sub>x</sub>", n),
    "html: \"<a b='>' \" * 95 then attribute-like text": lambda n: fill("a ", n, head="<a b='>' " * 95),
    "html: '&#1' run": lambda n: fill("&#1", n),
    "html: '&a' run": lambda n: fill("&a", n),
    "escapes: '\\' run": lambda n: fill("\\", n),
    "escapes: '\\x' run": lambda n: fill("\\x", n),
    # Math, and latex2mathml on deep nesting.
    "math: '$' run": lambda n: fill("$", n),
    "math: '$a' run": lambda n: fill("$a", n),
    "math: '$$a' run": lambda n: fill("$$a", n),
    "math: unclosed '$$'": lambda n: fill("a", n, head="$$"),
    "math: unclosed '$'": lambda n: fill("a", n, head="$"),
    "math: '$a$ ' spans": lambda n: fill("$a$ ", n),
    "math: '$x^2+y$ ' spans": lambda n: fill("$x^2+y$ ", n),
    "math: '$$a$$ ' spans": lambda n: fill("$$a$$ ", n),
    "math: '$`' run": lambda n: fill("$`", n),
    "math: brace nesting": lambda n: "$" + "{" * (n // 2 - 2) + "x" + "}" * (n // 2 - 2) + "$",
    "math: \\frac nesting": lambda n: "$" + "\\frac{" * (n // 10) + "x" + "}{y}" * (n // 10) + "$",
    "math: display \\frac nesting": lambda n: "$$" + "\\frac{" * (n // 10) + "x" + "}{y}" * (n // 10) + "$$",
    "math: \\sqrt nesting": lambda n: "$" + "\\sqrt{" * (n // 8) + "x" + "}" * (n // 8) + "$",
    "math: x^{ nesting": lambda n: "$" + "x^{" * (n // 4) + "x" + "}" * (n // 4) + "$",
    "math: \\left( nesting": lambda n: "$" + "\\left(" * (n // 14) + "x" + "\\right)" * (n // 14) + "$",
    "math: matrix": lambda n: "$\\begin{matrix}" + "a&" * (n // 4 - 10) + "\\\\" + "b&" * (n // 4 - 10) + "\\end{matrix}$",
    "math: one long formula": lambda n: "$" + "a+" * (n // 2 - 1) + "b$",
    "math: backslashes": lambda n: "$" + "\\" * (n - 3) + "x$",
    # Tables.
    "tables: '|' run": lambda n: fill("|", n),
    "tables: rows": lambda n: fill("|x|y|\n", n, head="|a|b|\n|-|-|\n"),
    "tables: columns": lambda n: "|a" * (n // 8) + "|\n" + "|-" * (n // 8) + "|\n" + "|x" * (n // 8) + "|\n",
    "tables: rows of 50 pipes": lambda n: fill("|" * 50 + "\n", n, head="|a|b|\n|-|-|\n"),
    "tables: backticks and pipes in a row": lambda n: fill("`|", n, head="|a|b|\n|-|-|\n|"),
    "tables: escaped pipes in a row": lambda n: fill("\\|", n, head="|a|b|\n|-|-|\n|"),
    "tables: many tables": lambda n: fill("|a|b|\n|-|-|\n|x|y|\n\n", n),
    # Bare URLs, mentions, long lines.
    "urls: 'http://' run": lambda n: fill("http://", n),
    "urls: 'http://a ' run": lambda n: fill("http://a ", n),
    "urls: 'https://' + '.' run": lambda n: fill(".", n, head="https://"),
    "urls: '(http://' run": lambda n: fill("(http://", n),
    "urls: '<http://a>' run": lambda n: fill("<http://a>", n),
    "urls: one long URL": lambda n: fill("b", n, head="https://a/"),
    "mentions: '@' run": lambda n: fill("@", n),
    "mentions: '@member_user ' run": lambda n: fill("@member_user ", n),
    "text: one long word": lambda n: "a" * n,
    "text: 'a ' run": lambda n: fill("a ", n),
    "text: one-letter paragraphs": lambda n: fill("a\n\n", n),
    "text: line breaks 'a  '": lambda n: fill("a  \n", n),
    "text: spaces": lambda n: " " * (n - 1) + "x",
    "text: astral characters": lambda n: fill("\U0001F600", n),
}


@contextmanager
def deadline(seconds: float):
    """Fail rather than hang: a backtracking regex is interrupted by a signal."""
    def expire(*_):
        raise TimeoutError(f"still rendering after {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def cpu_seconds(source: str) -> float:
    best = float("inf")
    for _ in range(3):
        start = time.process_time()
        markup.render(source, {"member_user"})
        best = min(best, time.process_time() - start)
    return best


def test_the_reported_redos_body_renders_at_once():
    with deadline(10):
        assert cpu_seconds("-  " * 43 + "x") < FLOOR


@pytest.mark.parametrize("shape", list(SHAPES.values()), ids=list(SHAPES))
def test_render_time_grows_linearly(shape):
    with deadline(60):
        times = [cpu_seconds(shape(size)) for size in SIZES]
    figures = ", ".join(f"{size:,}: {seconds * 1000:.1f} ms" for size, seconds in zip(SIZES, times))
    for size, seconds in zip(SIZES[1:], times[1:]):
        assert seconds <= size / SIZES[0] * times[0] * SLACK + FLOOR, f"faster than linear: {figures}"
    assert times[-1] < WORST, figures


EDGES = {  # the costliest text of each kind that is still within the bounds
    "33 '['": fill("a", 20_000, head="[" * 33),
    "990 '-' lines": fill("a", 20_000, head="-\n" * 990),
    "470 fences": fill("a", 20_000, head="```x\n" * 470),
    "95 '<a '": fill("a ", 20_000, head="<a " * 95),
    "32 backtick lengths": fill("a", 20_000, head=" ".join("`" * i for i in range(1, 33)) + " "),
    "64 markers per line": fill("- " * 64 + "x\n", 20_000),
}


@pytest.mark.parametrize("source", list(EDGES.values()), ids=list(EDGES))
def test_the_costliest_shapes_within_the_bounds_still_get_markdown(source):
    """The edge shapes above really exercise the parser, not the as-written fallback."""
    assert not markup._too_costly(source)


def test_past_the_bounds_the_text_is_shown_as_written():
    for source in ["[" * 40 + "a" * 19_960, "-\n" * 1100, "<a " * 120, "- " * 65 + "x", "a" * 20_001]:
        assert markup._too_costly(source)
        assert markup.render(source) == markup._as_written(source)


def test_every_body_a_form_accepts_gets_markdown():
    assert markup.MAX_MARKDOWN >= discussion.MAX_BODY


def test_formulas_past_max_math_are_shown_as_their_source():
    html = markup.render("$a$ " * markup.MAX_MATH + "$b$")
    assert html.count("<math") == markup.MAX_MATH
    assert html.endswith("<code>$b$</code></p>")
