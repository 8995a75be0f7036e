"""Transcript search latency (issue 24: under 100 ms median with 100 episodes of transcripts).

    .venv/bin/python bench/transcript_search.py [--episodes 100] [--database sqlite|postgresql]

Generates a community once (bench/out/transcripts-N.sqlite, reused when present; on
PostgreSQL the database gi_bench_transcripts on 127.0.0.1, dropped afterwards) whose N
episodes each carry a synthetic two-hour transcript of 2,000 segments (fictional sample
text, community/seed/bench.py), then times the search service directly (no HTTP): the
whole first page (posts, episodes and the moments said in episodes). Results go to
bench/transcript-search-results.md.
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
QUERIES = ["contrastive", "sample sentence", '"world models"', "robust*", "diffusion -language", "program synthesis",
           "sentence 1234", "what it says", "continual", "the"]
PG = "postgresql+psycopg://postgres@127.0.0.1:5432/gi_bench_transcripts"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--episodes", type=int, default=100)
    parser.add_argument("--posts", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    args = parser.parse_args()
    if args.database == "sqlite":
        database = ROOT / "bench" / "out" / f"transcripts-{args.episodes}.sqlite"
        database.parent.mkdir(parents=True, exist_ok=True)
        url, fresh = f"sqlite:///{database}", not database.exists()
    else:
        subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", "DROP DATABASE IF EXISTS gi_bench_transcripts"],
                       check=True)
        subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc", "CREATE DATABASE gi_bench_transcripts"],
                       check=True)
        url, fresh = PG, True
    env = dict(os.environ, DATABASE_URL=url, SECRET_KEY="bench", FLASK_APP="community", PUBLIC_URL="http://127.0.0.1",
               PYTHONPATH=str(ROOT))
    flask = str(Path(sys.executable).parent / "flask")
    try:
        if fresh:
            started = time.monotonic()
            subprocess.run([flask, "db", "upgrade"], env=env, cwd=ROOT, check=True, capture_output=True)
            subprocess.run([flask, "bench-data", "--posts", str(args.posts), "--episodes", str(args.episodes),
                            "--transcripts", str(args.episodes)], env=env, cwd=ROOT, check=True)
            print(f"generated in {time.monotonic() - started:.0f} s", flush=True)
        rows, everything = measure(url, args.repeat)
    finally:
        if args.database == "postgresql":
            subprocess.run(["psql", "-h", "127.0.0.1", "-U", "postgres", "-qc",
                            "DROP DATABASE IF EXISTS gi_bench_transcripts"], check=False)
    lines = [f"# Transcript search latency, {args.database}, {args.episodes} episodes x 2,000 segments", "",
             f"machine: {os.cpu_count()} cores, shared; {args.repeat} runs per query; the whole first page "
             "(posts with total and snippets, episodes, and the moments said in episodes)", "",
             "| query | moments found | median ms | p90 ms |", "|---|---:|---:|---:|"]
    lines += [f"| `{q}` | {n} | {m:.1f} | {p:.1f} |" for q, n, m, p in rows]
    lines += ["", f"**Overall median: {statistics.median(everything):.1f} ms**", ""]
    out = ROOT / "bench" / "transcript-search-results.md"
    previous = out.read_text() if out.exists() else ""
    kept = [part for part in previous.split("\n# ") if part and f", {args.database}, " not in part.split("\n")[0]]
    out.write_text("\n".join(lines) + ("\n# " + "\n# ".join(p.lstrip("# ") for p in kept) if kept else ""))
    print("\n".join(lines))


def measure(url: str, repeat: int):
    sys.path.insert(0, str(ROOT))
    from community import create_app
    from community.services import search

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "PUBLIC_URL": "http://127.0.0.1"})
    rows, everything = [], []
    with app.app_context():
        for q in QUERIES:
            search.search(q, search.Filters(), None)  # warm the database's cache
            times = []
            for _ in range(repeat):
                start = time.perf_counter()
                results = search.search(q, search.Filters(), None)
                times.append((time.perf_counter() - start) * 1000)
            everything += times
            rows.append((q, len(results.moments), statistics.median(times), sorted(times)[int(len(times) * 0.9) - 1]))
    return rows, everything


if __name__ == "__main__":
    main()
