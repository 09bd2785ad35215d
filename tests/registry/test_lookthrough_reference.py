"""The SQL look-through against the in-memory reference, on random small graphs.

Each example loads a random graph through the ingest — cycles, bands with open ends,
missing shares, masked persons, state bodies, unknown holders, partnerships, holders known
only by mention, control interests — sometimes followed by a snapshot that changes and drops
holdings, and asks every upward and downward look-through both ways, now and at a moment
before the snapshot. The answers must be equal, paths, ends and intervals included.
"""

from __future__ import annotations

import datetime as dt
import itertools
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import asyncpg
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from registry import lookthrough
from registry.dossier import Moment
from registry.ingest import ingest
from registry.lookthrough import reference
from registry.lookthrough.walk import Limits
from registry.records import InterestType, Source
from tests.factories import numbered, resident_id, uscc

T0 = dt.datetime(2026, 3, 1, 4, tzinfo=dt.UTC)
T1 = dt.datetime(2026, 4, 1, 4, tzinfo=dt.UTC)
BEFORE_SNAPSHOT = dt.date(2026, 3, 15)
MENTIONED = 90  # an institution outside the registry, known only as a holder

PERCENTS = ["0", "1", "12.5", "25", "30", "33.33333333", "49.99", "50", "50.5", "60", "75", "100"]


# held institution, (holder kind, holder number), share or None, interests
Edge = tuple[int, tuple[str, int], dict[str, Any] | None, list[str]]


@dataclass(frozen=True)
class Spec:
    types: list[str | None]  # enterprise types; 有限合伙企业 makes a vehicle
    edges: list[Edge]
    changed: list[Edge] | None  # a later snapshot: these holdings, with new shares
    root: int
    down_from: tuple[str, int]
    limits: Limits


def _share() -> st.SearchStrategy[dict[str, Any] | None]:
    exact = st.sampled_from(PERCENTS).map(lambda v: {"exact": v})
    ends = st.lists(st.sampled_from(PERCENTS), min_size=2, max_size=2).map(
        lambda pair: sorted(pair, key=Decimal)
    )
    band = st.tuples(ends, st.sampled_from(["both", "min", "max"]), st.booleans(), st.booleans())
    banded = band.map(
        lambda b: {
            **({"min": b[0][0]} if b[1] != "max" else {}),
            **({"max": b[0][1]} if b[1] != "min" else {}),
            "min_inclusive": b[2],
            "max_inclusive": b[3],
        }
    )
    return st.none() | exact | banded


_INTERESTS = st.lists(st.sampled_from([i.value for i in InterestType]), unique=True, max_size=2)
# institutions most often, so that graphs run deep and close cycles
_HOLDER_KINDS = ["institution"] * 5 + [
    "mentioned",
    "person",
    "person",
    "masked",
    "state_body",
    "unknown",
    "exempt",
]


@st.composite
def specs(draw: st.DrawFn) -> Spec:
    n = draw(st.integers(2, 6))
    kinds = st.sampled_from([None, "有限责任公司", "有限合伙企业"])
    types = draw(st.lists(kinds, min_size=n, max_size=n))
    edges: list[Edge] = []
    for held in range(n):
        for _ in range(draw(st.integers(0, 4))):
            kind = draw(st.sampled_from(_HOLDER_KINDS))
            if kind == "institution":
                holder = ("institution", draw(st.integers(0, n - 1)))
            elif kind == "mentioned":
                holder = ("institution", MENTIONED)
            else:
                holder = (kind, draw(st.integers(0, 2)))
            if holder != ("institution", held) and all(e[:2] != (held, holder) for e in edges):
                edges.append((held, holder, draw(_share()), draw(_INTERESTS)))
    changed: list[Edge] | None = None
    snapshot = draw(st.booleans())
    if edges and snapshot:
        kept = draw(st.lists(st.sampled_from(edges), unique_by=lambda e: (e[0], e[1])))
        changed = [(a, b, draw(_share()), i) for a, b, _, i in kept]
    down_from = draw(
        st.one_of(
            st.tuples(st.just("institution"), st.integers(0, n - 1)),
            st.tuples(st.just("person"), st.integers(0, 2)),
            st.tuples(st.just("state_body"), st.integers(0, 2)),
        )
    )
    limits = Limits(
        max_depth=draw(st.sampled_from([1, 2, 3, 6, 20])),
        min_share=Decimal(draw(st.sampled_from(["0", "0", "5", "20"]))),
        max_fanout=draw(st.sampled_from([2, 3, 500, 500])),
    )
    return Spec(types, edges, changed, draw(st.integers(0, n - 1)), down_from, limits)


@dataclass(frozen=True)
class Names:
    """One example's identifiers, disjoint from every other example's.

    Examples share the store (the `db` fixture empties it once per test): each example
    gets its own USCCs, identity numbers and names, so one graph never reaches another.
    """

    example: int

    def uscc(self, n: int) -> str:
        return uscc(self.example * 100 + n)

    def person(self, kind: str, n: int) -> dict[str, Any]:
        if kind == "masked":
            return {"name": f"隐名{self.example}-{n}", "id_number": "非公示项"}
        birth = (dt.date(1960, 1, 1) + dt.timedelta(days=self.example)).strftime("%Y%m%d")
        return {"name": f"自然人{self.example}-{n}", "id_number": resident_id(n, birth)}

    def holder(self, kind: str, n: int) -> dict[str, Any]:
        if kind == "institution":
            return {"kind": "institution", "uscc": self.uscc(n), "name": f"机构{n}有限公司"}
        if kind in ("person", "masked"):
            return {"kind": "person", "person": self.person(kind, n)}
        return {"kind": kind, "name": f"{kind}{self.example}-{n}"}

    def records(self, spec: Spec, edges: list[Edge]) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = [
            {
                "type": "institution",
                "uscc": self.uscc(i),
                "name": f"机构{i}有限公司",
                **({"enterprise_type": t} if t else {}),
            }
            for i, t in enumerate(spec.types)
        ]
        for held, (kind, n), share, interests in edges:
            record: dict[str, Any] = {
                "type": "shareholding",
                "institution": self.uscc(held),
                "holder": self.holder(kind, n),
                "interests": interests,
            }
            if share is not None:
                record["share"] = share
            out.append(record)
        return out

    async def party(self, conn: asyncpg.Connection, kind: str, n: int) -> lookthrough.Party:
        if kind == "institution":
            found = await conn.fetchval("SELECT id FROM institution WHERE uscc = $1", self.uscc(n))
            return lookthrough.Party.institution(found)
        if kind == "person":
            key = f"resident_id:{self.person(kind, n)['id_number']}"
            found = await conn.fetchval("SELECT id FROM person WHERE key = $1", key)
            if found is None:  # a person who holds nothing is not in the registry
                return await self.party(conn, "institution", 0)
            return lookthrough.Party.person(found)
        return lookthrough.Party.state_body(f"{kind}{self.example}-{n}")


_examples = itertools.count(1)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(spec=specs())
async def test_sql_answers_equal_the_reference(db: asyncpg.Pool, spec: Spec) -> None:
    names = Names(next(_examples))
    async with db.acquire() as conn:
        first = await ingest(
            conn,
            source=Source.REGISTRATION,
            batch_ref=f"b1-{names.example}",
            lines=numbered(names.records(spec, spec.edges)),
            observed_at=T0,
        )
        assert first.quarantined == 0, first.rejected
        moments: list[Moment | None] = [None]
        if spec.changed is not None:
            # a snapshot also closes earlier examples' records: they are out of reach anyway
            await ingest(
                conn,
                source=Source.REGISTRATION,
                batch_ref=f"b2-{names.example}",
                lines=numbered(names.records(spec, spec.changed)),
                kind="snapshot",
                observed_at=T1,
            )
            moments.append(Moment(BEFORE_SNAPSHOT, dt.datetime.now(dt.UTC)))
        root = (await names.party(conn, "institution", spec.root)).id
        assert root is not None
        down = await names.party(conn, *spec.down_from)
        limits = spec.limits
        no_floor = Limits(limits.max_depth, Decimal(0), limits.max_fanout)
        for at in moments:
            graph = await reference.load_graph(conn, at)
            owners = await lookthrough.ultimate_owners(
                conn,
                root,
                max_depth=limits.max_depth,
                min_share=limits.min_share,
                max_fanout=limits.max_fanout,
                at=at,
            )
            assert owners == reference.ultimate_owners(graph, root, limits)
            _check_owners(owners)

            count = await lookthrough.holder_count(
                conn, root, max_depth=limits.max_depth, max_fanout=limits.max_fanout, at=at
            )
            assert count == reference.holder_count(graph, root, no_floor)

            control = await lookthrough.actual_controller(
                conn, root, max_depth=limits.max_depth, at=at
            )
            assert control == reference.actual_controller(graph, root, limits.max_depth)

            held = await lookthrough.holdings_of(
                conn,
                down,
                max_depth=limits.max_depth,
                min_share=limits.min_share,
                max_fanout=limits.max_fanout,
                at=at,
            )
            assert held == reference.holdings_of(graph, down, limits)


def _check_owners(answer: lookthrough.OwnershipAnswer) -> None:
    """What holds of every answer whatever the reference says."""
    for owner in answer.owners:
        assert Decimal(0) <= owner.share.low <= owner.share.high <= Decimal(100)
        assert all(p.party == owner.party and p.end == owner.end for p in owner.paths)
        assert all(p.hops[0].held == answer.institution for p in owner.paths)
    assert answer.truncated == bool(answer.reasons)
    assert {p.end for p in answer.cut} == answer.reasons
