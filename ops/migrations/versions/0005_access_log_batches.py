"""access log batches: append several entries under one lock and one commit

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The same chaining as registry_append_access_log, for entries that arrive together: one
# lock, one commit (one WAL flush) for the lot, each entry linked to the one before it.
APPEND_BATCH = """
CREATE FUNCTION registry_append_access_log_batch(canonicals text[]) RETURNS bigint[]
LANGUAGE plpgsql AS $$
DECLARE
    previous bytea;
    current_hash bytea;
    canonical text;
    appended bigint;
    ids bigint[] := '{}';
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('registry_access_log'));
    SELECT entry_hash INTO previous FROM access_log ORDER BY id DESC LIMIT 1;
    FOREACH canonical IN ARRAY canonicals LOOP
        current_hash := sha256(coalesce(previous, ''::bytea) || convert_to(canonical, 'UTF8'));
        INSERT INTO access_log (canonical, entry, prev_hash, entry_hash)
        VALUES (canonical, canonical::jsonb, previous, current_hash)
        RETURNING id INTO appended;
        ids := ids || appended;
        previous := current_hash;
    END LOOP;
    RETURN ids;
END $$
"""


def upgrade() -> None:
    op.execute(APPEND_BATCH)


def downgrade() -> None:
    op.execute("DROP FUNCTION registry_append_access_log_batch(text[])")
