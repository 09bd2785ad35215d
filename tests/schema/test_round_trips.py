"""No N+1: a dossier costs the same number of SQL statements whatever its size."""

from __future__ import annotations

from typing import Any

import asyncpg

from ops.database import create_pool
from registry.ingest import ingest
from registry.records import Source
from tests.factories import (
    held_by_institution,
    held_by_person,
    holding,
    institution,
    numbered,
    uscc,
)
from tests.schema.conftest import execute
from tests.schema.test_dossier import DOSSIER

# The baseline: the institution, its posts, holdings, holder institutions, the persons
# behind posts and holdings (one batch), licences, websites, classifications and their
# provenance, list entries, branches. Raise it only with a reason in the commit message.
DOSSIER_STATEMENTS = 10


async def _count(database_url: str, document: str, **variables: Any) -> int:
    statements: list[str] = []

    async def log_queries(conn: asyncpg.Connection) -> None:
        conn.add_query_logger(lambda record: statements.append(record.query))

    pool = await create_pool(database_url, 4, init=log_queries)
    try:
        await execute(pool, document, **variables)  # the driver's first-use type look-ups
        statements.clear()
        answer = await execute(pool, document, **variables)
        assert "errors" not in answer, answer
    finally:
        await pool.close()
    return len(statements)


async def _dossier_of_size(pool: asyncpg.Pool, holders: int) -> None:
    records: list[Any] = [institution(1, "上海甲网络科技有限公司")]
    for n in range(holders):
        records.append(institution(100 + n, f"上海持股{n}号投资有限公司"))
        records.append(holding(1, held_by_institution(100 + n), None))
        records.append(holding(1, held_by_person(n, f"张{n}"), None))
        records.append(
            {
                "type": "position",
                "institution": uscc(1),
                "role": "director",
                "person": held_by_person(n, f"张{n}")["person"],
            }
        )
    async with pool.acquire() as conn:
        await ingest(
            conn, source=Source.REGISTRATION, batch_ref=f"size-{holders}", lines=numbered(records)
        )


async def test_dossier_round_trips_do_not_grow_with_its_size(
    db: asyncpg.Pool, database_url: str
) -> None:
    await _dossier_of_size(db, 1)
    small = await _count(database_url, DOSSIER, uscc=uscc(1))
    await db.execute("TRUNCATE institution, holding, position, person, statement, batch CASCADE")
    await _dossier_of_size(db, 25)
    large = await _count(database_url, DOSSIER, uscc=uscc(1))
    assert small == large == DOSSIER_STATEMENTS
