"""drafts and pending submissions; when a post was deleted (undo)

Revision ID: f961b22e166b
Revises: cea5b75a57da
Create Date: 2026-11-30 20:37:20.991750

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'f961b22e166b'
down_revision = 'cea5b75a57da'
branch_labels = None
depends_on = None


def upgrade():
    # posts keeps its full-text triggers on SQLite: a plain ADD COLUMN, never a batch rebuild.
    op.add_column('posts', sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True))
    op.create_table('pending_submissions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('token', sa.String(length=64), nullable=False),
    sa.Column('form_key', sa.String(length=300), nullable=False),
    sa.Column('page', sa.String(length=500), nullable=False),
    sa.Column('fields', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pending_submissions')),
    sa.UniqueConstraint('token', name=op.f('uq_pending_submissions_token'))
    )
    with op.batch_alter_table('pending_submissions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pending_submissions_created_at'), ['created_at'], unique=False)

    op.create_table('drafts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('form_key', sa.String(length=300), nullable=False),
    sa.Column('page', sa.String(length=500), nullable=False),
    sa.Column('fields', sa.JSON(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_drafts_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_drafts')),
    sa.UniqueConstraint('user_id', 'form_key', name=op.f('uq_drafts_user_id'))
    )
    with op.batch_alter_table('drafts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_drafts_updated_at'), ['updated_at'], unique=False)



def downgrade():
    with op.batch_alter_table('drafts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_drafts_updated_at'))

    op.drop_table('drafts')
    with op.batch_alter_table('pending_submissions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pending_submissions_created_at'))

    op.drop_table('pending_submissions')
    op.drop_column('posts', 'deleted_at')
