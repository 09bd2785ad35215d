"""accounts: reserve, custody and own bank accounts of institutions

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 17:45:11.383333
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('account',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('institution_id', sa.BigInteger(), nullable=False),
    sa.Column('kind', sa.Text(), nullable=False),
    sa.Column('number', sa.Text(), nullable=False),
    sa.Column('bank', sa.Text(), nullable=True),
    sa.Column('bank_uscc', sa.Text(), nullable=True),
    sa.Column('holder_name', sa.Text(), nullable=True),
    sa.Column('currency', sa.Text(), nullable=True),
    sa.Column('opened_on', sa.Date(), nullable=True),
    sa.Column('closed_on', sa.Date(), nullable=True),
    sa.Column('balance', sa.Numeric(precision=22, scale=4), nullable=True),
    sa.Column('balance_currency', sa.Text(), nullable=True),
    sa.Column('balance_date', sa.Date(), nullable=True),
    sa.Column('key', sa.Text(), nullable=False),
    sa.Column('active', sa.Boolean(), server_default=sa.text('true'), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=True),
    sa.Column('valid_to', sa.Date(), nullable=True),
    sa.Column('updated_at', postgresql.TIMESTAMP(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_account')),
    sa.UniqueConstraint('key', name=op.f('uq_account_key'))
    )
    op.create_index(op.f('ix_account_institution_id'), 'account', ['institution_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_account_institution_id'), table_name='account')
    op.drop_table('account')
