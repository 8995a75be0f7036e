"""`flask bench-data`: a deterministic synthetic community for benchmarks.

Rows go in as Core bulk inserts (executemany, a commit per chunk) with primary keys
computed here, so parents, roots and answers are known without round trips. Every
non-nullable column is filled explicitly: values come from the seed, never from a model
default (a clock would break determinism). The same seed on an empty database gives
the same rows and ids; on a non-empty one ids start after each table's current maximum
(PostgreSQL's sequences are moved past them), so the command can run again.

Shape: heavy-tailed thread sizes per episode (lognormal weights), threads both deep
(replies to the latest reply) and wide (preferential attachment), ~5% paper links on
papers shared across episodes, ~3% questions, a few guest suggestions, ~0.5% flagged
posts with the moderation that follows, votes with score == number of Vote rows, and
reply notifications. Always: the "bench" account and the episodes bench-50, bench-500
and bench-2000 with exactly that many visible comments (depth <= 7).
"""

from __future__ import annotations

import bisect
import random
from array import array
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import bindparam, func, insert, select, text, update
from sqlalchemy.orm import selectinload

from community import identity, markup
from community.extensions import db
from community.models import (
    FLAG_REASON_LABELS, Appearance, AppearanceRole, Episode, Flag, FlagReason, ModerationAction, Notification,
    NotificationKind, Paper, Person, Post, PostKind, PostStatus, Revision, Role, User, Vote,
)
from community.models.papers import MetadataStatus
from community.models.search import POSTS_SEARCH_INDEX_DDL
from community.names import person_key, slugify
from community.services import moderation, site_settings
from community.services.accounts import hash_password

BENCH_USERNAME = "bench"
BENCH_PASSWORD = "bench-password-123"
BENCH_EPISODES = (("bench-50", 50), ("bench-500", 500), ("bench-2000", 2000))
# Paper entries and open questions on each benchmark episode: every section of the page
# renders, and the three pages differ only in their number of comments.
BENCH_EXTRAS = 3
BENCH_MAX_DEPTH = 7

# The data set's "now": fixed, so a seed means the same rows whenever it runs.
BASE_TIME = datetime(2026, 10, 1, tzinfo=timezone.utc)
BASE_TS = BASE_TIME.timestamp()
DAY = 86400.0
CHUNK = 5000  # posts per transaction; their votes, flags and notifications go with them

# Generation event codes (kinds of work, not only PostKind): QA = a question and its reply.
C, P, Q, QA, S = 0, 1, 2, 3, 4
KIND_OF = {C: PostKind.comment, P: PostKind.paper, Q: PostKind.question, S: PostKind.suggestion}

FIRST = ["Ada", "Alan", "Grace", "Claude", "Yann", "Fei", "Geoff", "Daphne", "Judea", "Leslie", "Barbara", "Marvin",
         "Emma", "Noah", "Priya", "Chen", "Amara", "Kenji", "Sofia", "Mateo", "Ines", "Tariq", "Lena", "Omar",
         "Yuki", "Ravi", "Zara", "Felix", "Nadia", "Jonas", "Mei", "Elif", "Hugo", "Aisha", "Tomas", "Ingrid",
         "Kwame", "Lucia", "Arjun", "Sven"]
LAST = ["Lovelace", "Turing", "Hopper", "Shannon", "Lecun", "Li", "Hinton", "Koller", "Pearl", "Valiant", "Liskov",
        "Minsky", "Nakamura", "Okafor", "Rossi", "Schmidt", "Garcia", "Kowalski", "Haddad", "Andersen", "Nguyen",
        "Patel", "Moreau", "Yilmaz", "Fischer", "Costa", "Kim", "Ivanova", "Mensah", "Larsen", "Tanaka", "Silva",
        "Dubois", "Novak", "Berg", "Rahman", "Oliveira", "Weber", "Sato", "Fernandes"]
AFFILIATIONS = ["", "", "MIT", "Stanford", "DeepMind", "Mila", "ETH Zurich", "University of Toronto", "CMU",
                "Berkeley AI Research", "Oxford", "Tsinghua University", "an independent researcher", "KAIST",
                "Allen Institute for AI", "a robotics startup", "EPFL", "Max Planck Institute for Intelligent Systems"]
TOPICS = ["scaling laws for sparse models", "why deep nets generalize", "world models and planning",
          "reinforcement learning from human feedback", "the lottery ticket hypothesis", "self-supervised vision",
          "retrieval-augmented language models", "causal representation learning", "program synthesis",
          "mechanistic interpretability", "robot learning in the wild", "optimization landscapes",
          "compositional generalization", "open-ended learning", "neural scaling and data quality",
          "memory in transformers", "uncertainty in deep learning", "learned optimizers", "multi-agent emergence",
          "embodied language understanding"]
ADJECTIVES = ["Efficient", "Scalable", "Robust", "Sparse", "Implicit", "Contrastive", "Hierarchical", "Latent",
              "Differentiable", "Provable", "Emergent", "Self-Supervised", "Meta-Learned", "Equivariant"]
NOUNS = ["Transformers", "World Models", "Policy Optimization", "Representations", "Attention", "Diffusion Models",
         "Value Functions", "Tokenizers", "Mixture-of-Experts", "Graph Networks", "Optimizers", "Curricula"]
TASKS = ["Language Modeling", "Visual Reasoning", "Continual Learning", "Program Synthesis", "Robotic Manipulation",
         "Few-Shot Classification", "Offline RL", "Theorem Proving", "Protein Folding", "Planning"]

# Markdown written once per variant and rendered once: the page cost of real comments
# (code, tables, MathML) without rendering a million bodies.
COMMENT_BODIES = [
    "Great episode, thanks!",
    "This matches what we saw in our lab: the effect disappears once you control for data quality.",
    "I'm not sure I buy the argument around 34:10. Isn't this just regularisation by another name?",
    "The part about $O(n \\log n)$ attention was the highlight for me. Does anyone have the reference?",
    "Strong disagree. The ablation in the paper never removes the auxiliary loss, so you can't separate the two "
    "effects. I'd want to see a run where the loss is on but the data is shuffled.",
    "If the loss is $\\mathcal{L}(\\theta) = \\mathbb{E}_{x \\sim D}[\\ell(f_\\theta(x), y)]$ then the bound follows "
    "from Jensen, no? The interesting case is when $D$ shifts during training.",
    "For anyone who wants to reproduce it:\n\n```python\nimport torch\n\nmodel = torch.nn.Linear(512, 512)\n"
    "opt = torch.optim.AdamW(model.parameters(), lr=3e-4, weight_decay=0.1)\nfor step in range(10_000):\n"
    "    loss = model(torch.randn(64, 512)).pow(2).mean()\n    opt.zero_grad(); loss.backward(); opt.step()\n```\n\n"
    "Loss plateaus around step 4k for me too.",
    "> the model is just memorising\n\nI think that's too quick. Memorisation doesn't explain the transfer results "
    "in section 5, and the guest made exactly that point later on.",
    "Three things I'd add:\n\n1. The compute budget matters more than the architecture here.\n"
    "2. Evaluation on held-out *tasks*, not held-out examples.\n3. **Seeds.** Report more than three.",
    "Numbers from our replication:\n\n| model | params | accuracy |\n|---|---:|---:|\n| baseline | 125M | 71.2 |\n"
    "| + aux loss | 125M | 73.9 |\n| + aux loss | 350M | 76.4 |\n\nSo the gap shrinks with scale but doesn't close.",
    "The key identity is\n\n$$\\nabla_\\theta \\log p_\\theta(x) = \\mathbb{E}_{z \\sim p_\\theta(z \\mid x)}"
    "[\\nabla_\\theta \\log p_\\theta(x, z)]$$\n\nwhich is why the estimator is unbiased but high-variance.",
    "There's a nice write-up of this at https://example.org/notes/scaling and the follow-up discussion is worth "
    "reading too.",
    "+1, would love a follow-up episode on this.",
    "Has anyone tried this with a learning-rate warmup of $10^{-4}$ instead? In my runs the instability went away.",
]
QUESTION_BODIES = [
    "What would change your mind about the main claim?",
    "How did you pick the evaluation tasks, and what didn't make the cut?",
    "Do you expect the result to hold at $10\\times$ the compute?",
    "What is the most underrated idea in your subfield right now?",
    "If you had to start your PhD again today, which problem would you work on?",
    "How much of the improvement comes from the data pipeline rather than the model?",
]
ANSWER_BODIES = [
    "Good question! Mostly the data: when we fixed the pipeline the gap halved. The rest is the architecture.",
    "Honestly, a clean negative result at larger scale. We tried up to 1B parameters and it held, but not beyond.",
    "We picked tasks where the baseline wasn't saturated. A few others are in the appendix, with worse numbers.",
]
PAPER_NOTES = [
    "", "", "", "Mentioned around the half-hour mark.", "The follow-up paper the guest recommended.",
    "Section 3 has the derivation they talk about.", "Older, but the original source of the idea.",
]
SUGGESTION_WHYS = [
    "Their work on evaluation is careful and under-discussed; it would make a great conversation.",
    "They wrote the paper everyone cites but few have read closely. I'd love to hear the backstory.",
    "Bridges theory and practice better than anyone I know, and explains things clearly.",
]
BIOS = [
    "", "", "", "PhD student working on **representation learning**.",
    "Research engineer. Interested in optimisation and $\\ell_1$ methods.",
    "I build robots that mostly fall over. Views my own.",
]
FLAG_NOTES = {FlagReason.other: "Looks like a duplicate of an earlier comment."}
MOD_REASONS = ["Spam", "Off-topic", "Unkind or personal attack", "Looks fine"]


# Transcripts for benchmarks: synthetic sample sentences said by two fictional speakers
# (never the episodes' people: no words are put in anyone's mouth).
SAMPLE_SPEAKERS = ("Sample Host", "Sample Guest")


def _vtt_time(seconds: float) -> str:
    ms = round(seconds * 1000)
    return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d}.{ms % 1000:03d}"


def synthetic_vtt(segments: int, seed: int, seconds: float = 2 * 3600) -> str:
    """A WebVTT transcript of `segments` cues over `seconds` (two hours by default)."""
    rng = random.Random(seed)
    step = seconds / segments
    lines = ["WEBVTT", "", "NOTE Synthetic sample text for benchmarks: fictional speakers, no real person's words.", ""]
    for i in range(segments):
        text = (f"Sample sentence {i}: {rng.choice(ADJECTIVES).lower()} {rng.choice(NOUNS).lower()} for "
                f"{rng.choice(TASKS).lower()}, and what it says about {rng.choice(TOPICS)}.")
        lines += [f"{_vtt_time(i * step)} --> {_vtt_time((i + 1) * step)}", f"<v {SAMPLE_SPEAKERS[i // 3 % 2]}>{text}", ""]
    return "\n".join(lines)


def add_transcripts(count: int, segments: int = 2000, seed: int = 42) -> int:
    """A synthetic transcript for bench-500 (the 500-comment episode) and for count - 1 other
    episodes: the transcript page's load and transcript search at scale."""
    from community.services import transcripts  # the one way a revision is written

    with_people = selectinload(Episode.appearances).joinedload(Appearance.person)  # speakers are matched to them
    wanted = list(db.session.scalars(select(Episode).where(Episode.slug == "bench-500").options(with_people)))
    wanted += list(db.session.scalars(select(Episode).where(Episode.slug != "bench-500", Episode.transcript_revision
                                                            .is_(None)).order_by(Episode.id)
                                      .limit(max(count - 1, 0)).options(with_people)))
    for n, episode in enumerate(wanted[:count]):
        transcripts.add_revision(None, episode, synthetic_vtt(segments, seed + n), "vtt", language="en",
                                 note="synthetic sample text for benchmarks")
        db.session.commit()
    return len(wanted[:count])


def generate(*, posts: int, users: int, episodes: int, seed: int, progress=None) -> dict[str, int]:
    """Write the data set and commit chunk by chunk; returns rows written per kind."""
    return _Generator(posts=posts, users=users, episodes=episodes, seed=seed, progress=progress).run()


@dataclass
class _Flagger:
    """What moderation.flag_weight reads of a user, for rows that are not User objects yet."""
    role: Role
    created_at: datetime


def _dt(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, timezone.utc)


def _insert(model, rows: list[dict], batch: int = 10_000) -> None:
    table = model.__table__
    if rows:
        # Values come from the seed, never from a column default (a clock would break
        # determinism): a new non-nullable column must be added here, and this says so.
        missing = sorted(c.name for c in table.columns if not c.nullable and c.name not in rows[0])
        if missing:
            raise RuntimeError(f"seed.bench does not fill {table.name}.{', '.join(missing)}: add it to the rows.")
    for start in range(0, len(rows), batch):
        db.session.execute(insert(table), rows[start:start + batch])


class _Generator:
    def __init__(self, *, posts: int, users: int, episodes: int, seed: int, progress) -> None:
        if users < 3:
            raise ValueError("bench-data needs at least 3 users (votes come from people other than the author).")
        self.rng = random.Random(seed)
        self.n_posts, self.n_users, self.n_episodes = posts, users, episodes
        self.progress = progress
        self.counts: dict[str, int] = {}

    # ------------------------------------------------------------------ setup

    def run(self) -> dict[str, int]:
        dialect = db.session.get_bind().dialect.name
        if dialect == "sqlite":
            # Vote and notification indexes take inserts in random key order: a big page
            # cache keeps them in memory (the default 2 MB makes a million posts IO-bound).
            previous = db.session.execute(text("PRAGMA cache_size")).scalar()
            db.session.execute(text("PRAGMA cache_size = -262144"))
        else:
            # The full-text GIN index costs a to_tsvector and a posting-list update per row:
            # built once at the end it takes a fraction of the time (1M posts: hours vs minutes).
            db.session.execute(text("DROP INDEX IF EXISTS ix_posts_search"))
            db.session.commit()
        try:
            return self._run()
        finally:
            db.session.rollback()
            if dialect == "sqlite":
                db.session.execute(text(f"PRAGMA cache_size = {int(previous)}"))
            else:
                # One long statement (a minute for a million posts): no app statement timeout.
                db.session.execute(text("SET LOCAL statement_timeout = 0"))
                db.session.execute(text("SET LOCAL maintenance_work_mem = '256MB'"))
                db.session.execute(text(POSTS_SEARCH_INDEX_DDL))
                # Fresh statistics: until autovacuum gets to it, the planner would guess, and
                # at a million posts a guessed plan for search or votes takes seconds.
                db.session.execute(text("ANALYZE"))
            db.session.commit()

    def _run(self) -> dict[str, int]:
        self.next_id = self._next_ids()
        self.password_hash = hash_password(BENCH_PASSWORD)  # one argon2 hash for every account
        self.bodies = {name: [(src, markup.render(src) if src else "") for src in sources] for name, sources in (
            ("comment", COMMENT_BODIES), ("question", QUESTION_BODIES), ("answer", ANSWER_BODIES),
            ("paper", PAPER_NOTES), ("suggestion", SUGGESTION_WHYS), ("bio", BIOS))}
        self._plan_users()
        self._plan_episodes()
        self._plan_posts()
        self._insert_setup_rows()
        self._emit_posts()
        self._finish()
        return self.counts

    def _next_ids(self) -> dict[str, int]:
        models = (User, Person, Episode, Appearance, Paper, Post, Vote, Flag, ModerationAction, Notification, Revision)
        return {m.__tablename__: (db.session.scalar(select(func.max(m.id))) or 0) + 1 for m in models}

    def _take_ids(self, table: str, count: int) -> int:
        first = self.next_id[table]
        self.next_id[table] += count
        return first

    def _name(self) -> tuple[str, str]:
        return self.rng.choice(FIRST), self.rng.choice(LAST)

    def _plan_users(self) -> None:
        rng, n = self.rng, self.n_users
        first_id = self._take_ids("users", n)
        n_guest = min(max(1, self.n_episodes // 3), n // 20)
        roles = ([Role.admin] + [Role.moderator] * max(1, n // 400) + [Role.researcher] * (n * 6 // 100)
                 + [Role.guest] * n_guest)[:n]
        roles += [Role.member] * (n - len(roles))
        rng.shuffle(roles)
        self.user_ids = list(range(first_id, first_id + n))
        self.user_roles = roles
        # Every generated account predates every episode, so any of them may author any post.
        self.user_rows = []
        for uid, role in zip(self.user_ids, roles):
            first, last = self._name()
            username = f"{first.lower()}{last[0].lower()}_{uid}"[:30]
            bio_src, bio_html = rng.choice(self.bodies["bio"])
            display_name = f"{first} {last}" if rng.random() < 0.7 else ""
            row = {
                "id": uid, "username": username, "username_key": username.lower(),
                "username_skeleton": identity.name_key(username),
                "display_name_skeleton": identity.name_key(display_name) if display_name else "",
                "email": f"{username}@bench.invalid", "email_key": f"{username}@bench.invalid".lower(),
                "password_hash": self.password_hash,
                "display_name": display_name,
                "affiliation": rng.choice(AFFILIATIONS), "bio_source": bio_src, "bio_html": bio_html,
                "links": [f"https://example.org/~{username}"] if rng.random() < 0.15 else [],
                "role": role, "created_at": _dt(BASE_TS - 4 * 365 * DAY + rng.random() * 300 * DAY),
                "suspended_until": None, "suspension_reason": None, "email_prefs": {}, "watch_own_threads": True,
            }
            self.user_rows.append(row | {"email_confirmed_at": row["created_at"], "verified_detail": ""})
        self.guest_users = [i for i, r in enumerate(roles) if r == Role.guest]
        self.moderators = [self.user_ids[i] for i, r in enumerate(roles) if r in (Role.moderator, Role.admin)]
        # Writers are heavy-tailed: a few prolific accounts, a long tail of occasional ones.
        self.writer_order = list(range(n))
        rng.shuffle(self.writer_order)

        # The benchmark account: logs in, votes (only on posts newer than itself), never writes.
        self.bench_created = BASE_TS - 180 * DAY
        existing = db.session.scalar(select(User.id).where(User.username_key == BENCH_USERNAME))
        if existing is None:
            existing = self._take_ids("users", 1)
            self.user_rows.append({
                "id": existing, "username": BENCH_USERNAME, "username_key": BENCH_USERNAME,
                "username_skeleton": identity.name_key(BENCH_USERNAME),
                "display_name_skeleton": identity.name_key("Benchmark Bot"),
                "email": "bench@bench.invalid", "email_key": "bench@bench.invalid",
                "password_hash": self.password_hash, "display_name": "Benchmark Bot", "affiliation": "",
                "bio_source": "", "bio_html": "", "links": [], "role": Role.member,
                "created_at": _dt(self.bench_created), "suspended_until": None, "suspension_reason": None,
                "email_prefs": {}, "email_confirmed_at": _dt(self.bench_created), "verified_detail": "",
                "watch_own_threads": True,
            })
        self.pool_ids = self.user_ids + [existing]  # voters; the last one is "bench"
        self.bench_index = len(self.pool_ids) - 1
        # Flaggers are generated accounts; their weights and the threshold are the moderation
        # service's own, at the data set's "now".
        self.flag_threshold = site_settings.value("FLAG_THRESHOLD")
        self.flag_weights = [moderation.flag_weight(_Flagger(row["role"], row["created_at"]), now=BASE_TIME)
                             for row in self.user_rows[:n]]

    def _plan_episodes(self) -> None:
        rng = self.rng
        existing_slugs = set(db.session.scalars(select(Episode.slug)))
        used_keys = set(db.session.scalars(select(Person.name_key)))
        number = (db.session.scalar(select(func.max(Episode.number))) or 0) + 1
        self.people_rows, self.episode_rows, self.appearance_rows = [], [], []
        people: dict[int, str] = {}  # id -> "name affiliation", for the episodes' search text

        def new_person(name: str, affiliation: str, user_id: int | None = None) -> int:
            key = person_key(name)
            while key in used_keys:  # name_key is unique: tell namesakes apart
                name = f"{name} {rng.choice('ABCDEFGHJKLMNPRSTVW')}."
                key = person_key(name)
            used_keys.add(key)
            pid = self._take_ids("people", 1)
            self.people_rows.append({"id": pid, "name": name, "name_key": key, "affiliation": affiliation,
                                     "links": [f"https://example.org/people/{pid}"], "user_id": user_id})
            people[pid] = f"{name} {affiliation}"
            return pid

        hosts = [new_person(" ".join(self._name()), "Generally Intelligent") for _ in range(2)]
        notes = [markup.render(f"{topic.capitalize()}, with a guest who works on it.\n\n**Papers discussed**\n\n"
                               f"- [{rng.choice(ADJECTIVES)} {rng.choice(NOUNS)}](https://arxiv.org/abs/2005.1140{i})\n"
                               f"- <https://example.org/blog/{i}>") for i, topic in enumerate(TOPICS[:5])]

        # (slug or None, published ts, comment target for benchmark episodes)
        plan = [(None, t, None) for t in sorted(BASE_TS - 3 * 365 * DAY + rng.random() * (3 * 365 - 14) * DAY
                                                for _ in range(self.n_episodes))]
        self.bench_targets: dict[int, int] = {}  # episode index -> exact comment count
        for slug, size in BENCH_EPISODES:
            if slug not in existing_slugs:
                plan.append((slug, BASE_TS - 90 * DAY, size))
        guest_episodes = set(rng.sample(range(self.n_episodes), min(len(self.guest_users), self.n_episodes)))
        guest_users = iter(self.guest_users)
        self.ep_ids, self.ep_published, self.ep_guest_user, self.ep_duration = [], [], [], []
        for index, (slug, published, size) in enumerate(plan):
            eid = self._take_ids("episodes", 1)
            first, last = self._name()
            guest_user = next(guest_users) if index in guest_episodes else None
            guest = new_person(f"{first} {last}", rng.choice(AFFILIATIONS[2:]),
                               self.user_ids[guest_user] if guest_user is not None else None)
            guests = [guest] + ([new_person(" ".join(self._name()), rng.choice(AFFILIATIONS[2:]))]
                                if slug is None and rng.random() < 0.2 else [])
            topic = rng.choice(TOPICS)
            if slug is None:
                title = f"{first} {last}: {topic[0].upper()}{topic[1:]}"
                slug = f"{number}-{slugify(title)}"
                if slug in existing_slugs:
                    slug = f"{slug}-{eid}"
                ep_number, number = number, number + 1
            else:
                title, ep_number = f"Benchmark episode: {size:,} comments on {topic}", None
                self.bench_targets[index] = size
            existing_slugs.add(slug)
            duration = rng.randrange(45 * 60, 150 * 60)
            summary = f"{first} {last} talks about {topic}: what works, what doesn't, and what is next."
            show_notes = rng.choice(notes)
            # As services.episodes.refresh_search_text builds it: title, summary, people, notes.
            search_text = " ".join(" ".join([title, summary, " ".join(people[p] for p in guests + hosts),
                                             markup.plain_text(show_notes)]).split())
            self.episode_rows.append({
                "id": eid, "number": ep_number, "slug": slug, "title": title, "published_at": _dt(published),
                "summary": summary, "search_text": search_text,
                "show_notes_html": show_notes, "audio_url": f"https://media.bench.invalid/{slug}.mp3",
                "duration_seconds": duration, "feed_guid": f"bench-{eid}", "feed_identity": f"bench:{eid}",
                "source_link": f"https://example.org/episodes/{slug}", "created_at": _dt(published),
                "listen_links": [], "chapters": [], "is_published": True,
                "updated_at": _dt(published),
            })
            for position, (pid, role) in enumerate([(g, AppearanceRole.guest) for g in guests]
                                                   + [(h, AppearanceRole.host) for h in hosts]):
                self.appearance_rows.append({"id": self._take_ids("appearances", 1), "episode_id": eid,
                                             "person_id": pid, "role": role, "position": position})
            self.ep_ids.append(eid)
            self.ep_published.append(published)
            self.ep_guest_user.append(guest_user)
            self.ep_duration.append(duration)

    # ------------------------------------------------------------------ structure

    def _plan_posts(self) -> None:
        """Who replies to what, when, on which episode: compact arrays, no rows yet."""
        rng = self.rng
        bench_total = sum(size + 2 * BENCH_EXTRAS for size in self.bench_targets.values())
        generic = max(0, self.n_posts - bench_total)
        if generic and not self.n_episodes:
            raise ValueError("bench-data needs at least one episode for its posts.")
        n_sugg = min(500, max(3, generic // 1000)) if generic >= 50 else 0
        n_paper, n_question = round(generic * 0.05), round(generic * 0.03)
        n_qa = n_question * 3 // 10  # answered: each is two posts, the question and its reply
        n_q = n_question - n_qa
        n_comment = generic - n_sugg - n_paper - n_q - 2 * n_qa
        if n_comment < 0:
            n_paper = n_q = n_qa = 0
            n_sugg = min(n_sugg, generic)
            n_comment = generic - n_sugg
        events = [C] * n_comment + [P] * n_paper + [Q] * n_q + [QA] * n_qa + [S] * n_sugg
        for index, size in self.bench_targets.items():  # benchmark posts interleave with the rest
            events += [10 + index * 8 + C] * size + [10 + index * 8 + P] * BENCH_EXTRAS \
                + [10 + index * 8 + Q] * BENCH_EXTRAS
        rng.shuffle(events)
        total = generic + bench_total
        self.total = total

        self.kind = bytearray(total)
        self.ep = array("i", [-1]) * total
        self.parent = array("i", [-1]) * total
        self.root = array("i", [0]) * total
        self.depth = bytearray(total)
        self.created = array("d", [0.0]) * total
        self.author = array("i", [0]) * total
        self.replies = array("i", [0]) * total
        self.paper = array("i", [-1]) * total
        self.stage: dict[int, str] = {}
        self.answer_of: dict[int, int] = {}  # question -> the guest's written answer
        self.on_air: dict[int, tuple[int, int]] = {}  # question -> (later episode index, moment)
        self.nominee: dict[int, tuple[str, str]] = {}

        n_ep = len(self.ep_ids)
        weights = [rng.lognormvariate(0.0, 1.5) for _ in range(self.n_episodes)]
        # Comments follow the heavy tail; reading lists and questions are flatter.
        self.cum_comment = self._cumulative(weights)
        self.cum_flat = self._cumulative([w ** 0.5 for w in weights])
        self.pool_size = max(20, (n_paper + BENCH_EXTRAS * len(self.bench_targets)) // 3)
        self.papers_used: list[set[int]] = [set() for _ in range(n_ep)]
        self.paper_first_use: dict[int, float] = {}
        self.targets: list[list[int]] = [[] for _ in range(n_ep)]
        self.last: list[int] = [-1] * n_ep
        self.i = 0
        kinds_count = {PostKind.comment: 0, PostKind.paper: 0, PostKind.question: 0, PostKind.suggestion: 0}
        nominees = [f"{f} {l}" for f in FIRST for l in LAST]
        rng.shuffle(nominees)

        for code in events:
            if code >= 10:
                index, kind = divmod(code - 10, 8)
                if kind == C:
                    self._comment(index, bench=True)
                elif kind == P:
                    self._paper_entry(index, bench=True)
                else:
                    self._question(index, answered=False, bench=True)
            elif code == C:
                self._comment(self._pick(self.cum_comment), bench=False)
            elif code == P:
                self._paper_entry(self._pick(self.cum_flat), bench=False)
            elif code in (Q, QA):
                self._question(self._pick(self.cum_flat), answered=code == QA, bench=False)
            else:
                i = self._new(S, -1, -1, BASE_TS - rng.random() * 2 * 365 * DAY)
                name = nominees[len(self.nominee) % len(nominees)]
                self.nominee[i] = (name, rng.choice(AFFILIATIONS[2:]))
        assert self.i == total
        for k in self.kind:
            kinds_count[KIND_OF[k]] += 1
        self.counts.update({"comments": kinds_count[PostKind.comment], "paper_links": kinds_count[PostKind.paper],
                            "questions": kinds_count[PostKind.question],
                            "suggestions": kinds_count[PostKind.suggestion]})

    @staticmethod
    def _cumulative(weights: list[float]) -> list[float]:
        out, acc = [], 0.0
        for w in weights:
            acc += w
            out.append(acc)
        return out

    def _pick(self, cumulative: list[float]) -> int:
        return min(bisect.bisect(cumulative, self.rng.random() * cumulative[-1]), len(cumulative) - 1)

    def _writer(self) -> int:
        return self.writer_order[int(self.n_users * self.rng.random() ** 2.5)]

    def _new(self, kind: int, e: int, parent: int, created: float, author: int | None = None) -> int:
        i = self.i
        self.i += 1
        self.kind[i] = kind
        self.ep[i] = e
        self.created[i] = min(created, BASE_TS)
        self.author[i] = self._writer() if author is None else author
        if parent >= 0:
            self.parent[i] = parent
            self.root[i] = self.root[parent]
            self.depth[i] = self.depth[parent] + 1
            self.replies[parent] += 1
        else:
            self.root[i] = i
        return i

    def _comment(self, e: int, bench: bool) -> None:
        rng, targets = self.rng, self.targets[e]
        r = rng.random()
        if not targets or r < 0.3:
            parent = -1
        elif r < 0.55:
            parent = self.last[e]  # continue the latest exchange: threads grow deep
        else:
            parent = rng.choice(targets)  # preferential attachment: busy posts draw more replies
        if parent >= 0:
            # Mostly shallower than the page's depth cap; a few general threads go past it.
            limit = BENCH_MAX_DEPTH - 1 if bench or rng.random() < 0.97 else 9
            if self.depth[parent] > limit:
                keep = limit - rng.randrange(3)
                while self.depth[parent] > keep:
                    parent = self.parent[parent]
        if parent < 0:
            created = self.ep_published[e] + rng.expovariate(1 / (4 * DAY))
        else:
            created = self.created[parent] + rng.expovariate(1 / (0.5 * DAY))
        author = self._writer()
        if parent >= 0 and author == self.author[parent]:
            author = self._writer()
        i = self._new(C, e, parent, created, author)
        targets.append(i)
        if parent >= 0:
            targets.append(parent)
        self.last[e] = i

    def _paper_entry(self, e: int, bench: bool) -> None:
        rng, used = self.rng, self.papers_used[e]
        if len(used) >= self.pool_size // 2:  # this reading list has most papers already
            return self._comment(e, bench)
        paper = int(self.pool_size * rng.random() ** 2)  # a few papers are cited everywhere
        while paper in used:
            paper = (paper + 1) % self.pool_size
        used.add(paper)
        i = self._new(P, e, -1, self.ep_published[e] + rng.expovariate(1 / (3 * DAY)))
        self.paper[i] = paper
        self.paper_first_use[paper] = min(self.paper_first_use.get(paper, BASE_TS), self.created[i])
        if not bench:
            self.targets[e].append(i)

    def _question(self, e: int, answered: bool, bench: bool) -> None:
        rng = self.rng
        i = self._new(Q, e, -1, self.ep_published[e] + rng.expovariate(1 / (5 * DAY)))
        self.stage[i] = "open"
        if not bench:
            self.targets[e].append(i)
        if not answered:
            return
        guest = self.ep_guest_user[e]
        reply = self._new(C, e, i, self.created[i] + rng.expovariate(1 / (5 * DAY)), guest)
        self.targets[e].append(reply)
        if guest is not None:
            self.stage[i], self.answer_of[i] = "answered", reply
            return
        later = [k for k in range(self.n_episodes) if self.ep_published[k] > self.created[i]]
        if later:  # answered on air in a later episode
            k = rng.choice(later[:5])
            self.stage[i] = "answered"
            self.on_air[i] = (k, rng.randrange(self.ep_duration[k]))

    # ------------------------------------------------------------------ rows

    def _insert_setup_rows(self) -> None:
        pool, first_paper = self.pool_size, self._take_ids("papers", self.pool_size)
        self.paper_ids = [first_paper + k for k in range(pool)]
        paper_rows = []
        rng = self.rng
        for k in range(pool):
            pid = first_paper + k
            title = f"{rng.choice(ADJECTIVES)} {rng.choice(NOUNS)} for {rng.choice(TASKS)}"
            authors = [f"{f[0]}. {l}" for f, l in (self._name() for _ in range(rng.randint(1, 4)))]
            year = rng.randint(2012, 2026)
            if k not in self.paper_first_use:
                continue  # no episode cites it: the /papers/ page would never show it
            if rng.random() < 0.8:
                # A bijection from the id to yymm.nnnnn keeps canonical ids unique across runs.
                arxiv = f"{15 + pid // 1_200_000 % 10:02d}{pid // 100_000 % 12 + 1:02d}.{pid % 100_000:05d}"
                canonical, url, source, doi = f"arxiv:{arxiv}", f"https://arxiv.org/abs/{arxiv}", "arXiv", None
            else:
                doi = f"10.5555/bench.{pid}"
                canonical, url, source = f"doi:{doi}", f"https://doi.org/{doi}", "DOI"
            paper_rows.append({"id": pid, "canonical_id": canonical, "url": url, "source": source, "title": title,
                               "authors": authors, "year": year, "doi": doi, "venue": "", "abstract": "",
                               "arxiv_category": "", "metadata_status": MetadataStatus.fetched,
                               "metadata_attempts": 0, "confirmed_paper": False,
                               "created_at": _dt(self.paper_first_use[k])})
        _insert(User, self.user_rows)
        _insert(Person, self.people_rows)
        _insert(Episode, self.episode_rows)
        _insert(Appearance, self.appearance_rows)
        _insert(Paper, paper_rows)
        db.session.commit()
        self.counts = {"users": len(self.user_rows), "episodes": len(self.episode_rows),
                       "people": len(self.people_rows), "papers": len(paper_rows), **self.counts}

    def _emit_posts(self) -> None:
        self.first_post = self._take_ids("posts", self.total)
        self.endorsements: dict[int, int] = {}
        self.answer_updates: list[dict] = []
        totals = dict.fromkeys(("votes", "flags", "moderation_actions", "notifications", "revisions"), 0)
        for start in range(0, self.total, CHUNK):
            self.rows: dict[str, list[dict]] = {
                "posts": [], "suggestions": [], "votes": [], "flags": [], "moderation_actions": [],
                "notifications": [], "revisions": []}
            end = min(start + CHUNK, self.total)
            for i in range(start, end):
                self._post_row(i)
            rows = self.rows
            _insert(Post, rows["suggestions"])  # their own statement: only they carry `details`
            _insert(Post, rows["posts"])
            _insert(Vote, rows["votes"])
            _insert(Flag, rows["flags"])
            _insert(ModerationAction, rows["moderation_actions"])
            _insert(Notification, rows["notifications"])
            _insert(Revision, rows["revisions"])
            db.session.commit()
            for name in totals:
                totals[name] += len(rows[name])
            if self.progress:
                self.progress(end - start)
        self.counts.update(totals)

    def _post_row(self, i: int) -> None:
        rng, rows = self.rng, self.rows
        kind, e, parent = self.kind[i], self.ep[i], self.parent[i]
        post_id = self.first_post + i
        t = self.created[i]
        author = self.author[i]
        author_id = self.pool_ids[author]
        bench = e in self.bench_targets
        if kind == C:
            answer = parent >= 0 and self.answer_of.get(parent) == i
            source, html = rng.choice(self.bodies["answer" if answer else "comment"])
        elif kind == Q:
            source, html = rng.choice(self.bodies["question"])
        elif kind == P:
            source, html = rng.choice(self.bodies["paper"])
        else:
            source, html = rng.choice(self.bodies["suggestion"])
        row = {
            "id": post_id, "kind": KIND_OF[kind], "author_id": author_id,
            "episode_id": self.ep_ids[e] if e >= 0 else None,
            "parent_id": self.first_post + parent if parent >= 0 else None,
            "root_id": self.first_post + self.root[i], "depth": self.depth[i],
            "body_source": source, "body_html": html, "status": PostStatus.visible, "status_reason": None,
            "score": 0, "flag_count": 0, "reply_count": self.replies[i], "created_at": _dt(t), "edited_at": None,
            "paper_id": self.paper_ids[self.paper[i]] if kind == P else None,
            "moment_seconds": rng.randrange(self.ep_duration[e]) if kind == P and rng.random() < 0.5 else None,
            "stage": self.stage.get(i) if kind != S else "suggested", "stage_note": None,
            "answer_id": None, "linked_episode_id": None, "merged_into_id": None, "title": None, "title_key": None,
            "locked": False, "flag_weight": 0.0, "appeal_note": None, "appealed_at": None,
            "appeal_resolved_at": None,
        }
        if kind == Q:
            if i in self.answer_of:  # the answer row comes later: linked once both exist
                self.answer_updates.append({"b_id": post_id, "b_answer": self.first_post + self.answer_of[i]})
            if i in self.on_air:
                k, moment = self.on_air[i]
                row["linked_episode_id"], row["moment_seconds"] = self.ep_ids[k], moment
        if kind == S:
            name, affiliation = self.nominee[i]
            row["title"], row["title_key"] = name, person_key(name)
            row["details"] = {"affiliation": affiliation, "papers": [], "disclosure": "neither",
                              "links": [f"https://example.org/people/{person_key(name).replace(' ', '-')}"]}

        if not bench:
            self._moderation(i, row)
        row["score"] = self._votes(i, kind, author, t)
        if kind == C and not bench and row["status"] in (PostStatus.visible, PostStatus.deleted) \
                and rng.random() < 0.005:
            edited = min(t + 900.0, BASE_TS)
            row["edited_at"] = _dt(edited)
            rows["revisions"].append({"id": self._take_ids("revisions", 1), "post_id": post_id,
                                      "editor_id": author_id, "body_source": rng.choice(COMMENT_BODIES),
                                      "created_at": _dt(edited)})
        if parent >= 0 and row["status"] == PostStatus.visible and self.author[parent] != author:
            self._notify(self.pool_ids[self.author[parent]], NotificationKind.reply, post_id, author_id,
                         "", "replied to your post", t)
        if kind == Q and i in self.answer_of:
            self._notify(author_id, NotificationKind.answer, post_id,
                         self.pool_ids[self.author[self.answer_of[i]]], "", "A guest answered your question.",
                         self.created[self.answer_of[i]])
        rows["suggestions" if kind == S else "posts"].append(row)

    def _notify(self, user_id: int, kind: NotificationKind, post_id: int, actor_id: int | None, event_key: str,
                message: str, t: float) -> None:
        read = self.rng.random() < 0.7
        self.rows["notifications"].append({
            "id": self._take_ids("notifications", 1), "user_id": user_id, "kind": kind, "post_id": post_id,
            "actor_id": actor_id, "event_key": event_key, "message": message, "created_at": _dt(t),
            "read_at": _dt(min(t + DAY, BASE_TS)) if read else None, "emailed_at": None})

    def _votes(self, i: int, kind: int, author: int, t: float) -> int:
        """Vote rows for post i; returns their number, which is the post's score."""
        rng = self.rng
        if kind in (P, Q):  # entries and questions start with their author's vote
            wanted, chosen = int(rng.paretovariate(1.4)), {author}
        elif kind == S:
            wanted, chosen = int(rng.paretovariate(1.3)) - 1, set()
        else:
            wanted = int(rng.paretovariate(1.6) * (2.0 if self.depth[i] == 0 else 1.0)) - 1
            chosen = set()
        pool = len(self.pool_ids)
        wanted = min(wanted, pool - 2, 300)
        attempts = 0
        while len(chosen) < wanted and attempts < 4 * wanted + 10:
            attempts += 1
            voter = rng.randrange(pool)
            if voter == author or voter in chosen or (voter == self.bench_index and t < self.bench_created):
                continue
            if kind == S:  # the endorsement cap: at most 10 active endorsements each
                if self.endorsements.get(voter, 0) >= 10:
                    continue
                self.endorsements[voter] = self.endorsements.get(voter, 0) + 1
            chosen.add(voter)
        post_id = self.first_post + i
        for voter in sorted(chosen):
            self.rows["votes"].append({
                "id": self._take_ids("votes", 1), "user_id": self.pool_ids[voter], "post_id": post_id, "value": 1,
                "created_at": _dt(min(t + rng.expovariate(1 / (2 * DAY)), BASE_TS)) if voter != author else _dt(t)})
        return len(chosen)

    def _moderation(self, i: int, row: dict) -> None:
        """Statuses, flags and moderator decisions, consistent with services.moderation:
        flag_count/flag_weight count open non-citation flags; reaching the threshold hides."""
        rng, rows = self.rng, self.rows
        t, author = self.created[i], self.author[i]
        r = rng.random()
        if r < 0.01 and row["kind"] == PostKind.comment:
            row["status"] = PostStatus.deleted
            return
        if r < 0.012 and row["kind"] == PostKind.comment and self.replies[i] == 0:
            row["status"] = PostStatus.pending  # waits for a moderator; nobody could reply yet
            return
        if r < 0.013:
            self._action(row, "remove", rng.choice(MOD_REASONS[:3]), t + rng.expovariate(1 / DAY))
            return
        if r >= 0.018:  # ~0.5% of posts are flagged
            return
        n_flags = 1 + (rng.random() < 0.35) + (rng.random() < 0.12)
        flaggers: set[int] = set()
        open_flags: list[dict] = []
        ft = t
        for _ in range(n_flags):
            flagger = rng.randrange(len(self.user_ids))
            if flagger == author or flagger in flaggers:
                continue
            flaggers.add(flagger)
            reason = rng.choices(list(FlagReason), weights=(25, 25, 20, 20, 10))[0]
            ft = min(ft + rng.expovariate(1 / (0.5 * DAY)), BASE_TS)
            flag = {"id": self._take_ids("flags", 1), "user_id": self.user_ids[flagger], "post_id": row["id"],
                    "reason": reason, "note": FLAG_NOTES.get(reason, ""),
                    "weight": 0.0 if reason == FlagReason.citation else self.flag_weights[flagger],
                    "created_at": _dt(ft), "resolved_at": None}
            rows["flags"].append(flag)
            if reason == FlagReason.citation:  # a request to the author; never counts towards hiding
                self._notify(row["author_id"], NotificationKind.citation, row["id"], None, f"citation:{flag['id']}",
                             "A reader asks for a citation or source for a claim in your post.", ft)
                continue
            open_flags.append(flag)
            row["flag_count"] += 1
            row["flag_weight"] += flag["weight"]
            if row["flag_weight"] >= self.flag_threshold:
                labels = sorted({FLAG_REASON_LABELS[f["reason"]] for f in open_flags})
                row["status"] = PostStatus.hidden
                row["status_reason"] = "hidden until a moderator reviews it (flagged: " + ", ".join(labels) + ")"
                self._log(row, None, "auto_hide", row["status_reason"], ft)
                break  # a hidden post takes no more flags
        if rng.random() < 0.4:  # a moderator has been through the queue
            action = rng.choice(("dismiss", "dismiss", "hide", "remove"))
            at = min(ft + rng.expovariate(1 / DAY), BASE_TS)
            for flag in rows["flags"]:
                if flag["post_id"] == row["id"]:
                    flag["resolved_at"] = _dt(at)
            self._action(row, action, "Looks fine" if action == "dismiss" else rng.choice(MOD_REASONS[:3]), at)

    def _action(self, row: dict, action: str, reason: str, at: float) -> None:
        at = min(at, BASE_TS)
        if action == "dismiss":
            row["status"], row["status_reason"] = PostStatus.visible, None
        else:
            row["status"] = PostStatus.hidden if action == "hide" else PostStatus.removed
            row["status_reason"] = reason
        row["flag_count"], row["flag_weight"] = 0, 0.0
        self._log(row, self.rng.choice(self.moderators), action, reason, at)

    def _log(self, row: dict, moderator_id: int | None, action: str, reason: str, at: float) -> None:
        action_id = self._take_ids("moderation_actions", 1)
        self.rows["moderation_actions"].append({
            "id": action_id, "moderator_id": moderator_id, "action": action, "post_id": row["id"],
            "target_user_id": row["author_id"], "reason": reason, "created_at": _dt(at)})
        self._notify(row["author_id"], NotificationKind.moderation, row["id"], moderator_id, f"action:{action_id}",
                     f"Moderators {action.replace('_', ' ')}: {reason}"[:500], at)

    def _finish(self) -> None:
        if self.answer_updates:
            table = Post.__table__
            db.session.execute(update(table).where(table.c.id == bindparam("b_id"))
                               .values(answer_id=bindparam("b_answer")), self.answer_updates)
        if db.session.get_bind().dialect.name == "postgresql":
            # Explicit ids leave the sequences behind: move them past the rows just written.
            for table in self.next_id:
                # Safe: table names come from this module's own list, never from input.
                db.session.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # nosec B608
                                        f"(SELECT MAX(id) FROM \"{table}\"))"))
        db.session.commit()
