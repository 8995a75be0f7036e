"""search: episode search text, FTS5 on SQLite, GIN indexes on PostgreSQL

Revision ID: b067e111c30c
Revises: aeedc52e488f
Create Date: 2026-11-28 04:12:57.082748

"""
from alembic import op
import sqlalchemy as sa

from community.models.search import EPISODE_DOCUMENT, POST_DOCUMENT, SQLITE_DDL


# revision identifiers, used by Alembic.
revision = 'b067e111c30c'
down_revision = 'aeedc52e488f'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('episodes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('search_text', sa.Text(), server_default='', nullable=False))

    # Search structures are written by hand: autogenerate sees neither FTS5 tables nor
    # expression indexes (see community/models/search.py).
    if op.get_bind().dialect.name == "sqlite":
        for statement in SQLITE_DDL:
            op.execute(statement)
        op.execute("INSERT INTO posts_fts(posts_fts) VALUES ('rebuild')")
        op.execute("INSERT INTO episodes_fts(episodes_fts) VALUES ('rebuild')")
    else:
        op.execute(f"CREATE INDEX ix_posts_search ON posts USING gin (to_tsvector('english', {POST_DOCUMENT}))")
        op.execute(f"CREATE INDEX ix_episodes_search ON episodes USING gin (to_tsvector('english', {EPISODE_DOCUMENT}))")
    # Existing rows get their search text: `flask search reindex` fills it from the episodes.


def downgrade():
    if op.get_bind().dialect.name == "sqlite":
        for name in ("posts_fts_insert", "posts_fts_delete", "posts_fts_update",
                     "episodes_fts_insert", "episodes_fts_delete", "episodes_fts_update"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS posts_fts")
        op.execute("DROP TABLE IF EXISTS episodes_fts")
    else:
        op.execute("DROP INDEX IF EXISTS ix_posts_search")
        op.execute("DROP INDEX IF EXISTS ix_episodes_search")
    with op.batch_alter_table('episodes', schema=None) as batch_op:
        batch_op.drop_column('search_text')
