"""feed sources: conditional GET validators and the last refresh result

Revision ID: c74984db275c
Revises: 1efbed5f85c0
Create Date: 2026-11-30 20:33:39.679501

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c74984db275c'
down_revision = '1efbed5f85c0'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('feed_sources',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('url', sa.String(length=2000), nullable=False),
    sa.Column('etag', sa.String(length=500), nullable=True),
    sa.Column('last_modified', sa.String(length=100), nullable=True),
    sa.Column('last_checked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_status', sa.String(length=100), server_default='', nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('last_counts', sa.JSON(), server_default='{}', nullable=False),
    sa.Column('active', sa.Boolean(), server_default=sa.true(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_feed_sources')),
    sa.UniqueConstraint('url', name=op.f('uq_feed_sources_url'))
    )


def downgrade():
    op.drop_table('feed_sources')
