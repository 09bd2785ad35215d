"""No N+1: a dossier costs the same number of SQL statements whatever its size."""

from __future__ import annotations

from typing import Any

import asyncpg

from auth.tokens import Principal
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

# Baselines; raise one only with a reason in the commit message.
# The current file is read in one statement, whatever parts are asked for.
DOSSIER_STATEMENTS = 1
# As of a date: one statement per record table read and one per kind of statements
# resolved (institution, its parts, holder institutions), and one for the persons.
DOSSIER_AS_OF_STATEMENTS = 14
# A person: the person, their posts and holdings, the institutions those are in.
PERSON_STATEMENTS = 4
PERSON = """query ($id: ID!) { person(id: $id) { name
  positions { role institution { name } } holdings { share { exact } institution { name } } } }"""


async def _count(database_url: str, document: str, **variables: Any) -> int:
    return await _count_with(database_url, document, None, **variables)


async def _count_with(
    database_url: str, document: str, principal: Principal | None, **variables: Any
) -> int:
    statements: list[str] = []

    async def log_queries(conn: asyncpg.Connection) -> None:
        conn.add_query_logger(lambda record: statements.append(record.query))

    pool = await create_pool(database_url, 4, init=log_queries)
    try:
        await execute(pool, document, principal, **variables)  # first-use type look-ups
        statements.clear()
        answer = await execute(pool, document, principal, **variables)
        assert principal is not None or "errors" not in answer, answer
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


async def _counts(db: asyncpg.Pool, database_url: str, holders: int) -> tuple[int, int, int]:
    await db.execute("TRUNCATE holding, position, person, statement, quarantine, batch")
    await db.execute("DELETE FROM institution")
    await _dossier_of_size(db, holders)
    person_id = await db.fetchval("SELECT min(id) FROM person")
    return (
        await _count(database_url, DOSSIER, uscc=uscc(1)),
        await _count(database_url, DOSSIER_AS_OF, uscc=uscc(1), asOf="2030-01-01"),
        await _count(database_url, PERSON, id=str(person_id)),
    )


DOSSIER_AS_OF = DOSSIER.replace("($uscc: String!)", "($uscc: String!, $asOf: Date)").replace(
    "institution(uscc: $uscc)", "institution(uscc: $uscc, asOf: $asOf)"
)


async def test_round_trips_do_not_grow_with_the_data(db: asyncpg.Pool, database_url: str) -> None:
    small = await _counts(db, database_url, 1)
    large = await _counts(db, database_url, 25)
    assert small == large == (DOSSIER_STATEMENTS, DOSSIER_AS_OF_STATEMENTS, PERSON_STATEMENTS)
