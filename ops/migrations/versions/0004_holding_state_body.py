"""holding by state body: look-through down from a state body (国资委) uses an index

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        "CREATE INDEX ix_holding_state_body ON holding (holder_name) "
        "WHERE holder_kind = 'state_body'"
    )


def downgrade() -> None:
    op.execute("DROP INDEX ix_holding_state_body")
