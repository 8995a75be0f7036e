"""Full-text search storage, one per database:

- SQLite: FTS5 tables kept in sync with posts and episodes by triggers (external
  content, so the text is stored once);
- PostgreSQL: a stored tsvector column on posts and a tsvector expression on episodes,
  each with a GIN index.

Either way the index follows every insert, edit and delete by itself. Visibility (hidden,
removed...) is checked against posts.status at query time, so moderation needs no reindex.
Note for migrations: an SQLite batch rebuild of posts or episodes drops their triggers;
such a migration must run SQLITE_DDL again (tests check that the triggers exist at head).
"""

from __future__ import annotations

from sqlalchemy import DDL, Index, event, func, literal_column

from community.models.discussion import Post
from community.models.episodes import Episode
from community.models.transcripts import TranscriptSegment

POST_DOCUMENT = "coalesce(title, '') || ' ' || body_source"
EPISODE_DOCUMENT = "search_text"

SQLITE_DDL = [
    "CREATE VIRTUAL TABLE IF NOT EXISTS posts_fts USING fts5(title, body_source, content='posts', content_rowid='id',"
    " tokenize='porter unicode61')",
    "CREATE TRIGGER IF NOT EXISTS posts_fts_insert AFTER INSERT ON posts BEGIN"
    " INSERT INTO posts_fts(rowid, title, body_source) VALUES (new.id, new.title, new.body_source); END",
    "CREATE TRIGGER IF NOT EXISTS posts_fts_delete AFTER DELETE ON posts BEGIN"
    " INSERT INTO posts_fts(posts_fts, rowid, title, body_source) VALUES ('delete', old.id, old.title, old.body_source); END",
    "CREATE TRIGGER IF NOT EXISTS posts_fts_update AFTER UPDATE OF title, body_source ON posts BEGIN"
    " INSERT INTO posts_fts(posts_fts, rowid, title, body_source) VALUES ('delete', old.id, old.title, old.body_source);"
    " INSERT INTO posts_fts(rowid, title, body_source) VALUES (new.id, new.title, new.body_source); END",
    "CREATE VIRTUAL TABLE IF NOT EXISTS episodes_fts USING fts5(search_text, content='episodes', content_rowid='id',"
    " tokenize='porter unicode61')",
    "CREATE TRIGGER IF NOT EXISTS episodes_fts_insert AFTER INSERT ON episodes BEGIN"
    " INSERT INTO episodes_fts(rowid, search_text) VALUES (new.id, new.search_text); END",
    "CREATE TRIGGER IF NOT EXISTS episodes_fts_delete AFTER DELETE ON episodes BEGIN"
    " INSERT INTO episodes_fts(episodes_fts, rowid, search_text) VALUES ('delete', old.id, old.search_text); END",
    "CREATE TRIGGER IF NOT EXISTS episodes_fts_update AFTER UPDATE OF search_text ON episodes BEGIN"
    " INSERT INTO episodes_fts(episodes_fts, rowid, search_text) VALUES ('delete', old.id, old.search_text);"
    " INSERT INTO episodes_fts(rowid, search_text) VALUES (new.id, new.search_text); END",
]
# Transcript words (every revision's segments; search keeps to each episode's current one).
# Segments are written once with their revision: only a text change (none today) re-indexes.
TRANSCRIPT_SQLITE_DDL = [
    "CREATE VIRTUAL TABLE IF NOT EXISTS transcript_segments_fts USING fts5(text, content='transcript_segments',"
    " content_rowid='id', tokenize='porter unicode61')",
    "CREATE TRIGGER IF NOT EXISTS transcript_segments_fts_insert AFTER INSERT ON transcript_segments BEGIN"
    " INSERT INTO transcript_segments_fts(rowid, text) VALUES (new.id, new.text); END",
    "CREATE TRIGGER IF NOT EXISTS transcript_segments_fts_delete AFTER DELETE ON transcript_segments BEGIN"
    " INSERT INTO transcript_segments_fts(transcript_segments_fts, rowid, text) VALUES ('delete', old.id, old.text); END",
    "CREATE TRIGGER IF NOT EXISTS transcript_segments_fts_update AFTER UPDATE OF text ON transcript_segments BEGIN"
    " INSERT INTO transcript_segments_fts(transcript_segments_fts, rowid, text) VALUES ('delete', old.id, old.text);"
    " INSERT INTO transcript_segments_fts(rowid, text) VALUES (new.id, new.text); END",
]
SQLITE_TRIGGERS = {"posts_fts_insert", "posts_fts_delete", "posts_fts_update",
                   "episodes_fts_insert", "episodes_fts_delete", "episodes_fts_update",
                   "transcript_segments_fts_insert", "transcript_segments_fts_delete", "transcript_segments_fts_update"}

# PostgreSQL: posts keep their tsvector in a stored generated column with a GIN index, so
# checking or ranking a match reads it instead of running to_tsvector over the text again
# (at a million posts that was seconds for a common word). Episodes are few: an expression
# index is enough. Created only there; autogenerate is told to leave them alone.
POSTS_VECTOR = f"to_tsvector('english', {POST_DOCUMENT})"
POSTS_SEARCH_INDEX_DDL = "CREATE INDEX IF NOT EXISTS ix_posts_search ON posts USING gin (search_vector)"
POSTGRES_POSTS_DDL = [
    f"ALTER TABLE posts ADD COLUMN IF NOT EXISTS search_vector tsvector GENERATED ALWAYS AS ({POSTS_VECTOR}) STORED",
    POSTS_SEARCH_INDEX_DDL,
]
EPISODES_SEARCH_INDEX = Index(
    "ix_episodes_search", func.to_tsvector(literal_column("'english'"), literal_column(EPISODE_DOCUMENT)),
    postgresql_using="gin", _table=Episode.__table__,
).ddl_if(dialect="postgresql")

TRANSCRIPT_VECTOR = "to_tsvector('english', text)"
TRANSCRIPTS_SEARCH_INDEX = Index(
    "ix_transcript_segments_search", func.to_tsvector(literal_column("'english'"), literal_column("text")),
    postgresql_using="gin", _table=TranscriptSegment.__table__,
).ddl_if(dialect="postgresql")

SEARCH_OBJECT_NAMES = {"ix_posts_search", "ix_episodes_search", "posts_fts", "episodes_fts", "search_vector",
                       "transcript_segments_fts", "ix_transcript_segments_search"}


def is_search_object(name: str | None) -> bool:
    """Objects migrations manage by hand (autogenerate cannot see FTS5 tables or these indexes)."""
    return bool(name) and (name in SEARCH_OBJECT_NAMES or name.startswith(("posts_fts_", "episodes_fts_", "transcript_segments_fts_")))


# create_all (tests, first runs) builds these too; migrations run the same statements themselves.
for _statement in SQLITE_DDL:
    event.listen(Episode.__table__ if "ON episodes" in _statement or "episodes_fts USING" in _statement
                 else Post.__table__, "after_create", DDL(_statement).execute_if(dialect="sqlite"))
for _statement in TRANSCRIPT_SQLITE_DDL:
    event.listen(TranscriptSegment.__table__, "after_create", DDL(_statement).execute_if(dialect="sqlite"))
for _statement in POSTGRES_POSTS_DDL:
    event.listen(Post.__table__, "after_create", DDL(_statement).execute_if(dialect="postgresql"))
