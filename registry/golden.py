"""Resolve statements into golden values, field by field, by source precedence.

One SQL rule serves both clocks: the ingest refreshes the record tables from the statements
open now, and an `asOf` / `knownAt` read resolves the statements that covered that moment.
For each record and field the value of the best-ranked source wins; a source that does not
state a field leaves it to the next one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import asyncpg
import orjson

from registry.kinds import KINDS_BY_NAME, Kind
from registry.precedence import load as load_precedence

# The statements in force for the requested records, with their source's rank (its place
# in the precedence list) and how many sources state the record. Window functions rather
# than self-joins: the planner cannot estimate a freshly loaded batch, and a mis-estimated
# join of CTEs turns quadratic.
_RANKED = """
    SELECT s.record_id, array_position($2::text[], s.source) AS rank,
           count(*) OVER (PARTITION BY s.record_id) AS sources,
           s.body || jsonb_strip_nulls(jsonb_build_object(
               'valid_from', s.valid_from, 'valid_to', {valid_to})) AS body
    FROM statement s
    WHERE s.record_kind = $3 AND s.record_id = ANY($1::bigint[]) AND {filter}
"""

# Most records have one source; they skip the per-field merge.
_MERGED = """
WITH ranked AS ({ranked}),
fields AS (
    SELECT DISTINCT ON (r.record_id, e.key) r.record_id, e.key, e.value
    FROM ranked r, jsonb_each(r.body) e
    WHERE r.sources > 1
    ORDER BY r.record_id, e.key, r.rank
)
SELECT record_id, body FROM ranked WHERE sources = 1
UNION ALL
SELECT record_id, jsonb_object_agg(key, value) FROM fields GROUP BY record_id
"""

_OPEN = "s.closed_at IS NULL"


def in_force(as_of: str, known_at: str) -> tuple[str, str]:
    """The filter for statements in force at a moment, and the end of validity as then known.

    What the registry knew at `known_at` of a statement closed later is only the end its
    source declared; the end set when it was closed was learnt afterwards.
    """
    valid_to = f"""(CASE WHEN s.closed_at > {known_at}::timestamptz
        THEN (s.body->>'valid_to')::date ELSE s.valid_to END)"""
    condition = f"""s.recorded_at <= {known_at}::timestamptz
        AND (s.valid_from IS NULL OR s.valid_from <= {as_of}::date)
        AND ({valid_to} IS NULL OR {valid_to} > {as_of}::date)"""
    return condition, valid_to


def _params(kind: Kind, record_ids: Sequence[int]) -> list[Any]:
    return [list(record_ids), load_precedence().order(kind.name), kind.name]


async def refresh(conn: asyncpg.Connection, kind_name: str, record_ids: Sequence[int]) -> None:
    """Recompute the golden columns of these records from their open statements."""
    if not record_ids:
        return
    kind = KINDS_BY_NAME[kind_name]
    table = kind.table.name
    columns = kind.golden_columns
    targets = ", ".join(f'"{c}"' for c in columns)
    values = ", ".join(f'r."{c}"' for c in columns)
    merged = _MERGED.format(ranked=_RANKED.format(filter=_OPEN, valid_to="s.valid_to"))
    extra = ", mentioned_only = false" if kind_name == "institution" else ""
    await conn.execute(
        f"""
        WITH merged AS ({merged})
        UPDATE "{table}" t SET ({targets}) = ({values}), active = true, updated_at = now(){extra}
        FROM merged m, jsonb_populate_record(NULL::"{table}", m.body) r
        WHERE t.id = m.record_id
        """,
        *_params(kind, record_ids),
    )
    await conn.execute(
        f"""
        UPDATE "{table}" t SET active = false, updated_at = now()
        WHERE t.id = ANY($1::bigint[]) AND t.active AND NOT EXISTS (
            SELECT 1 FROM statement s WHERE s.record_kind = $2 AND s.record_id = t.id
            AND s.closed_at IS NULL)
        """,
        list(record_ids),
        kind_name,
    )


async def bodies_at(
    conn: asyncpg.Connection,
    kind_name: str,
    record_ids: Sequence[int],
    as_of: dt.date,
    known_at: dt.datetime,
) -> dict[int, dict[str, Any]]:
    """Golden bodies as they were true on `as_of`, by what the registry knew at `known_at`.

    A record with no statement covering that moment is absent from the answer.
    """
    if not record_ids:
        return {}
    kind = KINDS_BY_NAME[kind_name]
    condition, valid_to = in_force("$4", "$5")
    merged = _MERGED.format(ranked=_RANKED.format(filter=condition, valid_to=valid_to))
    rows = await conn.fetch(merged, *_params(kind, record_ids), as_of, known_at)
    return {row["record_id"]: orjson.loads(row["body"]) for row in rows}
