"""access: OAuth clients, signing keys, legal bases and the hash-chained access log

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 17:33:11.376536
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


APPEND_ONLY = ("access_log", "access_checkpoint", "legal_basis", "legal_basis_use")

REFUSE_CHANGE = """
CREATE FUNCTION registry_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$
"""

# Appends one entry to the chain: each entry's hash covers the previous hash and the entry's
# canonical JSON, exactly as stored, so an export verifies offline with any SHA-256.
# The lock makes appends sequential; it is held only for this one insert.
APPEND_ACCESS_LOG = """
CREATE FUNCTION registry_append_access_log(canonical text) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    previous bytea;
    appended bigint;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('registry_access_log'));
    SELECT entry_hash INTO previous FROM access_log ORDER BY id DESC LIMIT 1;
    INSERT INTO access_log (canonical, entry, prev_hash, entry_hash)
    VALUES (canonical, canonical::jsonb, previous,
            sha256(coalesce(previous, ''::bytea) || convert_to(canonical, 'UTF8')))
    RETURNING id INTO appended;
    RETURN appended;
END $$
"""


def upgrade() -> None:
    op.create_table('access_checkpoint',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('log_id', sa.BigInteger(), nullable=False),
    sa.Column('head_hash', sa.LargeBinary(), nullable=False),
    sa.Column('kid', sa.Text(), nullable=False),
    sa.Column('signature', sa.LargeBinary(), nullable=False),
    sa.Column('signed_at', postgresql.TIMESTAMP(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_access_checkpoint'))
    )
    op.create_index(op.f('ix_access_checkpoint_log_id'), 'access_checkpoint', ['log_id'], unique=False)
    op.create_table('access_log',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('at', postgresql.TIMESTAMP(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('canonical', sa.Text(), nullable=False),
    sa.Column('entry', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('prev_hash', sa.LargeBinary(), nullable=True),
    sa.Column('entry_hash', sa.LargeBinary(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_access_log'))
    )
    op.create_index(op.f('ix_access_log_at'), 'access_log', ['at'], unique=False)
    op.create_index('ix_access_log_entry', 'access_log', ['entry'], unique=False, postgresql_using='gin', postgresql_ops={'entry': 'jsonb_path_ops'})
    op.create_table('oauth_client',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('client_id', sa.Text(), nullable=False),
    sa.Column('agency', sa.Text(), nullable=False),
    sa.Column('name', sa.Text(), nullable=False),
    sa.Column('auth_method', sa.Text(), nullable=False),
    sa.Column('secret_hash', sa.Text(), nullable=True),
    sa.Column('jwks', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('created_at', postgresql.TIMESTAMP(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('secret_rotated_at', postgresql.TIMESTAMP(timezone=True), nullable=True),
    sa.Column('revoked_at', postgresql.TIMESTAMP(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_oauth_client')),
    sa.UniqueConstraint('client_id', name=op.f('uq_oauth_client_client_id'))
    )
    op.create_table('signing_key',
    sa.Column('kid', sa.Text(), nullable=False),
    sa.Column('purpose', sa.Text(), nullable=False),
    sa.Column('algorithm', sa.Text(), nullable=False),
    sa.Column('private_jwk', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('public_jwk', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('created_at', postgresql.TIMESTAMP(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('retired_at', postgresql.TIMESTAMP(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('kid', name=op.f('pk_signing_key'))
    )
    op.create_index(op.f('ix_signing_key_purpose_created_at'), 'signing_key', ['purpose', 'created_at'], unique=False)
    op.create_table('legal_basis',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('reference', sa.Text(), nullable=False),
    sa.Column('issuing_authority', sa.Text(), nullable=False),
    sa.Column('client_id', sa.Text(), nullable=False),
    sa.Column('institution_id', sa.BigInteger(), nullable=False),
    sa.Column('purpose', sa.Text(), nullable=False),
    sa.Column('valid_from', postgresql.TIMESTAMP(timezone=True), nullable=False),
    sa.Column('valid_to', postgresql.TIMESTAMP(timezone=True), nullable=False),
    sa.Column('max_uses', sa.Integer(), nullable=False),
    sa.Column('recorded_by', sa.Text(), nullable=False),
    sa.Column('created_at', postgresql.TIMESTAMP(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['institution_id'], ['institution.id'], name=op.f('fk_legal_basis_institution_id_institution')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_legal_basis'))
    )
    op.create_index(op.f('ix_legal_basis_client_id_institution_id'), 'legal_basis', ['client_id', 'institution_id'], unique=False)
    op.create_table('legal_basis_use',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('legal_basis_id', sa.BigInteger(), nullable=False),
    sa.Column('request_id', sa.Text(), nullable=False),
    sa.Column('used_at', postgresql.TIMESTAMP(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['legal_basis_id'], ['legal_basis.id'], name=op.f('fk_legal_basis_use_legal_basis_id_legal_basis')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_legal_basis_use'))
    )
    op.create_index(op.f('ix_legal_basis_use_legal_basis_id'), 'legal_basis_use', ['legal_basis_id'], unique=False)
    op.execute(REFUSE_CHANGE)
    for table in APPEND_ONLY:
        op.execute(
            f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
            "FOR EACH ROW EXECUTE FUNCTION registry_refuse_change()"
        )
        op.execute(
            f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
            "FOR EACH STATEMENT EXECUTE FUNCTION registry_refuse_change()"
        )
    op.execute(APPEND_ACCESS_LOG)


def downgrade() -> None:
    op.drop_index(op.f('ix_legal_basis_use_legal_basis_id'), table_name='legal_basis_use')
    op.drop_table('legal_basis_use')
    op.drop_index(op.f('ix_legal_basis_client_id_institution_id'), table_name='legal_basis')
    op.drop_table('legal_basis')
    op.drop_index(op.f('ix_signing_key_purpose_created_at'), table_name='signing_key')
    op.drop_table('signing_key')
    op.drop_table('oauth_client')
    op.drop_index('ix_access_log_entry', table_name='access_log', postgresql_using='gin', postgresql_ops={'entry': 'jsonb_path_ops'})
    op.drop_index(op.f('ix_access_log_at'), table_name='access_log')
    op.drop_table('access_log')
    op.drop_index(op.f('ix_access_checkpoint_log_id'), table_name='access_checkpoint')
    op.drop_table('access_checkpoint')
    op.execute("DROP FUNCTION registry_append_access_log(text)")
    op.execute("DROP FUNCTION registry_refuse_change() CASCADE")
