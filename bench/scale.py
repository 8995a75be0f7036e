"""Does the site slow down as the community grows? The episode pages and search, on
PostgreSQL, with 10,000 and with 1,000,000 posts, side by side.

    .venv/bin/python bench/scale.py [--small 10000] [--large 1000000] [--duration 5]
                                    [--out bench/scale-results.md]

Each size gets a fresh database (`flask bench-data`) and the `--rows scale` rows of
bench/run.py: the episode pages with 500 and 2,000 comments (anonymous, gzip, logged
in, uncached) and search. The three benchmark episodes are the same size in both, so the
figures should stay close: the target is the large database within 1.5x of the small.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.run import HELLO_LABEL, bench, parser, report_options, run_report  # noqa: E402

TARGET = 1.5


def main(argv: list[str] | None = None) -> int:
    options = report_options(__doc__, "scale-results.md", duration=5)
    options.add_argument("--small", type=int, default=10_000)
    options.add_argument("--large", type=int, default=1_000_000)
    return run_report(options, argv, compare)


def compare(args: argparse.Namespace, info: dict[str, str]) -> str:
    """The report: each size measured on a fresh database, the two side by side."""
    runs = {}
    for posts in (args.small, args.large):
        run_args = parser().parse_args(["--database", "postgresql", "--rows", "scale", "--posts", str(posts),
                                        "--duration", str(args.duration)])
        settings, results, _, summary, generated_in = bench(run_args)
        runs[posts] = (results, summary, generated_in, settings)

    small, large = runs[args.small][0], runs[args.large][0]
    by_label = {r.label: r for r in large}
    lines = [f"| page | {args.small:,} posts: req/s | p50 ms | {args.large:,} posts: req/s | p50 ms "
             f"| cost ratio (large / small) | within {TARGET}x |", "|---|---:|---:|---:|---:|---:|---|"]
    for s in small:
        big = by_label.get(s.label)
        if big is None or s.path.startswith("hello"):
            continue
        ratio = s.requests_per_second / big.requests_per_second if big.requests_per_second else float("inf")
        lines.append(f"| {s.label} | {s.requests_per_second:,.1f} | {s.p50_ms:.1f} | {big.requests_per_second:,.1f} "
                     f"| {big.p50_ms:.1f} | {ratio:.2f} | {'yes' if ratio <= TARGET else 'NO'} |")
    hello = [r for r in small + large if r.label == HELLO_LABEL]
    return "\n".join([
        "# Small and large community, PostgreSQL", "",
        "Produced by `bench/scale.py`: the same rows on two fresh databases. The cost ratio is "
        "requests per second on the small database over requests per second on the large one.", "",
        "## Machine", "", *[f"- {k}: {v}" for k, v in info.items()],
        f"- server: {runs[args.small][3]['server']}; load: {runs[args.small][3]['load']}",
        f"- hello world in the same runs: {', '.join(f'{r.requests_per_second:,.0f}' for r in hello)} req/s", "",
        "## Data", "",
        *[f"- {posts:,} posts (generated in {gen:.0f} s): `{summary}`" for posts, (_, summary, gen, _) in runs.items()],
        "", "## Results", "", *lines, ""])


if __name__ == "__main__":
    sys.exit(main())
