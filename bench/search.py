"""Search latency on a large SQLite community (issue: under 100 ms median at 100,000 posts).

    .venv/bin/python bench/search.py --posts 100000

Generates the community once into bench/out/search.sqlite (reused when present), then
times the search service directly (no HTTP) for a spread of queries and prints the
median and p90 per query and overall. Results go to bench/search-results.md.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# The generator reuses a few dozen bodies, so each of its words is in thousands of posts:
# a harder case than real text, whose words are mostly rare.
QUERIES = ["evaluation", "unbiased estimator", '"follow up"', "accur*", "compute -scale", "theta",
           "interesting paper", "lottery ticket", "retrieval", "the"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--posts", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=15)
    args = parser.parse_args()
    database = ROOT / "bench" / "out" / f"search-{args.posts}.sqlite"
    database.parent.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, DATABASE_URL=f"sqlite:///{database}", SECRET_KEY="bench", FLASK_APP="community",
               PUBLIC_URL="http://127.0.0.1")
    flask = str(ROOT / ".venv" / "bin" / "flask")
    if not database.exists():
        subprocess.run([flask, "db", "upgrade"], env=env, cwd=ROOT, check=True, capture_output=True)
        subprocess.run([flask, "bench-data", "--posts", str(args.posts)], env=env, cwd=ROOT, check=True)
    sys.path.insert(0, str(ROOT))
    from community import create_app
    from community.services import search

    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}", "SECRET_KEY": "bench"})
    rows, everything = [], []
    with app.app_context():
        for q in QUERIES:
            search.search(q, search.Filters(), None)  # warm the page cache of the database file
            times = []
            for _ in range(args.repeat):
                start = time.perf_counter()
                results = search.search(q, search.Filters(), None)
                times.append((time.perf_counter() - start) * 1000)
            everything += times
            rows.append((q, results.total, statistics.median(times), sorted(times)[int(len(times) * 0.9) - 1]))
    lines = [f"# Search latency, SQLite FTS5, {args.posts:,} posts", "",
             f"machine: {os.cpu_count()} cores; {args.repeat} runs per query, first page of 20 with total and snippets", "",
             "| query | matches | median ms | p90 ms |", "|---|---:|---:|---:|"]
    lines += [f"| `{q}` | {n:,} | {m:.1f} | {p:.1f} |" for q, n, m, p in rows]
    lines += ["", f"**Overall median: {statistics.median(everything):.1f} ms**", ""]
    (ROOT / "bench" / "search-results.md").write_text("\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
