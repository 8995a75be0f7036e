"""moments: anchored posts and guest corrections (issue 24)

A new table only: posts and episodes are not altered.

Revision ID: 7f2b70c7ca21
Revises: a7c3e9d41b20
Create Date: 2026-12-01 02:46:53.298371

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '7f2b70c7ca21'
down_revision = 'a7c3e9d41b20'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('moments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('episode_id', sa.Integer(), nullable=False),
    sa.Column('post_id', sa.Integer(), nullable=True),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('correction', sa.Text(), nullable=True),
    sa.Column('quote', sa.Text(), nullable=False),
    sa.Column('prefix', sa.String(length=64), nullable=False),
    sa.Column('suffix', sa.String(length=64), nullable=False),
    sa.Column('start', sa.Integer(), nullable=False),
    sa.Column('end', sa.Integer(), nullable=False),
    sa.Column('time_start', sa.Float(), nullable=True),
    sa.Column('time_end', sa.Float(), nullable=True),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('drifted', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_moments_author_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['episode_id'], ['episodes.id'], name=op.f('fk_moments_episode_id_episodes'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['post_id'], ['posts.id'], name=op.f('fk_moments_post_id_posts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_moments')),
    sa.UniqueConstraint('post_id', name=op.f('uq_moments_post_id'))
    )
    op.create_index(op.f('ix_moments_episode_id'), 'moments', ['episode_id'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_moments_episode_id'), table_name='moments')
    op.drop_table('moments')
