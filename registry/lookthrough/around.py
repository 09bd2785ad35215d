"""Around an institution: connection chains between two parties, and extended supervision.

Connections are a breadth-first search from both ends at once, one set-based query per
level with a visited set in Python: a recursive CTE cannot keep a global visited set, and
without one the number of walks between two well-connected parties explodes. State bodies
and unknown holders are not traversed: one SASAC would connect every state-owned firm.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from registry.dossier import Moment
from registry.errors import InvalidArgument, NotFound
from registry.lookthrough import sql
from registry.lookthrough.model import (
    Chain,
    ConnectionsAnswer,
    EndKind,
    ExtendedSupervision,
    Link,
    Linked,
    Party,
    Relation,
    SupervisionLink,
    stated_share,
)
from registry.records import PartyKind

# a link as the search keeps it: (source key, target key, relation, record id, role)
_Raw = tuple[str, str, Relation, int, str | None]


def _node(kind: str, id: int) -> str:
    return f"{kind}:{id}"


async def _neighbours(conn: asyncpg.Connection, keys: set[str], at: Moment | None) -> list[_Raw]:
    """Every holding and post touching these parties: (source, target, relation, id, role)."""
    institutions = [int(k.split(":")[1]) for k in keys if k.startswith("institution:")]
    persons = [int(k.split(":")[1]) for k in keys if k.startswith("person:")]
    p = sql.Params()
    i, s = p("institutions", institutions, "bigint[]"), p("persons", persons, "bigint[]")
    holding, post = sql.alive("h", "shareholding", at, p), sql.alive("po", "position", at, p)
    rows = await conn.fetch(
        f"""SELECT 'holding' AS relation, h.id, h.holder_kind, h.holder_institution_id,
                   h.holder_person_id, h.institution_id, NULL AS role
            FROM holding h
            WHERE (h.institution_id = ANY({i}) OR h.holder_institution_id = ANY({i})
                   OR h.holder_person_id = ANY({s}))
              AND h.holder_kind IN ('institution', 'person') AND {holding}
            UNION ALL
            SELECT 'position', po.id, 'person', NULL, po.person_id, po.institution_id, po.role
            FROM "position" po
            WHERE (po.institution_id = ANY({i}) OR po.person_id = ANY({s})) AND {post}""",
        *p.values,
    )
    out = []
    for row in rows:
        if row["holder_kind"] == "institution":
            source = _node("institution", row["holder_institution_id"])
        else:
            source = _node("person", row["holder_person_id"])
        target = _node("institution", row["institution_id"])
        out.append((source, target, Relation(row["relation"]), row["id"], row["role"]))
    return sorted(out, key=lambda link: (link[2].value, link[3]))  # chains in a stable order


@dataclass
class _Side:
    """One end of the bidirectional search: distances and every shortest-path parent."""

    distance: dict[str, int]
    parents: dict[str, list[tuple[str, _Raw]]] = field(default_factory=lambda: defaultdict(list))
    frontier: set[str] = field(default_factory=set)
    depth: int = 0

    def routes(self, key: str) -> Iterator[list[tuple[str, _Raw]]]:
        """Every shortest route from this side's start to `key`, as (node, link into it)."""
        if not self.parents.get(key):
            yield []
            return
        for parent, link in self.parents[key]:
            for route in self.routes(parent):
                yield [*route, (key, link)]


async def connections(
    conn: asyncpg.Connection,
    a: Party,
    b: Party,
    *,
    max_depth: int = 6,
    max_chains: int = 20,
    max_frontier: int = 5_000,
    at: Moment | None = None,
) -> ConnectionsAnswer:
    """The shortest chains between two institutions or persons, through holdings (either
    direction) and posts (person — position — institution).

    At most `max_chains` chains are returned; a search whose frontier passes `max_frontier`
    parties stops (FANOUT_LIMIT). Not connected within `max_depth`: no chains, `length` None,
    cut short by DEPTH_LIMIT unless the search ran out of parties first.
    """
    for party in (a, b):
        if party.kind not in (PartyKind.INSTITUTION, PartyKind.PERSON) or party.id is None:
            raise InvalidArgument("connections run between institutions and persons")
    if max_depth < 1:
        raise InvalidArgument("max_depth must be at least 1")
    sides = (_Side({a.key: 0}, frontier={a.key}), _Side({b.key: 0}, frontier={b.key}))
    reasons: set[EndKind] = set()
    meeting: list[str] = [a.key] if a.key == b.key else []
    while not meeting and sides[0].frontier and sides[1].frontier:
        if sides[0].depth + sides[1].depth >= max_depth:
            reasons.add(EndKind.DEPTH_LIMIT)
            break
        if len(sides[0].frontier) + len(sides[1].frontier) > max_frontier:
            reasons.add(EndKind.FANOUT_LIMIT)
            break
        near, far = sorted(sides, key=lambda s: len(s.frontier))
        found: set[str] = set()
        for link in await _neighbours(conn, near.frontier, at):
            for here, there in ((link[0], link[1]), (link[1], link[0])):
                if (
                    here not in near.frontier
                    or near.distance.get(there, near.depth + 1) <= near.depth
                ):
                    continue
                near.distance[there] = near.depth + 1
                near.parents[there].append((here, link))
                found.add(there)
        near.depth += 1
        near.frontier = found
        met = [k for k in found if k in far.distance]
        if met:
            best = min(near.distance[k] + far.distance[k] for k in met)
            meeting = sorted(k for k in met if near.distance[k] + far.distance[k] == best)
    chains = _chains(sides, meeting, max_chains)
    if len(chains) > max_chains:
        reasons.add(EndKind.PATH_LIMIT)
        chains = chains[:max_chains]
    named = await _names(conn, {k for c in chains for k in c[0]} | {a.key, b.key})
    for party in (a, b):
        if party.key not in named:
            raise NotFound(f"no {party.kind.value} {party.id} in the registry")
    built = tuple(
        Chain(
            tuple(named[k] for k in keys),
            tuple(Link(named[s], named[t], rel, rid, role) for s, t, rel, rid, role in links),
        )
        for keys, links in chains
    )
    return ConnectionsAnswer(
        a=named[a.key],
        b=named[b.key],
        length=len(built[0].links) if built else None,
        chains=built,
        truncated=bool(reasons),
        reasons=frozenset(reasons),
        at=at,
    )


def _chains(
    sides: tuple[_Side, _Side], meeting: list[str], limit: int
) -> list[tuple[list[str], list[_Raw]]]:
    """Join the routes from a and from b at each meeting party; one more than `limit`
    tells the caller there were more."""
    out: list[tuple[list[str], list[_Raw]]] = []
    starts = [next(iter(side.distance)) for side in sides]  # each side's start comes first
    for key in meeting:
        for from_a in sides[0].routes(key):
            for from_b in sides[1].routes(key):
                nodes_b = [starts[1], *(k for k, _ in from_b)]
                out.append(
                    (
                        [starts[0], *(k for k, _ in from_a), *nodes_b[::-1][1:]],
                        [link for _, link in from_a] + [link for _, link in from_b][::-1],
                    )
                )
                if len(out) > limit:
                    return out
    return out


async def _names(conn: asyncpg.Connection, keys: set[str]) -> dict[str, Party]:
    institutions = [int(k.split(":")[1]) for k in keys if k.startswith("institution:")]
    persons = [int(k.split(":")[1]) for k in keys if k.startswith("person:")]
    rows = await conn.fetch(
        """SELECT 'institution' AS kind, id, name, false AS masked FROM institution
               WHERE id = ANY($1::bigint[])
           UNION ALL
           SELECT 'person', id, name, id_masked FROM person WHERE id = ANY($2::bigint[])""",
        institutions,
        persons,
    )
    out: dict[str, Party] = {}
    for row in rows:
        if row["kind"] == "institution":
            party = Party.institution(row["id"], row["name"])
        else:
            party = Party.person(row["id"], row["name"], row["masked"])
        out[party.key] = party
    return out


# --- extended supervision ------------------------------------------------------------------


async def extended_supervision(
    conn: asyncpg.Connection, institution_id: int, *, at: Moment | None = None
) -> ExtendedSupervision:
    """延伸监管: every other institution where the subject's legal representative, other key
    personnel or direct shareholders (persons and institutions) hold posts or shares, each
    with the link that brought it in. One round trip.
    """
    p = sql.Params()
    subject = p("subject", institution_id, "bigint")
    post, post_there = sql.alive("po", "position", at, p), sql.alive("p2", "position", at, p)
    holders = sql.holdings(f"h.institution_id = {subject}", at, p)
    by_person = sql.holdings("h.holder_person_id = t.via_id", at, p)
    by_institution = sql.holdings("h.holder_institution_id = t.via_id", at, p)
    shares = "e.share_exact, e.share_min, e.share_max, e.share_min_inclusive, e.share_max_inclusive"
    no_share = """NULL::numeric AS share_exact, NULL::numeric AS share_min,
        NULL::numeric AS share_max, NULL::boolean AS share_min_inclusive,
        NULL::boolean AS share_max_inclusive"""
    rows = await conn.fetch(
        f"""
WITH subject AS (SELECT id, name FROM institution WHERE id = {subject}),
ties AS (
    SELECT 'person' AS via_kind, po.person_id AS via_id, po.role AS role_at_subject,
           po.id AS record_at_subject
    FROM "position" po WHERE po.institution_id = {subject} AND {post}
  UNION ALL
    SELECT e.holder_kind, coalesce(e.holder_person_id, e.holder_institution_id), 'shareholder',
           e.id
    FROM ({holders}) e WHERE e.holder_kind IN ('person', 'institution')
),
found AS (
    SELECT t.*, 'position' AS relation, p2.id AS record_id, p2.institution_id AS other_id,
           p2.role AS role, {no_share}
    FROM ties t JOIN "position" p2 ON t.via_kind = 'person' AND p2.person_id = t.via_id
    WHERE p2.institution_id <> {subject} AND {post_there}
  UNION ALL
    SELECT t.*, 'holding', e.id, e.institution_id, NULL, {shares}
    FROM ties t CROSS JOIN LATERAL ({by_person}) e
    WHERE t.via_kind = 'person' AND e.institution_id <> {subject}
  UNION ALL
    SELECT t.*, 'holding', e.id, e.institution_id, NULL, {shares}
    FROM ties t CROSS JOIN LATERAL ({by_institution}) e
    WHERE t.via_kind = 'institution' AND e.institution_id <> {subject}
)
SELECT s.name AS subject_name, f.*, o.name AS other_name,
       coalesce(vp.name, vi.name) AS via_name, coalesce(vp.id_masked, false) AS via_masked
FROM subject s LEFT JOIN found f ON true
LEFT JOIN institution o ON o.id = f.other_id
LEFT JOIN person vp ON f.via_kind = 'person' AND vp.id = f.via_id
LEFT JOIN institution vi ON f.via_kind = 'institution' AND vi.id = f.via_id""",
        *p.values,
    )
    if not rows:
        raise NotFound(f"no institution {institution_id} in the registry")
    links: dict[int, list[SupervisionLink]] = defaultdict(list)
    names: dict[int, str | None] = {}
    for row in rows:
        if row["other_id"] is None:
            continue
        names[row["other_id"]] = row["other_name"]
        links[row["other_id"]].append(_supervision_link(row))
    linked = tuple(
        Linked(
            Party.institution(other, names[other]),
            tuple(sorted(found, key=lambda s: (s.via.key, s.role_at_subject, s.record_id))),
        )
        for other, found in sorted(links.items())
    )
    return ExtendedSupervision(
        Party.institution(institution_id, rows[0]["subject_name"]), linked, at
    )


def _supervision_link(row: Mapping[str, Any]) -> SupervisionLink:
    if row["via_kind"] == "person":
        via = Party.person(row["via_id"], row["via_name"], row["via_masked"])
    else:
        via = Party.institution(row["via_id"], row["via_name"])
    return SupervisionLink(
        via=via,
        role_at_subject=row["role_at_subject"],
        record_at_subject=row["record_at_subject"],
        relation=Relation(row["relation"]),
        record_id=row["record_id"],
        role=row["role"],
        share=stated_share(row),
    )
