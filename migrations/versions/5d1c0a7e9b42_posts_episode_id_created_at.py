"""posts: an index on (episode_id, created_at), for "new since your last visit"

Revision ID: 5d1c0a7e9b42
Revises: 932f402a206f
Create Date: 2026-12-01 17:45:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '5d1c0a7e9b42'
down_revision = '932f402a206f'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('posts', schema=None) as batch_op:
        batch_op.create_index('ix_posts_episode_id_created_at', ['episode_id', 'created_at'], unique=False)


def downgrade():
    with op.batch_alter_table('posts', schema=None) as batch_op:
        batch_op.drop_index('ix_posts_episode_id_created_at')
