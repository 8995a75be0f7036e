"""transcripts: full-text search over transcript segments (FTS5 on SQLite, GIN on PostgreSQL)

Revision ID: a7c3e9d41b20
Revises: f961b22e166b
Create Date: 2026-12-01 03:00:00

"""
from alembic import op

from community.models.search import TRANSCRIPT_SQLITE_DDL, TRANSCRIPT_VECTOR


# revision identifiers, used by Alembic.
revision = 'a7c3e9d41b20'
down_revision = 'f961b22e166b'
branch_labels = None
depends_on = None


def upgrade():
    # Written by hand: autogenerate sees neither FTS5 tables nor expression indexes.
    if op.get_bind().dialect.name == "sqlite":
        for statement in TRANSCRIPT_SQLITE_DDL:
            op.execute(statement)
        op.execute("INSERT INTO transcript_segments_fts(transcript_segments_fts) VALUES ('rebuild')")
    else:
        op.execute(f"CREATE INDEX IF NOT EXISTS ix_transcript_segments_search ON transcript_segments "
                   f"USING gin ({TRANSCRIPT_VECTOR})")


def downgrade():
    if op.get_bind().dialect.name == "sqlite":
        for name in ("transcript_segments_fts_insert", "transcript_segments_fts_delete",
                     "transcript_segments_fts_update"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS transcript_segments_fts")
    else:
        op.execute("DROP INDEX IF EXISTS ix_transcript_segments_search")
