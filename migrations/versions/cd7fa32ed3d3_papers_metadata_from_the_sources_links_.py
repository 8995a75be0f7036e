"""papers: metadata from the sources (authors as a list, venue, abstract, DOI, BibTeX type,
fetch status), links confirmed as papers

Revision ID: cd7fa32ed3d3
Revises: b5fdd32f19bc
Create Date: 2026-11-30 20:35:08.584874

"""
import json

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'cd7fa32ed3d3'
down_revision = 'b5fdd32f19bc'
branch_labels = None
depends_on = None

papers = sa.table('papers', sa.column('id', sa.Integer), sa.column('canonical_id', sa.String),
                  sa.column('authors', sa.Text), sa.column('author_list', sa.JSON))


def upgrade():
    with op.batch_alter_table('papers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('venue', sa.String(length=300), server_default='', nullable=False))
        batch_op.add_column(sa.Column('abstract', sa.Text(), server_default='', nullable=False))
        batch_op.add_column(sa.Column('doi', sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column('bibtex_type', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('arxiv_category', sa.String(length=40), server_default='', nullable=False))
        batch_op.add_column(sa.Column('metadata_status', sa.Enum('none', 'pending', 'fetched', 'failed', name='metadata_status', native_enum=False, create_constraint=True, length=10), server_default='none', nullable=False))
        batch_op.add_column(sa.Column('metadata_checked_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('metadata_attempts', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('metadata_error', sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column('confirmed_paper', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('author_list', sa.JSON(), nullable=True))

    # Authors were one " and "-joined string; now a list of names.
    connection = op.get_bind()
    for paper_id, authors in connection.execute(sa.select(papers.c.id, papers.c.authors)).all():
        names = [name.strip() for name in (authors or "").split(" and ") if name.strip()]
        connection.execute(papers.update().where(papers.c.id == paper_id).values(author_list=names))
    # A DOI id is its own DOI; ids an API answers for are fetched by `flask papers fetch-metadata`.
    connection.execute(sa.text("UPDATE papers SET doi = substr(canonical_id, 5) WHERE canonical_id LIKE 'doi:%'"))
    connection.execute(sa.text("UPDATE papers SET metadata_status = 'pending' WHERE canonical_id LIKE 'arxiv:%' "
                               "OR canonical_id LIKE 'doi:%' OR canonical_id LIKE 'openreview:%'"))

    with op.batch_alter_table('papers', schema=None) as batch_op:
        batch_op.drop_column('authors')
        batch_op.alter_column('author_list', new_column_name='authors', existing_type=sa.JSON(), nullable=False)


def downgrade():
    with op.batch_alter_table('papers', schema=None) as batch_op:
        batch_op.alter_column('authors', new_column_name='author_list', existing_type=sa.JSON(), nullable=True)
    with op.batch_alter_table('papers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('authors', sa.Text(), server_default='', nullable=False))
    connection = op.get_bind()
    for paper_id, names in connection.execute(sa.select(papers.c.id, papers.c.author_list)).all():
        names = json.loads(names) if isinstance(names, str) else names
        connection.execute(papers.update().where(papers.c.id == paper_id).values(authors=" and ".join(names or [])))
    with op.batch_alter_table('papers', schema=None) as batch_op:
        batch_op.drop_column('author_list')
        batch_op.drop_column('confirmed_paper')
        batch_op.drop_column('metadata_error')
        batch_op.drop_column('metadata_attempts')
        batch_op.drop_column('metadata_checked_at')
        batch_op.drop_constraint('metadata_status', type_='check')
        batch_op.drop_column('metadata_status')
        batch_op.drop_column('arxiv_category')
        batch_op.drop_column('bibtex_type')
        batch_op.drop_column('doi')
        batch_op.drop_column('abstract')
        batch_op.drop_column('venue')
