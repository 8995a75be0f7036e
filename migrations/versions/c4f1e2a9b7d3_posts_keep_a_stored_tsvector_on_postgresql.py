"""posts keep a stored tsvector on PostgreSQL (search at a million posts)

Revision ID: c4f1e2a9b7d3
Revises: bdd9b757a037
Create Date: 2026-11-28 06:50:00.000000

"""
from alembic import op

from community.models.search import POST_DOCUMENT, POSTGRES_POSTS_DDL


# revision identifiers, used by Alembic.
revision = 'c4f1e2a9b7d3'
down_revision = 'bdd9b757a037'
branch_labels = None
depends_on = None


def upgrade():
    # SQLite's FTS5 table is unchanged. On PostgreSQL the expression index gives way to a
    # stored column (filled for existing rows by ADD COLUMN) and an index on it.
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_posts_search")
        for statement in POSTGRES_POSTS_DDL:
            op.execute(statement)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_posts_search")
        op.execute("ALTER TABLE posts DROP COLUMN IF EXISTS search_vector")
        op.execute(f"CREATE INDEX ix_posts_search ON posts USING gin (to_tsvector('english', {POST_DOCUMENT}))")
