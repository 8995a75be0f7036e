"""users: the ORCID iD an account proved through ORCID sign-in (one account per iD), and when

Revision ID: 389f565eeff5
Revises: 6651f7c3d709
Create Date: 2026-11-30 20:33:12.422340

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '389f565eeff5'
down_revision = '6651f7c3d709'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('orcid_id', sa.String(length=19), nullable=True))
        batch_op.add_column(sa.Column('orcid_verified_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_unique_constraint(batch_op.f('uq_users_orcid_id'), ['orcid_id'])


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_users_orcid_id'), type_='unique')
        batch_op.drop_column('orcid_verified_at')
        batch_op.drop_column('orcid_id')
