"""The look-throughs as a plain traversal over an in-memory graph: the yardstick for the SQL.

Slow and simple on purpose — a depth-first walk over dicts, with the intervals multiplied
in Python — so that tests can hold the recursive CTE to it on random graphs. It loads the
holdings with ordinary queries (`load_graph`; at a moment through `registry.golden
.bodies_at`) and answers with the same dataclasses, so answers compare with `==`.
Not for production use: it reads every holding in the store.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import asyncpg

from registry import golden
from registry.dossier import Moment
from registry.lookthrough import assemble
from registry.lookthrough.control import Decisions, control_answer, members_of
from registry.lookthrough.model import (
    WHOLE,
    ControlAnswer,
    EndKind,
    GroupAnswer,
    HolderCount,
    HoldingsAnswer,
    Hop,
    Interval,
    OwnershipAnswer,
    Party,
    Path,
    end_of_holder,
    hop_from_row,
)
from registry.lookthrough.rules import VEHICLES, VehicleRule, decide_control
from registry.lookthrough.walk import Direction, Limits
from registry.precedence import load as load_precedence
from registry.records import PartyKind

_SHARE_NUMBERS = ("share_exact", "share_min", "share_max")
_SHARE_FLAGS = ("share_min_inclusive", "share_max_inclusive")


@dataclass(frozen=True)
class Graph:
    """Every holding in force, as hops, indexed both ways."""

    holders: Mapping[int, tuple[Hop, ...]]  # by held institution id
    holdings: Mapping[str, tuple[Hop, ...]]  # by holder party key
    institutions: Mapping[int, tuple[str | None, str | None]]  # name, enterprise type
    persons: Mapping[int, tuple[str, bool]]  # name, masked
    at: Moment | None

    def party(self, party: Party) -> Party:
        """The party with its name as the registry has it."""
        if party.id is None:
            return party
        if party.kind is PartyKind.INSTITUTION and party.id in self.institutions:
            return Party.institution(party.id, self.institutions[party.id][0])
        if party.kind is PartyKind.PERSON and party.id in self.persons:
            name, masked = self.persons[party.id]
            return Party.person(party.id, name, masked)
        return party


async def load_graph(conn: asyncpg.Connection, at: Moment | None = None) -> Graph:
    institutions = {
        r["id"]: (r["name"], r["enterprise_type"])
        for r in await conn.fetch("SELECT id, name, enterprise_type FROM institution")
    }
    persons = {
        r["id"]: (r["name"], r["id_masked"])
        for r in await conn.fetch("SELECT id, name, id_masked FROM person")
    }
    if at is None:
        rows = [dict(r) for r in await conn.fetch("SELECT * FROM holding WHERE active")]
        statements = "SELECT record_id, source FROM statement s WHERE s.closed_at IS NULL"
        args: list[Any] = []
    else:
        every = await conn.fetch("SELECT * FROM holding")
        bodies = await golden.bodies_at(
            conn, "shareholding", [r["id"] for r in every], at.as_of, at.known_at
        )
        rows = [_at_moment(dict(r), bodies[r["id"]]) for r in every if r["id"] in bodies]
        condition, _ = golden.in_force("$1", "$2")
        statements = f"SELECT record_id, source FROM statement s WHERE {condition}"
        args = [at.as_of, at.known_at]
    order = load_precedence().order("shareholding")
    sources: dict[int, str] = {}
    for r in await conn.fetch(f"{statements} AND s.record_kind = 'shareholding'", *args):
        best = sources.get(r["record_id"])
        if best is None or order.index(r["source"]) < order.index(best):
            sources[r["record_id"]] = r["source"]
    holders: dict[int, list[Hop]] = defaultdict(list)
    holdings: dict[str, list[Hop]] = defaultdict(list)
    for row in rows:
        kind = row["holder_kind"]
        person = persons.get(row["holder_person_id"])
        if kind == "institution":
            label = institutions[row["holder_institution_id"]][0] or row["holder_name"]
        else:
            label = person[0] if person else row["holder_name"]
        hop = hop_from_row(
            {
                **row,
                "holder_label": label,
                "held_name": institutions[row["institution_id"]][0],
                "masked": bool(person and person[1]),
                "source": sources.get(row["id"]),
            }
        )
        holders[hop.held.id or 0].append(hop)
        holdings[hop.holder.key].append(hop)
    return Graph(
        {k: tuple(v) for k, v in holders.items()},
        {k: tuple(v) for k, v in holdings.items()},
        institutions,
        persons,
        at,
    )


def _at_moment(row: dict[str, Any], body: dict[str, Any]) -> dict[str, Any]:
    for column in _SHARE_NUMBERS:
        row[column] = Decimal(body[column]) if body.get(column) is not None else None
    for column in _SHARE_FLAGS:
        row[column] = body.get(column)
    row["interests"] = body.get("interests") or []
    return row


def walk(
    graph: Graph,
    direction: Direction,
    start: Party,
    limits: Limits,
    vehicles: VehicleRule | None = None,
) -> list[Path]:
    """Every path from `start`, depth first, with the ends the SQL walk must also find."""
    up = direction == "up"

    def next_hops(institution_id: int) -> tuple[Hop, ...]:
        if up:
            return graph.holders.get(institution_id, ())
        return graph.holdings.get(f"institution:{institution_id}", ())

    first = next_hops(start.id or 0) if up else graph.holdings.get(start.key, ())
    if len(first) > limits.max_fanout:
        return [Path((), WHOLE, EndKind.FANOUT_LIMIT, start)]
    paths: list[Path] = []

    def end_at(hop: Hop, seen: set[int], depth: int, high: Decimal) -> EndKind | None:
        if high < limits.min_share:
            return EndKind.BELOW_MIN_SHARE
        if up and (made := end_of_holder(hop.holder)) is not None:
            return made
        node = (hop.holder if up else hop.held).id
        assert node is not None
        if node in seen:
            return EndKind.CYCLE
        if vehicles is not None and not vehicles.matches(*graph.institutions[node]):
            return EndKind.NOT_LOOKED_THROUGH
        found = len(next_hops(node))
        if found == 0:
            return EndKind.INSTITUTION_WITHOUT_HOLDERS if up else EndKind.HOLDS_NOTHING
        if depth >= limits.max_depth:
            return EndKind.DEPTH_LIMIT
        if found > limits.max_fanout:
            return EndKind.FANOUT_LIMIT
        return None

    def visit(
        hops: tuple[Hop, ...], chain: tuple[Hop, ...], seen: set[int], share: Interval
    ) -> None:
        for hop in hops:
            here = share.times(hop.interval)
            path = (*chain, hop)
            end = end_at(hop, seen, len(path), here.high)
            party = hop.holder if up else hop.held
            if end is not None or not up:
                paths.append(Path(path, here, end, party))
            if end is None:
                assert party.id is not None
                visit(next_hops(party.id), path, seen | {party.id}, here)

    seen = {start.id} if start.kind is PartyKind.INSTITUTION and start.id is not None else set()
    visit(first, (), seen, WHOLE)
    return paths


def ultimate_owners(graph: Graph, institution_id: int, limits: Limits) -> OwnershipAnswer:
    root = graph.party(Party.institution(institution_id))
    return assemble.ownership_answer(root, walk(graph, "up", root, limits), graph.at)


def holder_count(
    graph: Graph, institution_id: int, limits: Limits, vehicles: VehicleRule = VEHICLES
) -> HolderCount:
    root = graph.party(Party.institution(institution_id))
    return assemble.count_answer(root, walk(graph, "up", root, limits, vehicles), graph.at)


def decisions(graph: Graph) -> Decisions:
    """The control rule applied to every institution, from all of its holders."""
    out = {}
    for institution_id in graph.institutions:
        hops = graph.holders.get(institution_id, ())
        total_high = sum((h.interval.high for h in hops), Decimal(0))
        out[institution_id] = decide_control(hops, total_high)
    return Decisions({i: n for i, (n, _) in graph.institutions.items()}, out)


def actual_controller(graph: Graph, institution_id: int, max_depth: int) -> ControlAnswer:
    return control_answer(decisions(graph), institution_id, max_depth, graph.at)


def group_of(graph: Graph, controller: Party, max_depth: int) -> GroupAnswer:
    return members_of(decisions(graph), graph.party(controller), max_depth, graph.at)


def holdings_of(graph: Graph, party: Party, limits: Limits) -> HoldingsAnswer:
    start = graph.party(party)
    paths = walk(graph, "down", start, limits)
    controlled = group_of(graph, start, limits.max_depth)
    return assemble.holdings_answer(start, paths, controlled, graph.at)
