"""Control: the actual controller (实际控制人) upward, and the group (系) under a controller.

Control is decided one institution at a time from its direct holders (`rules.decide_control`),
never from the share sums. One round trip fetches, for every institution reachable through
holdings that could give control, exactly those holdings (with the sum of the high bounds of
all its holders, for the residual inference); the chains are then followed in Python.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import asyncpg

from registry.dossier import Moment
from registry.errors import InvalidArgument, NotFound
from registry.lookthrough import sql
from registry.lookthrough.model import (
    ControlAnswer,
    ControlChain,
    ControlLink,
    EndKind,
    GroupAnswer,
    GroupMember,
    Hop,
    Party,
    end_of_holder,
    hop_from_row,
)
from registry.lookthrough.rules import ControlDecision, decide_control
from registry.records import PartyKind

_COMPLETE = frozenset(
    {
        EndKind.NATURAL_PERSON,
        EndKind.STATE_BODY,
        EndKind.UNKNOWN_OWNER,
        EndKind.UNCONTROLLED_INSTITUTION,
    }
)


@dataclass(frozen=True)
class Decisions:
    """Control decisions for every institution a control walk reached, and their names."""

    names: Mapping[int, str | None]
    decisions: Mapping[int, ControlDecision]

    def party(self, institution_id: int) -> Party:
        return Party.institution(institution_id, self.names.get(institution_id))


def _hop_columns(at: Moment | None, p: sql.Params) -> str:
    return f"""c.*, coalesce(hi.name, pe.name, c.holder_name) AS holder_label,
        i.name AS held_name, coalesce(pe.id_masked, false) AS masked,
        {sql.source("c.id", at, p)} AS source"""


def _reached_sql(reached: str, at: Moment | None, p: sql.Params) -> str:
    """Each reached institution with its name and each holding that could give control."""
    edges = sql.control_holdings("h.institution_id = r.institution_id", at, p, per_institution=True)
    return f"""SELECT r.institution_id AS at_id, i.name AS at_name, {_hop_columns(at, p)}
        FROM (SELECT DISTINCT institution_id FROM {reached}) r
        JOIN institution i ON i.id = r.institution_id
        LEFT JOIN LATERAL ({edges}) c ON true
        LEFT JOIN institution hi ON hi.id = c.holder_institution_id
        LEFT JOIN person pe ON pe.id = c.holder_person_id"""


def decisions_from_rows(rows: Sequence[Mapping[str, Any]]) -> Decisions:
    names: dict[int, str | None] = {}
    hops: dict[int, list[Hop]] = defaultdict(list)
    totals: dict[int, Decimal] = {}
    for row in rows:
        names[row["at_id"]] = row["at_name"]
        if row["id"] is not None:
            hops[row["at_id"]].append(hop_from_row(row))
            totals[row["at_id"]] = row["total_high"]
    return Decisions(
        names,
        {i: decide_control(hops[i], totals.get(i, Decimal(0))) for i in names},
    )


async def _decisions_up(
    conn: asyncpg.Connection, institution_id: int, max_depth: int, at: Moment | None
) -> Decisions:
    p = sql.Params()
    root = p("start", institution_id, "bigint")
    edges = sql.control_holdings("h.institution_id = u.institution_id", at, p, per_institution=True)
    query = f"""
WITH RECURSIVE up AS (
    SELECT {root} AS institution_id, 0 AS depth
  UNION
    SELECT c.holder_institution_id, u.depth + 1
    FROM up u CROSS JOIN LATERAL ({edges}) c
    WHERE u.depth < {p("max_depth", max_depth, "int")} AND c.holder_kind = 'institution'
)
{_reached_sql("up", at, p)}"""
    return decisions_from_rows(await conn.fetch(query, *p.values))


def climb(decisions: Decisions, institution_id: int, max_depth: int) -> list[ControlChain]:
    """Every control chain from an institution upward, one per controller reached."""
    chains: list[ControlChain] = []

    def visit(at: Party, links: tuple[ControlLink, ...], seen: frozenset[int]) -> None:
        assert at.id is not None
        decision = decisions.decisions[at.id]
        if not decision.units:
            if links:
                chains.append(ControlChain(links, EndKind.UNCONTROLLED_INSTITUTION, at))
            return
        for unit in decision.units:
            for claim in unit:
                holder = claim.hop.holder
                if holder.kind is PartyKind.INSTITUTION:
                    assert holder.id is not None
                    holder = decisions.party(holder.id)
                link = ControlLink(at, holder, claim.rules, claim.hop, claim.share)
                chain = (*links, link)
                end = end_of_holder(holder)
                if end is None:
                    assert holder.id is not None
                    if holder.id in seen:
                        end = EndKind.CYCLE
                    elif not decisions.decisions[holder.id].units:
                        end = EndKind.UNCONTROLLED_INSTITUTION
                    elif len(chain) >= max_depth:
                        end = EndKind.DEPTH_LIMIT
                    else:
                        visit(holder, chain, seen | {holder.id})
                        continue
                chains.append(ControlChain(chain, end, holder))

    visit(decisions.party(institution_id), (), frozenset({institution_id}))
    return chains


def control_answer(
    decisions: Decisions, institution_id: int, max_depth: int, at: Moment | None
) -> ControlAnswer:
    root = decisions.party(institution_id)
    chains = climb(decisions, institution_id, max_depth)
    seen_at: set[int] = set()
    ambiguous_at: list[Party] = []
    joint = False
    for chain in chains:
        for link in chain.links:
            assert link.controlled.id is not None
            decision = decisions.decisions[link.controlled.id]
            joint = joint or any(len(unit) > 1 for unit in decision.units)
            if decision.ambiguous and link.controlled.id not in seen_at:
                ambiguous_at.append(link.controlled)
            seen_at.add(link.controlled.id)
    candidates: dict[str, Party] = {}
    for chain in chains:
        if chain.end in _COMPLETE:
            candidates.setdefault(chain.party.key, chain.party)
    reasons = frozenset(c.end for c in chains if c.end not in _COMPLETE)
    controller: Party | None = None
    reason: str | None = None
    if not chains:
        reason = (
            f"no holder of {root.name or root.key} qualifies: no majority, board appointment, "
            "managing partner, concert majority or declared control"
        )
    elif ambiguous_at:
        names = ", ".join(p.name or p.key for p in ambiguous_at)
        reason = f"ambiguous: more than one holder qualifies as controller of {names}"
    elif reasons:
        reason = "a control chain stopped short: " + ", ".join(sorted(r.value for r in reasons))
    elif len(candidates) > 1:
        reason = "joint control: the parties acting in concert control together"
    else:
        controller = next(iter(candidates.values()))
    return ControlAnswer(
        institution=root,
        controller=controller,
        candidates=tuple(candidates.values()),
        chains=tuple(chains),
        ambiguous=bool(ambiguous_at),
        ambiguous_at=tuple(ambiguous_at),
        joint=joint,
        reason=reason,
        truncated=bool(reasons),
        reasons=reasons,
        at=at,
    )


async def actual_controller(
    conn: asyncpg.Connection,
    institution_id: int,
    *,
    max_depth: int = 20,
    at: Moment | None = None,
) -> ControlAnswer:
    """The actual controller of an institution, with the chain(s) and the rule at each step.

    Walks up through controllers until a natural person, a state body, an unknown holder or
    an institution no one controls. When two holders qualify at one step both are followed
    and the answer is flagged `ambiguous` rather than one being picked. `at`: as in
    `ultimate_owners`.
    """
    if max_depth < 1:
        raise InvalidArgument("max_depth must be at least 1")
    decisions = await _decisions_up(conn, institution_id, max_depth, at)
    if institution_id not in decisions.names:
        raise NotFound(f"no institution {institution_id} in the registry")
    return control_answer(decisions, institution_id, max_depth, at)


# --- downward: the group under one controller -------------------------------------------


def _start_where(party: Party, p: sql.Params) -> tuple[str, str]:
    """Holdings the party holds, and the SQL naming it (NULL when it has no record)."""
    if party.kind is PartyKind.INSTITUTION and party.id is not None:
        start = p("start", party.id, "bigint")
        return (
            f"h.holder_institution_id = {start}",
            f"SELECT name, false AS masked FROM institution WHERE id = {start}",
        )
    if party.kind is PartyKind.PERSON and party.id is not None:
        start = p("start", party.id, "bigint")
        return (
            f"h.holder_person_id = {start}",
            f"SELECT name, id_masked AS masked FROM person WHERE id = {start}",
        )
    if party.kind is PartyKind.STATE_BODY and party.name:
        name = p("start_name", party.name, "text")
        return (
            f"h.holder_kind = 'state_body' AND h.holder_name = {name}",
            f"SELECT {name} AS name, false AS masked",
        )
    raise InvalidArgument(f"a party of kind {party.kind.value} cannot be looked down from")


async def _decisions_down(
    conn: asyncpg.Connection, party: Party, max_depth: int, at: Moment | None
) -> tuple[Party, Decisions]:
    p = sql.Params()
    first, named = _start_where(party, p)
    start = sql.control_holdings(first, at, p, per_institution=False)
    step = sql.control_holdings(
        "h.holder_institution_id = d.institution_id", at, p, per_institution=False
    )
    # one level further than asked: a member at max_depth that controls more is reported
    query = f"""
WITH RECURSIVE root AS ({named}),
down AS (
    SELECT c.institution_id, 1 AS depth FROM ({start}) c
  UNION
    SELECT c.institution_id, d.depth + 1
    FROM down d CROSS JOIN LATERAL ({step}) c
    WHERE d.depth <= {p("max_depth", max_depth, "int")}
)
SELECT root.name AS root_name, root.masked AS root_masked, x.*
FROM root LEFT JOIN ({_reached_sql("down", at, p)}) x ON true"""
    rows = await conn.fetch(query, *p.values)
    if not rows:
        raise NotFound(f"no {party.kind.value} {party.id} in the registry")
    name, masked = rows[0]["root_name"], rows[0]["root_masked"]
    if party.kind is PartyKind.INSTITUTION and party.id is not None:
        party = Party.institution(party.id, name)
    elif party.kind is PartyKind.PERSON and party.id is not None:
        party = Party.person(party.id, name, masked)
    return party, decisions_from_rows([r for r in rows if r["at_id"] is not None])


def members_of(
    decisions: Decisions, controller: Party, max_depth: int, at: Moment | None
) -> GroupAnswer:
    """Institutions whose control runs up to `controller`, nearest first."""
    chains: dict[str, tuple[ControlLink, ...]] = {controller.key: ()}
    frontier = {controller.key}
    members: list[GroupMember] = []
    reasons: set[EndKind] = set()
    depth = 0
    while frontier:
        depth += 1
        found: dict[str, tuple[ControlLink, ...]] = {}
        for institution_id in sorted(decisions.decisions):
            party = decisions.party(institution_id)
            if party.key in chains or party.key in found:
                continue
            decision = decisions.decisions[institution_id]
            for unit in decision.units:
                claim = next((c for c in unit if c.hop.holder.key in frontier), None)
                if claim is None:
                    continue
                if depth > max_depth:
                    reasons.add(EndKind.DEPTH_LIMIT)
                    break
                holder = claim.hop.holder
                if holder.key == controller.key:
                    holder = controller
                elif holder.kind is PartyKind.INSTITUTION and holder.id is not None:
                    holder = decisions.party(holder.id)
                link = ControlLink(party, holder, claim.rules, claim.hop, claim.share)
                found[party.key] = (*chains[holder.key], link)
                members.append(
                    GroupMember(party, found[party.key], len(unit) > 1, decision.ambiguous)
                )
                break
        chains.update(found)
        frontier = set(found) if depth <= max_depth else set()
    return GroupAnswer(controller, tuple(members), bool(reasons), frozenset(reasons), at)


async def group_of(
    conn: asyncpg.Connection,
    controller: Party,
    *,
    max_depth: int = 20,
    at: Moment | None = None,
) -> GroupAnswer:
    """The institutions under one actual controller (系): every institution whose control
    chain, by the control rule, runs up to `controller` — directly or through members.

    A member also controlled by someone else (`ambiguous`) or jointly with parties acting
    in concert (`joint`) is listed with the flag. `at`: as in `ultimate_owners`.
    """
    if max_depth < 1:
        raise InvalidArgument("max_depth must be at least 1")
    named, decisions = await _decisions_down(conn, controller, max_depth, at)
    return members_of(decisions, named, max_depth, at)
