"""console: show notes source, site settings

Revision ID: 6651f7c3d709
Revises: ce3f682c6b7f
Create Date: 2026-11-30 20:41:33.481833

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '6651f7c3d709'
down_revision = 'ce3f682c6b7f'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('site_settings',
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('value', sa.JSON(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_site_settings'))
    )
    # Plain ADD COLUMN: a batch on SQLite would rebuild `episodes` and drop its full-text triggers.
    op.add_column('episodes', sa.Column('show_notes_source', sa.Text(), nullable=True))


def downgrade():
    op.drop_column('episodes', 'show_notes_source')
    op.drop_table('site_settings')
