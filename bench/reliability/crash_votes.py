"""How often does SIGKILL under voting load leave a score that disagrees with its votes?

Each round: a fresh SQLite file (`flask db upgrade`, one episode), gunicorn with 4
workers, one author with --posts comments, --voters members who toggle their upvotes
on those comments as fast as they can (up, then down, then up...) through the real
form endpoint; after --load seconds the whole process group gets SIGKILL. Then, for
every comment, the stored score is compared with its number of vote rows. They must
always agree: a vote and its +1 are one request, one transaction.

    .venv/bin/python bench/reliability/crash_votes.py --rounds 10

Prints one line per round and a total; exits 1 when any round found a mismatch. Not
part of `make test`: the outcome depends on where the kill lands, which is the point
of measuring it over many rounds (tests/reliability/test_vote_atomicity.py is the
deterministic form of the same question).
"""

from __future__ import annotations

import argparse
import signal
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.reliability.support import (  # noqa: E402
    Client, Server, SqliteDatabase, app_env, first_episode_slug, post_id_from, prepare_database, run_in_threads,
)


def one_round(workdir: Path, posts: int, voters: int, load: float) -> dict:
    database = SqliteDatabase(workdir / "votes.sqlite")
    env = app_env(workdir, database.url)
    prepare_database(env, workdir)
    server = Server(env, workdir / "gunicorn.log")
    run = uuid.uuid4().hex[:6]
    answered = {"200": 0, "other": 0, "cut": 0}
    lock = threading.Lock()
    try:
        server.start()
        slug = first_episode_slug(server.port)
        author = Client(server.port)
        author.register(f"author_{run}")
        author.fetch_token(f"/episodes/{slug}")
        ids = [post_id_from(author.comment(slug, f"Comment {i} to vote on.").location) for i in range(posts)]
        clients = [Client(server.port, timeout=30) for _ in range(voters)]
        run_in_threads([lambda i=i, c=c: (c.register(f"v{i}_{run}"), c.fetch_token(f"/posts/{ids[0]}"))
                        for i, c in enumerate(clients)], max_workers=6)
        stop = threading.Event()

        def toggle(client: Client, k: int) -> None:
            up = True
            while not stop.is_set():
                for post_id in ids[k % 3::3]:
                    if stop.is_set():
                        return
                    try:
                        r = client.post(f"/posts/{post_id}/vote", {"up": "1" if up else "0", "csrf_token": client.token},
                                        headers={"Accept": "application/json"})
                    except OSError:
                        with lock:
                            answered["cut"] += 1
                        return
                    with lock:
                        answered["200" if r.status == 200 else "other"] += 1
                up = not up

        threads = [threading.Thread(target=toggle, args=(c, k), daemon=True) for k, c in enumerate(clients)]
        for t in threads:
            t.start()
        time.sleep(load)
        server.kill(signal.SIGKILL)
        stop.set()
        for t in threads:
            t.join(30)
    finally:
        server.stop()
    rows = database.query(
        "SELECT p.id, p.score, (SELECT count(*) FROM votes v WHERE v.post_id = p.id) FROM posts p "
        "WHERE p.parent_id IS NULL")
    integrity = database.query("PRAGMA integrity_check")[0][0]
    return {"answers": answered, "mismatches": [(i, s, n) for i, s, n in rows if s != n], "integrity": integrity}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--posts", type=int, default=30)
    parser.add_argument("--voters", type=int, default=12)
    parser.add_argument("--load", type=float, default=2.0, help="seconds of load before SIGKILL")
    args = parser.parse_args()
    bad_rounds = 0
    for number in range(1, args.rounds + 1):
        with tempfile.TemporaryDirectory(prefix="gi-crash-votes-") as tmp:
            result = one_round(Path(tmp), args.posts, args.voters, args.load)
        bad_rounds += bool(result["mismatches"])
        print(f"round {number}: answers {result['answers']}; integrity {result['integrity']}; "
              f"posts whose score != vote rows (id, score, rows): {result['mismatches']}", flush=True)
    print(f"{bad_rounds} of {args.rounds} rounds left a score that disagrees with its vote rows")
    return 1 if bad_rounds else 0


if __name__ == "__main__":
    sys.exit(main())
