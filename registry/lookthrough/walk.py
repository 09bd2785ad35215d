"""The share walk: one recursive CTE, upward (who holds this) or downward (what this holds).

Each row of the walk is one hop reached by one path: it carries the path as an array of
holding ids, the institutions already on it (`seen`: a holder found there is a cycle), the
product of the share bounds as fractions, and `stop`, the reason the path ends at this hop
(NULL: go on). Pruning happens inside the recursion — under `min_share`, past `max_depth`,
at an institution with more than `max_fanout` holdings — and the whole walk is capped at
`max_paths` rows, so one round trip answers and nothing loops. The sums across paths and
the grouping are done in Python over the rows (`assemble`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal

import asyncpg

from registry.dossier import Moment
from registry.errors import InvalidArgument, NotFound
from registry.lookthrough import sql
from registry.lookthrough.model import (
    CENT,
    HUNDRED,
    WHOLE,
    EndKind,
    Hop,
    Interval,
    Party,
    Path,
    hop_from_row,
    mul,
)
from registry.lookthrough.rules import VehicleRule
from registry.records import PartyKind

Direction = Literal["up", "down"]


@dataclass(frozen=True)
class Limits:
    max_depth: int = 20
    min_share: Decimal = Decimal(0)
    max_fanout: int = 500
    max_paths: int = 20_000

    def check(self) -> None:
        if self.max_depth < 1 or self.max_fanout < 1 or self.max_paths < 1:
            raise InvalidArgument("max_depth, max_fanout and max_paths must be at least 1")
        if not Decimal(0) <= self.min_share <= HUNDRED:
            raise InvalidArgument(f"min_share {self.min_share} is not a percentage")


@dataclass(frozen=True)
class Walk:
    direction: Direction
    start: Party
    limits: Limits
    at: Moment | None
    vehicles: VehicleRule | None = None  # holder count: look through these institutions only


def _start(walk: Walk, p: sql.Params) -> tuple[str, str, str]:
    """The root row (name, masked), the first holdings, the institutions seen."""
    party = walk.start
    if walk.direction == "up":
        if party.kind is not PartyKind.INSTITUTION or party.id is None:
            raise InvalidArgument("an upward look-through starts from an institution")
        where = f"h.institution_id = {p('start', party.id, 'bigint')}"
    elif party.kind is PartyKind.INSTITUTION and party.id is not None:
        where = f"h.holder_institution_id = {p('start', party.id, 'bigint')}"
    elif party.kind is PartyKind.PERSON and party.id is not None:
        where = f"h.holder_person_id = {p('start', party.id, 'bigint')}"
    elif party.kind is PartyKind.STATE_BODY and party.name:
        name = p("start_name", party.name, "text")
        where = f"h.holder_kind = 'state_body' AND h.holder_name = {name}"
    else:
        raise InvalidArgument(f"cannot look down from a party of kind {party.kind.value}")
    if party.kind is PartyKind.INSTITUTION:
        root = f"""SELECT i.name AS root_name, false AS root_masked
            FROM institution i WHERE i.id = {p("start", party.id, "bigint")}"""
        seen = f"ARRAY[{p('start', party.id, 'bigint')}]"
    elif party.kind is PartyKind.PERSON:
        root = f"""SELECT pe.name AS root_name, pe.id_masked AS root_masked
            FROM person pe WHERE pe.id = {p("start", party.id, "bigint")}"""
        seen = "ARRAY[]::bigint[]"
    else:
        name = p("start_name", party.name, "text")
        root = f"SELECT {name} AS root_name, false AS root_masked"
        seen = "ARRAY[]::bigint[]"
    return root, where, seen


def _stop(walk: Walk, p: sql.Params) -> str:
    """Why the path ends at this hop, NULL to go on. Order matters: a pruned path is pruned
    whoever it reached; what a holder is comes before where it is (a person on a cycle is
    still a person); an institution with no holders is an end even at the depth limit."""
    limits = walk.limits
    min_share = p("min_share", limits.min_share * CENT, "numeric")
    cases = [f"WHEN x.high < {min_share} THEN 'below_min_share'"]
    if walk.direction == "up":
        cases += [
            "WHEN e.holder_kind = 'person' AND pe.id_masked THEN 'unknown_owner'",
            "WHEN e.holder_kind = 'person' THEN 'natural_person'",
            "WHEN e.holder_kind = 'state_body' THEN 'state_body'",
            "WHEN e.holder_kind <> 'institution' THEN 'unknown_owner'",
        ]
    cases.append("WHEN x.node = ANY(x.seen) THEN 'cycle'")
    if walk.vehicles is not None:
        cases.append(f"WHEN NOT {sql.vehicle('v', walk.vehicles, p)} THEN 'not_looked_through'")
    nothing = "institution_without_holders" if walk.direction == "up" else "holds_nothing"
    cases += [
        f"WHEN c.n = 0 THEN '{nothing}'",
        f"WHEN x.depth >= {p('max_depth', limits.max_depth, 'int')} THEN 'depth_limit'",
        f"WHEN c.n > {p('max_fanout', limits.max_fanout, 'int')} THEN 'fanout_limit'",
    ]
    return "CASE " + "\n".join(cases) + " END"


def walk_sql(walk: Walk, p: sql.Params) -> str:
    root, first, seen0 = _start(walk, p)
    up = walk.direction == "up"
    step = "h.institution_id = w.node" if up else "h.holder_institution_id = w.node"
    node = "e.holder_institution_id" if up else "e.institution_id"
    below = "h.institution_id = x.node" if up else "h.holder_institution_id = x.node"
    cap = p("fanout_cap", walk.limits.max_fanout + 1, "int")
    columns = ", ".join(f"e.{c}" for c in sql.HOLDING_COLUMNS)
    joins = f"""LEFT JOIN LATERAL ({sql.count_holdings(below, cap, walk.at, p)}) c ON true
        LEFT JOIN person pe ON pe.id = e.holder_person_id
        {"LEFT JOIN institution v ON v.id = x.node" if walk.vehicles is not None else ""}"""
    select = f"""x.path, x.seen, x.depth, x.low, x.high, x.node, c.n,
        {_stop(walk, p)} AS stop, {columns}"""
    base_x = f"""SELECT ARRAY[e.id] AS path, {seen0} AS seen, 1 AS depth,
        {sql.low("e")} * 0.01 AS low, {sql.high("e")} * 0.01 AS high, {node} AS node"""
    step_x = f"""SELECT w.path || e.id AS path, w.seen || w.node AS seen, w.depth + 1 AS depth,
        w.low * {sql.low("e")} * 0.01 AS low, w.high * {sql.high("e")} * 0.01 AS high,
        {node} AS node"""
    return f"""
WITH RECURSIVE first AS MATERIALIZED ({sql.holdings(first, walk.at, p)} LIMIT {cap}),
root AS (SELECT *, (SELECT count(*) FROM first) AS root_n FROM ({root}) named),
walk AS (
    SELECT {select}
    FROM root r CROSS JOIN first e
    CROSS JOIN LATERAL ({base_x}) x {joins}
    WHERE r.root_n <= {p("max_fanout", walk.limits.max_fanout, "int")}
  UNION ALL
    SELECT {select}
    FROM walk w CROSS JOIN LATERAL ({sql.holdings(step, walk.at, p)}) e
    CROSS JOIN LATERAL ({step_x}) x {joins}
    WHERE w.stop IS NULL
),
limited AS (SELECT * FROM walk LIMIT {p("rows", walk.limits.max_paths + 1, "int")})
SELECT r.root_name, r.root_masked, r.root_n, w.path, w.low, w.high, w.stop, w.n,
       {", ".join(f"w.{c}" for c in sql.HOLDING_COLUMNS)},
       coalesce(hi.name, pe.name, w.holder_name) AS holder_label, hd.name AS held_name,
       coalesce(pe.id_masked, false) AS masked, {sql.source("w.id", walk.at, p)} AS source
FROM root r LEFT JOIN limited w ON true
LEFT JOIN institution hi ON hi.id = w.holder_institution_id
LEFT JOIN institution hd ON hd.id = w.institution_id
LEFT JOIN person pe ON pe.id = w.holder_person_id
"""


def _named(party: Party, name: str | None, masked: bool) -> Party:
    if party.kind is PartyKind.INSTITUTION and party.id is not None:
        return Party.institution(party.id, name)
    if party.kind is PartyKind.PERSON and party.id is not None:
        return Party.person(party.id, name, masked)
    return party


async def run(conn: asyncpg.Connection, walk: Walk) -> tuple[Party, list[Path]]:
    """The party the walk starts from (with its name) and every path the walk found."""
    walk.limits.check()
    p = sql.Params()
    rows = await conn.fetch(walk_sql(walk, p), *p.values)
    if not rows:
        raise NotFound(f"no {walk.start.kind.value} {walk.start.id} in the registry")
    start = _named(walk.start, rows[0]["root_name"], rows[0]["root_masked"])
    if rows[0]["root_n"] > walk.limits.max_fanout:
        return start, [Path((), WHOLE, EndKind.FANOUT_LIMIT, start)]
    found = [r for r in rows if r["path"] is not None]
    return start, paths_from_rows(walk.direction, found[: walk.limits.max_paths])


def paths_from_rows(direction: Direction, rows: Sequence[Mapping[str, Any]]) -> list[Path]:
    """Rebuild each path from its parent's; mark paths the row cap cut off."""
    hops: dict[int, Hop] = {}  # a holding is the same hop on every path through it
    keys = [tuple(r["path"]) for r in rows]
    for key, row in zip(keys, rows, strict=True):
        if key[-1] not in hops:
            hops[key[-1]] = hop_from_row(row)
    chains: dict[tuple[int, ...], tuple[Hop, ...]] = {}

    def chain_of(key: tuple[int, ...]) -> tuple[Hop, ...]:
        found = chains.get(key)
        if found is None:
            found = (chain_of(key[:-1]) if len(key) > 1 else ()) + (hops[key[-1]],)
            chains[key] = found
        return found

    children = Counter(key[:-1] for key in keys)
    paths: list[Path] = []
    for key, row in zip(keys, rows, strict=True):
        chain = chain_of(key)
        share = Interval(mul(row["low"], HUNDRED), mul(row["high"], HUNDRED))
        party = chain[-1].holder if direction == "up" else chain[-1].held
        end = EndKind(row["stop"]) if row["stop"] else None
        if end is None and children[key] < row["n"]:
            end = EndKind.PATH_LIMIT  # the row cap stopped the walk among this one's holdings
        if end is not None or direction == "down":
            paths.append(Path(chain, share, end, party))
    return paths
