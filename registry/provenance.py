"""Where each field of a record came from, and who disagrees.

For every field the sources in force state, the answer lists each source's value with the
batch that said it, when it was first and last seen, its valid period, and whether it is the
governing (golden) value. A field whose sources give different values is `disputed`.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg
import orjson

from registry.dossier import Moment
from registry.golden import in_force
from registry.precedence import load as load_precedence


@dataclass(frozen=True)
class SourcedValue:
    source: str
    value: Any
    governing: bool
    batch_id: int
    batch_ref: str
    first_seen: dt.datetime
    last_seen: dt.datetime
    valid_from: dt.date | None
    valid_to: dt.date | None


@dataclass(frozen=True)
class FieldProvenance:
    field: str
    value: Any
    disputed: bool
    sources: list[SourcedValue]


async def provenance(
    conn: asyncpg.Connection, kind: str, record_ids: Sequence[int], at: Moment | None
) -> dict[int, list[FieldProvenance]]:
    condition, valid_to = in_force("$3", "$4")
    if at is None:
        condition, valid_to = "s.closed_at IS NULL", "s.valid_to"
    rows = await conn.fetch(
        f"""SELECT s.id, s.record_id, s.source, s.body, s.batch_id, b.batch_ref, s.first_seen,
                   s.last_seen, s.valid_from, {valid_to} AS valid_to,
                   ({condition}) AS in_force
            FROM statement s JOIN batch b ON b.id = s.batch_id
            WHERE s.record_kind = $1 AND s.record_id = ANY($2::bigint[])
              -- keeps $3 and $4 typed when the current-state filter leaves them unused
              AND ($3::date IS NULL OR TRUE) AND ($4::timestamptz IS NULL OR TRUE)
            ORDER BY s.record_id, s.source, s.id""",
        kind,
        list(record_ids),
        at.as_of if at else None,
        at.known_at if at else None,
    )
    history: dict[tuple[int, str], list[asyncpg.Record]] = defaultdict(list)
    for row in rows:
        history[(row["record_id"], row["source"])].append(row)
    ranks = load_precedence().ranks[kind]
    by_record: dict[int, dict[str, list[SourcedValue]]] = defaultdict(lambda: defaultdict(list))
    for (record_id, source), statements in sorted(
        history.items(), key=lambda item: (item[0][0], ranks.get(item[0][1], 99))
    ):
        for index, row in enumerate(statements):
            if not row["in_force"]:
                continue
            body = orjson.loads(row["body"])
            for name, value in body.items():
                by_record[record_id][name].append(
                    SourcedValue(
                        source=source,
                        value=value,
                        governing=False,
                        batch_id=row["batch_id"],
                        batch_ref=row["batch_ref"],
                        first_seen=_first_seen(statements[: index + 1], name, value),
                        last_seen=row["last_seen"],
                        valid_from=row["valid_from"],
                        valid_to=row["valid_to"],
                    )
                )
    answer: dict[int, list[FieldProvenance]] = {}
    for record_id, fields in by_record.items():
        answer[record_id] = []
        for name in sorted(fields):
            values = fields[name]
            governing = values[0]
            values[0] = SourcedValue(**{**vars(governing), "governing": True})
            distinct = {orjson.dumps(v.value, option=orjson.OPT_SORT_KEYS) for v in values}
            answer[record_id].append(
                FieldProvenance(name, governing.value, len(distinct) > 1, values)
            )
    return answer


def _first_seen(statements: Sequence[asyncpg.Record], name: str, value: Any) -> dt.datetime:
    """The first sighting of this value from this source, across later unrelated changes."""
    first: dt.datetime = statements[-1]["first_seen"]
    for row in reversed(statements[:-1]):
        if orjson.loads(row["body"]).get(name) != value:
            break
        first = row["first_seen"]
    return first
