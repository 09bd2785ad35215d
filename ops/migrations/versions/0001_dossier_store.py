"""dossier store: statements, batches, quarantine and the record tables

Revision ID: 0001
Revises: 
Create Date: 2026-11-23 17:06:56.091082
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Character bigrams of a name and its former names, for Chinese name search without any
# extension (the embedded server ships none). registry/search.py builds queries with the
# same normalisation; a test keeps the two in step.
NAME_BIGRAMS = r"""
CREATE FUNCTION registry_name_bigrams(name text, former text[]) RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT array_to_tsvector(coalesce(array_agg(DISTINCT g), '{}'))
    FROM (
        SELECT lower(regexp_replace(n, '[[:space:][:punct:]（）【】《》〈〉「」、，。·：；！？]', '', 'g')) AS n
        FROM unnest(array_prepend(name, coalesce(former, '{}'))) AS n
        WHERE n IS NOT NULL
    ) AS names,
    LATERAL (
        SELECT substr(names.n, i, 2) AS g
        FROM generate_series(1, greatest(length(names.n) - 1, 1)) AS i
    ) AS grams
    WHERE g <> ''
$$
"""


def upgrade() -> None:
    op.execute(NAME_BIGRAMS)
    op.create_table('batch',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.Column('batch_ref', sa.Text(), nullable=False),
    sa.Column('kind', sa.Text(), nullable=False),
    sa.Column('observed_at', postgresql.TIMESTAMP(timezone=True), nullable=False),
    sa.Column('received_at', postgresql.TIMESTAMP(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('content_hash', sa.LargeBinary(), nullable=False),
    sa.Column('received', sa.Integer(), nullable=False),
    sa.Column('accepted', sa.Integer(), nullable=False),
    sa.Column('unchanged', sa.Integer(), nullable=False),
    sa.Column('quarantined', sa.Integer(), nullable=False),
    sa.Column('closed', sa.Integer(), nullable=False),
    sa.Column('report', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_batch'))
    )
    op.create_index(op.f('ix_batch_source_batch_ref'), 'batch', ['source', 'batch_ref'], unique=True)
    op.create_table('branch',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('institution_id', sa.BigInteger(), nullable=False),
    sa.Column('branch_uscc', sa.Text(), nullable=True),
    sa.Column('branch_name', sa.Text(), nullable=True),
    sa.Column('registration_authority', sa.Text(), nullable=True),
    sa.Column('established', sa.Date(), nullable=True),
    sa.Column('key', sa.Text(), nullable=False),
    sa.Column('active', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=True),
    sa.Column('valid_to', sa.Date(), nullable=True),
    sa.Column('updated_at', postgresql.TIMESTAMP(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_branch')),
    sa.UniqueConstraint('key', name=op.f('uq_branch_key'))
    )
    op.create_index(op.f('ix_branch_institution_id'), 'branch', ['institution_id'], unique=False)
    op.create_table('classification',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('institution_id', sa.BigInteger(), nullable=False),
    sa.Column('domain', sa.Text(), nullable=False),
    sa.Column('nature', sa.Text(), nullable=True),
    sa.Column('remediation_class', sa.Text(), nullable=True),
    sa.Column('reasons', sa.Text(), nullable=True),
    sa.Column('key', sa.Text(), nullable=False),
    sa.Column('active', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=True),
    sa.Column('valid_to', sa.Date(), nullable=True),
    sa.Column('updated_at', postgresql.TIMESTAMP(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_classification')),
    sa.UniqueConstraint('key', name=op.f('uq_classification_key'))
    )
    op.create_index(op.f('ix_classification_domain'), 'classification', ['domain'], unique=False)
    op.create_index(op.f('ix_classification_institution_id'), 'classification', ['institution_id'], unique=False)
    op.create_table('holding',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('institution_id', sa.BigInteger(), nullable=False),
    sa.Column('holder_kind', sa.Text(), nullable=False),
    sa.Column('holder_institution_id', sa.BigInteger(), nullable=True),
    sa.Column('holder_person_id', sa.BigInteger(), nullable=True),
    sa.Column('holder_name', sa.Text(), nullable=True),
    sa.Column('share_exact', sa.Numeric(precision=12, scale=8), nullable=True),
    sa.Column('share_min', sa.Numeric(precision=12, scale=8), nullable=True),
    sa.Column('share_max', sa.Numeric(precision=12, scale=8), nullable=True),
    sa.Column('share_min_inclusive', sa.Boolean(), nullable=True),
    sa.Column('share_max_inclusive', sa.Boolean(), nullable=True),
    sa.Column('subscribed_amount', sa.Numeric(precision=22, scale=4), nullable=True),
    sa.Column('subscribed_currency', sa.Text(), nullable=True),
    sa.Column('subscribed_date', sa.Date(), nullable=True),
    sa.Column('paid_in_amount', sa.Numeric(precision=22, scale=4), nullable=True),
    sa.Column('paid_in_currency', sa.Text(), nullable=True),
    sa.Column('paid_in_date', sa.Date(), nullable=True),
    sa.Column('contribution_method', sa.Text(), nullable=True),
    sa.Column('interests', sa.ARRAY(sa.Text()), server_default=sa.text("'{}'"), nullable=False),
    sa.Column('key', sa.Text(), nullable=False),
    sa.Column('active', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=True),
    sa.Column('valid_to', sa.Date(), nullable=True),
    sa.Column('updated_at', postgresql.TIMESTAMP(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_holding')),
    sa.UniqueConstraint('key', name=op.f('uq_holding_key'))
    )
    op.create_index(op.f('ix_holding_holder_institution_id'), 'holding', ['holder_institution_id'], unique=False)
    op.create_index(op.f('ix_holding_holder_person_id'), 'holding', ['holder_person_id'], unique=False)
    op.create_index(op.f('ix_holding_institution_id'), 'holding', ['institution_id'], unique=False)
    op.create_table('institution',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('uscc', sa.Text(), nullable=False),
    sa.Column('pilot_uscc', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('mentioned_only', sa.Boolean(), server_default=sa.text('false'), nullable=False),
    sa.Column('name', sa.Text(), nullable=True),
    sa.Column('former_names', sa.ARRAY(sa.Text()), server_default=sa.text("'{}'"), nullable=False),
    sa.Column('enterprise_type', sa.Text(), nullable=True),
    sa.Column('registered_capital', sa.Numeric(precision=22, scale=4), nullable=True),
    sa.Column('capital_currency', sa.Text(), nullable=True),
    sa.Column('established', sa.Date(), nullable=True),
    sa.Column('term_start', sa.Date(), nullable=True),
    sa.Column('term_end', sa.Date(), nullable=True),
    sa.Column('registration_authority', sa.Text(), nullable=True),
    sa.Column('status', sa.Text(), nullable=True),
    sa.Column('status_date', sa.Date(), nullable=True),
    sa.Column('address', sa.Text(), nullable=True),
    sa.Column('division', sa.Text(), nullable=True),
    sa.Column('operating_addresses', sa.ARRAY(sa.Text()), server_default=sa.text("'{}'"), nullable=False),
    sa.Column('business_scope', sa.Text(), nullable=True),
    sa.Column('legacy_registration_number', sa.Text(), nullable=True),
    sa.Column('active', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=True),
    sa.Column('valid_to', sa.Date(), nullable=True),
    sa.Column('updated_at', postgresql.TIMESTAMP(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('name_search', postgresql.TSVECTOR(), sa.Computed('registry_name_bigrams(name, former_names)', persisted=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_institution')),
    sa.UniqueConstraint('uscc', name=op.f('uq_institution_uscc'))
    )
    op.create_index(op.f('ix_institution_division'), 'institution', ['division'], unique=False)
    op.create_index('ix_institution_name_search', 'institution', ['name_search'], unique=False, postgresql_using='gin')
    op.create_index(op.f('ix_institution_status'), 'institution', ['status'], unique=False)
    op.create_table('licence',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('institution_id', sa.BigInteger(), nullable=False),
    sa.Column('licence_type', sa.Text(), nullable=False),
    sa.Column('number', sa.Text(), nullable=False),
    sa.Column('issuer', sa.Text(), nullable=True),
    sa.Column('business_types', sa.ARRAY(sa.Text()), server_default=sa.text("'{}'"), nullable=False),
    sa.Column('coverage', sa.Text(), nullable=True),
    sa.Column('status', sa.Text(), nullable=True),
    sa.Column('key', sa.Text(), nullable=False),
    sa.Column('active', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=True),
    sa.Column('valid_to', sa.Date(), nullable=True),
    sa.Column('updated_at', postgresql.TIMESTAMP(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_licence')),
    sa.UniqueConstraint('key', name=op.f('uq_licence_key'))
    )
    op.create_index(op.f('ix_licence_institution_id'), 'licence', ['institution_id'], unique=False)
    op.create_index(op.f('ix_licence_licence_type_number'), 'licence', ['licence_type', 'number'], unique=False)
    op.create_table('list_entry',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('institution_id', sa.BigInteger(), nullable=False),
    sa.Column('list', sa.Text(), nullable=False),
    sa.Column('listed_on', sa.Date(), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('authority', sa.Text(), nullable=True),
    sa.Column('removed_on', sa.Date(), nullable=True),
    sa.Column('removal_reason', sa.Text(), nullable=True),
    sa.Column('key', sa.Text(), nullable=False),
    sa.Column('active', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=True),
    sa.Column('valid_to', sa.Date(), nullable=True),
    sa.Column('updated_at', postgresql.TIMESTAMP(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_list_entry')),
    sa.UniqueConstraint('key', name=op.f('uq_list_entry_key'))
    )
    op.create_index(op.f('ix_list_entry_institution_id'), 'list_entry', ['institution_id'], unique=False)
    op.create_table('person',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('key', sa.Text(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('id_type', sa.Text(), nullable=False),
    sa.Column('id_number', sa.Text(), nullable=True),
    sa.Column('id_masked', sa.Boolean(), nullable=False),
    sa.Column('nationality', sa.Text(), nullable=False),
    sa.Column('created_at', postgresql.TIMESTAMP(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_person')),
    sa.UniqueConstraint('key', name=op.f('uq_person_key'))
    )
    op.create_table('position',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('institution_id', sa.BigInteger(), nullable=False),
    sa.Column('person_id', sa.BigInteger(), nullable=False),
    sa.Column('role', sa.Text(), nullable=False),
    sa.Column('title', sa.Text(), nullable=True),
    sa.Column('key', sa.Text(), nullable=False),
    sa.Column('active', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=True),
    sa.Column('valid_to', sa.Date(), nullable=True),
    sa.Column('updated_at', postgresql.TIMESTAMP(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_position')),
    sa.UniqueConstraint('key', name=op.f('uq_position_key'))
    )
    op.create_index(op.f('ix_position_institution_id'), 'position', ['institution_id'], unique=False)
    op.create_index(op.f('ix_position_person_id'), 'position', ['person_id'], unique=False)
    op.create_table('statement',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('record_kind', sa.Text(), nullable=False),
    sa.Column('record_id', sa.BigInteger(), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.Column('batch_id', sa.BigInteger(), nullable=False),
    sa.Column('body', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('body_hash', sa.LargeBinary(), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=True),
    sa.Column('valid_to', sa.Date(), nullable=True),
    sa.Column('first_seen', postgresql.TIMESTAMP(timezone=True), nullable=False),
    sa.Column('last_seen', postgresql.TIMESTAMP(timezone=True), nullable=False),
    sa.Column('last_batch_id', sa.BigInteger(), nullable=False),
    sa.Column('recorded_at', postgresql.TIMESTAMP(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('closed_at', postgresql.TIMESTAMP(timezone=True), nullable=True),
    sa.Column('closed_by_batch_id', sa.BigInteger(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_statement'))
    )
    op.create_index('ix_statement_open_by_source', 'statement', ['source', 'record_kind'], unique=False, postgresql_where=sa.text('closed_at IS NULL'))
    op.create_index(op.f('ix_statement_record_kind_record_id'), 'statement', ['record_kind', 'record_id'], unique=False)
    op.create_index('uq_statement_open', 'statement', ['record_kind', 'record_id', 'source'], unique=True, postgresql_where=sa.text('closed_at IS NULL'))
    op.create_table('website',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('institution_id', sa.BigInteger(), nullable=False),
    sa.Column('kind', sa.Text(), nullable=False),
    sa.Column('filing_number', sa.Text(), nullable=True),
    sa.Column('domain', sa.Text(), nullable=True),
    sa.Column('app_name', sa.Text(), nullable=True),
    sa.Column('status', sa.Text(), nullable=True),
    sa.Column('key', sa.Text(), nullable=False),
    sa.Column('active', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=True),
    sa.Column('valid_to', sa.Date(), nullable=True),
    sa.Column('updated_at', postgresql.TIMESTAMP(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_website')),
    sa.UniqueConstraint('key', name=op.f('uq_website_key'))
    )
    op.create_index(op.f('ix_website_institution_id'), 'website', ['institution_id'], unique=False)
    op.create_table('quarantine',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('batch_id', sa.BigInteger(), nullable=False),
    sa.Column('line', sa.Integer(), nullable=False),
    sa.Column('raw', sa.Text(), nullable=False),
    sa.Column('reasons', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('created_at', postgresql.TIMESTAMP(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('resolved_at', postgresql.TIMESTAMP(timezone=True), nullable=True),
    sa.Column('resolved_by_batch_id', sa.BigInteger(), nullable=True),
    sa.ForeignKeyConstraint(['batch_id'], ['batch.id'], name=op.f('fk_quarantine_batch_id_batch')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_quarantine'))
    )
    op.create_index(op.f('ix_quarantine_batch_id'), 'quarantine', ['batch_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_quarantine_batch_id'), table_name='quarantine')
    op.drop_table('quarantine')
    op.drop_index(op.f('ix_website_institution_id'), table_name='website')
    op.drop_table('website')
    op.drop_index('uq_statement_open', table_name='statement', postgresql_where=sa.text('closed_at IS NULL'))
    op.drop_index(op.f('ix_statement_record_kind_record_id'), table_name='statement')
    op.drop_index('ix_statement_open_by_source', table_name='statement', postgresql_where=sa.text('closed_at IS NULL'))
    op.drop_table('statement')
    op.drop_index(op.f('ix_position_person_id'), table_name='position')
    op.drop_index(op.f('ix_position_institution_id'), table_name='position')
    op.drop_table('position')
    op.drop_table('person')
    op.drop_index(op.f('ix_list_entry_institution_id'), table_name='list_entry')
    op.drop_table('list_entry')
    op.drop_index(op.f('ix_licence_licence_type_number'), table_name='licence')
    op.drop_index(op.f('ix_licence_institution_id'), table_name='licence')
    op.drop_table('licence')
    op.drop_index(op.f('ix_institution_status'), table_name='institution')
    op.drop_index('ix_institution_name_search', table_name='institution', postgresql_using='gin')
    op.drop_index(op.f('ix_institution_division'), table_name='institution')
    op.drop_table('institution')
    op.drop_index(op.f('ix_holding_institution_id'), table_name='holding')
    op.drop_index(op.f('ix_holding_holder_person_id'), table_name='holding')
    op.drop_index(op.f('ix_holding_holder_institution_id'), table_name='holding')
    op.drop_table('holding')
    op.drop_index(op.f('ix_classification_institution_id'), table_name='classification')
    op.drop_index(op.f('ix_classification_domain'), table_name='classification')
    op.drop_table('classification')
    op.drop_index(op.f('ix_branch_institution_id'), table_name='branch')
    op.drop_table('branch')
    op.drop_index(op.f('ix_batch_source_batch_ref'), table_name='batch')
    op.drop_table('batch')
    op.execute("DROP FUNCTION registry_name_bigrams(text, text[])")
