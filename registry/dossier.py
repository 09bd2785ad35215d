"""Reading the one-file-per-institution dossier: set-based lookups, keyed for DataLoaders.

Each function takes a batch of keys and answers for all of them with one statement, so a
GraphQL request costs one round trip per kind of data, whatever the number of objects.
With no `Moment` the golden (current) columns answer; with one, the statements in force at
that moment are resolved by `registry.golden`, and the same row shapes come back.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import asyncpg

from registry import golden, tables
from registry.kinds import KINDS_BY_NAME

Row = dict[str, Any]


@dataclass(frozen=True)
class Moment:
    """A point on both clocks: true in the world on `as_of`, as the registry knew at `known_at`."""

    as_of: dt.date
    known_at: dt.datetime


# the record tables whose rows hang off one institution, by record kind
_CHILD_KINDS = ("shareholding", "position", "licence", "website", "classification",
                "list_entry", "branch", "account")  # fmt: skip


def _table(kind: str) -> str:
    return f'"{KINDS_BY_NAME[kind].table.name}"'


async def _with_bodies(
    conn: asyncpg.Connection, kind: str, rows: Sequence[asyncpg.Record], at: Moment
) -> list[Row]:
    """Identity columns from the record table, golden columns as they were at the moment."""
    identity = ["id", KINDS_BY_NAME[kind].key_column, *KINDS_BY_NAME[kind].identity_columns]
    bodies = await golden.bodies_at(conn, kind, [r["id"] for r in rows], at.as_of, at.known_at)
    out = []
    for row in rows:
        body = bodies.get(row["id"])
        if body is not None:
            columns = dict.fromkeys(KINDS_BY_NAME[kind].golden_columns)
            out.append({**columns, **_typed(body), **{c: row[c] for c in identity}})
    return out


def _typed(body: dict[str, Any]) -> dict[str, Any]:
    """Statement bodies and JSON keep dates and amounts as text; give them their types back."""
    out = dict(body)
    for name, value in body.items():
        convert = _CONVERTERS.get(name)
        if convert is not None and value is not None and not isinstance(value, Decimal):
            out[name] = convert(value)
    return out


def _columns_of_type(type_name: str) -> frozenset[str]:
    return frozenset(
        column.name
        for table in [*(kind.table for kind in KINDS_BY_NAME.values()), tables.person]
        for column in table.columns
        if type(column.type).__name__ == type_name
    )


_CONVERTERS: dict[str, Any] = {
    **dict.fromkeys(_columns_of_type("Date"), dt.date.fromisoformat),
    **dict.fromkeys(_columns_of_type("TIMESTAMP"), dt.datetime.fromisoformat),
    **dict.fromkeys(_columns_of_type("Numeric"), lambda v: Decimal(str(v))),
}


async def institutions(
    conn: asyncpg.Connection, column: str, keys: Sequence[Any], at: Moment | None = None
) -> dict[Any, Row]:
    """Institutions by `id` or `uscc`."""
    assert column in ("id", "uscc")
    rows = await conn.fetch(f"SELECT * FROM institution WHERE {column} = ANY($1)", list(keys))
    if at is None:
        return {row[column]: dict(row) for row in rows}
    dated = await _with_bodies(conn, "institution", rows, at)
    flags = {row["id"]: row for row in rows}
    for row in dated:
        row["pilot_uscc"] = flags[row["id"]]["pilot_uscc"]
        row["mentioned_only"] = flags[row["id"]]["mentioned_only"]
        row["active"] = True
    return {row[column]: row for row in dated}


async def children(
    conn: asyncpg.Connection,
    kind: str,
    institution_ids: Sequence[int],
    at: Moment | None = None,
) -> dict[int, list[Row]]:
    """Records of one kind that hang off each institution (shareholders, licences, …)."""
    assert kind in _CHILD_KINDS
    active = "AND active" if at is None else ""
    rows = await conn.fetch(
        f"SELECT * FROM {_table(kind)} WHERE institution_id = ANY($1::bigint[]) {active} "
        "ORDER BY institution_id, id",
        list(institution_ids),
    )
    found = [dict(r) for r in rows] if at is None else await _with_bodies(conn, kind, rows, at)
    grouped: dict[int, list[Row]] = defaultdict(list)
    for row in found:
        grouped[row["institution_id"]].append(row)
    return grouped


async def held_by(
    conn: asyncpg.Connection,
    holder_column: str,
    holder_ids: Sequence[int],
    at: Moment | None = None,
) -> dict[int, list[Row]]:
    """Holdings whose holder is one of these institutions or persons."""
    assert holder_column in ("holder_institution_id", "holder_person_id")
    active = "AND active" if at is None else ""
    rows = await conn.fetch(
        f"SELECT * FROM holding WHERE {holder_column} = ANY($1::bigint[]) {active} ORDER BY id",
        list(holder_ids),
    )
    found = (
        [dict(r) for r in rows]
        if at is None
        else await _with_bodies(conn, "shareholding", rows, at)
    )
    grouped: dict[int, list[Row]] = defaultdict(list)
    for row in found:
        grouped[row[holder_column]].append(row)
    return grouped


async def positions_of_persons(
    conn: asyncpg.Connection, person_ids: Sequence[int], at: Moment | None = None
) -> dict[int, list[Row]]:
    active = "AND active" if at is None else ""
    rows = await conn.fetch(
        f'SELECT * FROM "position" WHERE person_id = ANY($1::bigint[]) {active} ORDER BY id',
        list(person_ids),
    )
    found = (
        [dict(r) for r in rows] if at is None else await _with_bodies(conn, "position", rows, at)
    )
    grouped: dict[int, list[Row]] = defaultdict(list)
    for row in found:
        grouped[row["person_id"]].append(row)
    return grouped


async def persons(conn: asyncpg.Connection, ids: Sequence[int]) -> dict[int, Row]:
    rows = await conn.fetch("SELECT * FROM person WHERE id = ANY($1::bigint[])", list(ids))
    return {row["id"]: dict(row) for row in rows}


# --- the whole file in one statement ------------------------------------------------------

FILE_PARTS = frozenset(_CHILD_KINDS)
_INSTITUTION_COLUMNS = ", ".join(
    f'i."{c.name}"' for c in KINDS_BY_NAME["institution"].table.columns if c.name != "name_search"
)


@dataclass(frozen=True)
class File:
    """An institution with the parts of its file that were asked for, read together."""

    institution: Row
    parts: dict[str, list[Row]]
    persons: list[Row]  # behind its posts and shareholdings
    holders: list[Row]  # institutions holding shares in it


def _part(kind: str) -> str:
    return (
        f"(SELECT coalesce(jsonb_agg(to_jsonb(x) ORDER BY x.id), '[]') FROM {_table(kind)} x "
        f"WHERE x.institution_id = i.id AND x.active) AS {kind}"
    )


async def files(
    conn: asyncpg.Connection, column: str, keys: Sequence[Any], parts: frozenset[str]
) -> dict[Any, File]:
    """Current files by `id` or `uscc`: one statement, however many parts are asked for.

    The hot read of agency systems. The same rows as `institutions`, `children` and
    `persons` would give, so the request's loaders can be primed with them.
    """
    assert column in ("id", "uscc") and parts <= FILE_PARTS
    selects = [_part(kind) for kind in sorted(parts)]
    if parts & {"position", "shareholding"}:
        selects.append(
            """(SELECT coalesce(jsonb_agg(to_jsonb(x)), '[]') FROM person x WHERE x.id IN (
                 SELECT person_id FROM "position" WHERE institution_id = i.id AND active
                 UNION SELECT holder_person_id FROM holding WHERE institution_id = i.id
                 AND active)) AS persons"""
        )
    if "shareholding" in parts:
        selects.append(
            f"""(SELECT coalesce(jsonb_agg(jsonb_build_object({_json_pairs()})), '[]')
                 FROM institution x WHERE x.id IN (
                 SELECT holder_institution_id FROM holding WHERE institution_id = i.id
                 AND active)) AS holders"""
        )
    rows = await conn.fetch(
        f"SELECT {', '.join([_INSTITUTION_COLUMNS, *selects])} "
        f"FROM institution i WHERE i.{column} = ANY($1)",
        list(keys),
    )
    answer = {}
    for row in rows:
        institution = {k: v for k, v in row.items() if k not in FILE_PARTS | _EXTRA}
        answer[row[column]] = File(
            institution=institution,
            parts={kind: _rows(row[kind]) for kind in parts},
            persons=_rows(row["persons"]) if "persons" in row else [],
            holders=_rows(row["holders"]) if "holders" in row else [],
        )
    return answer


_EXTRA = frozenset({"persons", "holders"})


def _json_pairs() -> str:
    names = [c.name for c in KINDS_BY_NAME["institution"].table.columns if c.name != "name_search"]
    return ", ".join(f"'{n}', x.\"{n}\"" for n in names)


def _rows(value: str) -> list[Row]:
    # json, not orjson: numerics must keep their scale ("60.00000000"), as asyncpg gives them
    return [_typed(item) for item in json.loads(value, parse_float=Decimal)]
