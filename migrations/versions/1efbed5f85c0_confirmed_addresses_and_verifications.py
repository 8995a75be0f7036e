"""confirmed addresses and verifications: users.email_confirmed_at (existing accounts count as
confirmed), the byline's copy of the live verification, email_addresses, verifications, research_domains

Revision ID: 1efbed5f85c0
Revises: 6c2a0dddd870
Create Date: 2026-11-30 20:36:46.901179

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '1efbed5f85c0'
down_revision = '6c2a0dddd870'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('email_addresses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('email_key', sa.String(length=254), nullable=False),
    sa.Column('purpose', sa.Enum('account', 'institutional', name='address_purpose', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_email_addresses_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_email_addresses'))
    )
    with op.batch_alter_table('email_addresses', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_email_addresses_email_key'), ['email_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_email_addresses_user_id'), ['user_id'], unique=False)
        batch_op.create_index('uq_email_addresses_confirmed_key', ['email_key'], unique=True, sqlite_where=sa.text('confirmed_at IS NOT NULL'), postgresql_where=sa.text('confirmed_at IS NOT NULL'))

    op.create_table('research_domains',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('domain', sa.String(length=253), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('added_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['added_by_id'], ['users.id'], name=op.f('fk_research_domains_added_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_research_domains')),
    sa.UniqueConstraint('domain', name=op.f('uq_research_domains_domain'))
    )
    op.create_table('verifications',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('institution_email', 'orcid', 'invitation', 'moderator', name='verification_kind', native_enum=False, create_constraint=True, length=20), nullable=False),
    sa.Column('detail', sa.String(length=255), nullable=False),
    sa.Column('email_address_id', sa.Integer(), nullable=True),
    sa.Column('verified_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('granted_by_id', sa.Integer(), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['email_address_id'], ['email_addresses.id'], name=op.f('fk_verifications_email_address_id_email_addresses'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['granted_by_id'], ['users.id'], name=op.f('fk_verifications_granted_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['revoked_by_id'], ['users.id'], name=op.f('fk_verifications_revoked_by_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_verifications_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_verifications'))
    )
    with op.batch_alter_table('verifications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_verifications_email_address_id'), ['email_address_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_verifications_user_id'), ['user_id'], unique=False)

    # Plain ADD COLUMN (not batch mode): no rebuild of `users` on SQLite.
    op.add_column('users', sa.Column('email_confirmed_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('users', sa.Column('verified_via', sa.String(length=20), nullable=True))
    op.add_column('users', sa.Column('verified_detail', sa.String(length=255), server_default='', nullable=False))
    op.add_column('users', sa.Column('verified_since', sa.DateTime(timezone=True), nullable=True))
    op.add_column('users', sa.Column('verified_until', sa.DateTime(timezone=True), nullable=True))
    # Accounts made before confirmation existed keep writing: their address counts as
    # confirmed since they signed up (only accounts made from now on wait for a link).
    op.execute("UPDATE users SET email_confirmed_at = created_at")


def downgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('verified_until')
        batch_op.drop_column('verified_since')
        batch_op.drop_column('verified_detail')
        batch_op.drop_column('verified_via')
        batch_op.drop_column('email_confirmed_at')

    with op.batch_alter_table('verifications', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_verifications_user_id'))
        batch_op.drop_index(batch_op.f('ix_verifications_email_address_id'))

    op.drop_table('verifications')
    op.drop_table('research_domains')
    with op.batch_alter_table('email_addresses', schema=None) as batch_op:
        batch_op.drop_index('uq_email_addresses_confirmed_key', sqlite_where=sa.text('confirmed_at IS NOT NULL'), postgresql_where=sa.text('confirmed_at IS NOT NULL'))
        batch_op.drop_index(batch_op.f('ix_email_addresses_user_id'))
        batch_op.drop_index(batch_op.f('ix_email_addresses_email_key'))

    op.drop_table('email_addresses')
