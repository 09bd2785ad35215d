"""Benchmark: the look-through (穿透) in SQL against the same traversal over an in-memory graph.

What it measures. Latency (p50/p95/p99, ms) of the public look-through functions of
`registry.lookthrough`, called one after another on one asyncpg connection after a warm-up
(a few other starting points of the same kind, not measured), with their default limits:

- (a) `ultimate_owners` (upward) from random institutions;
- (b) `ultimate_owners` from institutions at least `--min-depth` (10) levels deep;
- (c) `holdings_of` (downward) from the largest holders — the institutions or persons with
  the most active holdings (those with more than 500 end at once with `fanout_limit`);
- (d) `actual_controller` and (e) `holder_count` from the random institutions of (a),

and beside (a) to (c) the same look-through over the same graph in this process: the active
holdings are loaded once into flat arrays (adjacency by held institution, by holder
institution and by holder person, with the share bounds as floats) and walked depth first
with the walk's rules — products of the bounds along a path, sums across paths (clamped at
100 %), a path ends at a person, state body or unknown holder, at an institution already on
it (cycle), with no holders (or holding nothing, downward), at `max_depth`, at more than
`max_fanout` holdings, and the whole walk at `max_paths` hops. The table gives the ratio of
the p95s (target: SQL within 1.5x of in memory). Extra rows split the SQL figure: "walk
query only" is the recursive CTE's round trip without building the answer in Python, and
for (c) "share walk only" leaves out `holdings_of`'s second round trip (`group_of`).

The garbage collector is set up as in a service worker (`ops.app`: what is loaded by then is
frozen, collections are rarer), so full collections hit the timings as they would there.

The in-memory answers carry only each owner (or held institution) with its summed interval,
not the evidence paths, names and sources of the SQL answers; for the first `--check`
starting points of (a) to (c) they are compared with the SQL answers — same parties, same
intervals within 1e-9 percentage points, same reasons for cutting short — and the result is
printed (answers cut by `max_paths` are skipped: which hops the walk reaches first differs).
`registry.lookthrough.reference` is not used: it loads every holding as dataclasses with
names and sources and multiplies exact decimals, which is what the tests need and far too
heavy for millions of holdings.

Deep institutions (b): a recursive query walks DOWN the institution holdings level by level
from every institution that has an institution holder (level 1): level k + 1 is what the
institutions of level k hold, so an institution reaches level `--min-depth` exactly when some
chain of institution holdings at least that long ends at it (index lookups per level; the
planner's merge and hash joins are switched off for that one statement). A chain that goes
round a cycle also gets there, so the candidates are taken in random order and each is kept
only when its in-memory upward walk has a path of `--min-depth` hops or more.

Data: the database REGISTRY_DATABASE_URL points at, or else the embedded one in
REGISTRY_DATA_DIR (as every `registry` command). Load one first, e.g.

    registry demo --institutions 1000000

Run (by hand; never from the test suite):

    python -m ops.bench.lookthrough
    REGISTRY_DATA_DIR=/tmp/bench1m/pg python -m ops.bench.lookthrough --sample 200 --explain

`--explain` prints EXPLAIN (ANALYZE, BUFFERS) of the walk query from the slowest start of (a),
(b) and (c); `--no-breakdown` leaves out the extra rows.

The graph takes about 80 bytes per holding in arrays (250 MiB for 3.4 M holdings; the
process peaks under 600 MiB while loading). PostgreSQL and this process share the machine's
CPUs, and the run prints the load average before and after: compare runs on the same, quiet
machine only.
"""

from __future__ import annotations

import asyncio
import gc
import heapq
import itertools
import os
import random
import resource
import statistics
import time
from array import array
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, NoReturn

import asyncpg
import typer

from ops.database import resolve_url
from ops.settings import get_settings
from registry.lookthrough import (
    EndKind,
    GroupAnswer,
    HoldingsAnswer,
    OwnershipAnswer,
    Party,
    actual_controller,
    assemble,
    holder_count,
    holdings_of,
    sql,
    ultimate_owners,
)
from registry.lookthrough.walk import Limits, Walk, walk_sql
from registry.lookthrough.walk import run as run_walk
from registry.records import PartyKind

LIMITS = Limits()  # the defaults of ultimate_owners and holdings_of
TOLERANCE = 1e-9  # percentage points: floats against exact decimals
DEMO_HINT = "run `registry demo --institutions 1000000` first"

# Holder kinds as stored in the upward adjacency; KEY_PREFIX gives each its party key.
INSTITUTION, PERSON, MASKED_PERSON, STATE_BODY, UNKNOWN, EXEMPT = range(6)
KEY_PREFIX = ("institution", "person", "person", "state_body", "unknown", "exempt")
_KEY_SHIFT = 40  # a party code is kind << 40 | id (state body: index of its name)

EDGES_SQL = """
SELECT h.id, h.institution_id,
       CASE h.holder_kind
           WHEN 'institution' THEN 0
           WHEN 'person' THEN CASE WHEN pe.id_masked THEN 2 ELSE 1 END
           WHEN 'state_body' THEN 3
           WHEN 'unknown' THEN 4
           ELSE 5 END AS kind,
       coalesce(h.holder_institution_id, h.holder_person_id) AS holder,
       CASE WHEN h.holder_kind = 'state_body' THEN h.holder_name END AS state_body,
       coalesce(h.share_exact, h.share_min, 0)::float8 / 100 AS low,
       coalesce(h.share_exact, h.share_max, 100)::float8 / 100 AS high
FROM holding h LEFT JOIN person pe ON pe.id = h.holder_person_id
WHERE h.active
"""

# Level k + 1: what the institutions of level k hold. An institution is at level n when a
# chain of n institution holdings ends at it (UNION drops repeats of (id, level)).
DEEP_SQL = """
WITH RECURSIVE chain(id, level) AS (
    SELECT DISTINCT h.institution_id, 1 FROM holding h
    WHERE h.active AND h.holder_kind = 'institution'
  UNION
    SELECT h.institution_id, c.level + 1
    FROM chain c JOIN holding h ON h.holder_institution_id = c.id AND h.active
    WHERE c.level < $1
)
SELECT id FROM chain WHERE level = $1 ORDER BY id
"""


# --- the graph in memory ----------------------------------------------------------------


@dataclass(frozen=True)
class Up:
    """Holdings grouped by held institution: edges offsets[i]:offsets[i + 1] are i's holders."""

    offsets: array[int]
    holding: array[int]
    kind: array[int]
    holder: array[int]  # institution or person id, state body index; -1 when none is stated
    low: array[float]  # share bounds as fractions
    high: array[float]


@dataclass(frozen=True)
class Down:
    """Holdings grouped by holder (institution or person): what each one holds."""

    offsets: array[int]
    holding: array[int]
    held: array[int]
    low: array[float]
    high: array[float]


@dataclass(frozen=True)
class Graph:
    up: Up
    by_institution: Down
    by_person: Down
    state_bodies: list[str]
    edges: int
    fetch_seconds: float  # of the load: reading the rows, before indexing them

    @property
    def nbytes(self) -> int:
        up = self.up
        arrays: list[array[Any]] = [up.offsets, up.holding, up.kind, up.holder, up.low, up.high]
        for down in (self.by_institution, self.by_person):
            arrays += [down.offsets, down.holding, down.held, down.low, down.high]
        return sum(a.itemsize * len(a) for a in arrays)

    def degree(self, kind: PartyKind, party_id: int) -> int:
        down = self.by_institution if kind is PartyKind.INSTITUTION else self.by_person
        return down.offsets[party_id + 1] - down.offsets[party_id]


def _zeros(typecode: str, n: int) -> array[Any]:
    return array(typecode, bytes(array(typecode).itemsize * n))


def _group(keys: array[int], size: int) -> tuple[array[int], array[int]]:
    """Counting sort: offsets (size + 1) and the edges in key order; negative keys left out."""
    counts = _zeros("q", size + 1)
    for k in keys:
        if k >= 0:
            counts[k + 1] += 1
    offsets = array("q", itertools.accumulate(counts))
    fill = array("q", offsets)
    order = _zeros("i", offsets[-1])
    for e, k in enumerate(keys):
        if k >= 0:
            order[fill[k]] = e
            fill[k] += 1
    return offsets, order


def _pick(typecode: str, values: array[Any], order: array[int]) -> array[Any]:
    return array(typecode, [values[e] for e in order])


async def load_graph(conn: asyncpg.Connection, chunk: int = 100_000) -> Graph:
    """Every active holding, in flat arrays indexed both ways (one pass over the table)."""
    holding, held, kind, holder = array("q"), array("q"), array("b"), array("q")
    low, high = array("d"), array("d")
    bodies: dict[str, int] = {}
    started = time.perf_counter()
    async with conn.transaction():
        cursor = await conn.cursor(EDGES_SQL)
        while rows := await cursor.fetch(chunk):
            holding.extend([r[0] for r in rows])
            held.extend([r[1] for r in rows])
            kind.extend([r[2] for r in rows])
            holder.extend(
                [
                    r[3]
                    if r[3] is not None
                    else (bodies.setdefault(r[4], len(bodies)) if r[4] is not None else -1)
                    for r in rows
                ]
            )
            low.extend([r[5] for r in rows])
            high.extend([r[6] for r in rows])
    institutions = (await conn.fetchval("SELECT coalesce(max(id), 0) FROM institution")) + 1
    persons = (await conn.fetchval("SELECT coalesce(max(id), 0) FROM person")) + 1
    fetched = time.perf_counter() - started

    offsets, order = _group(held, institutions)
    up = Up(
        offsets,
        _pick("q", holding, order),
        _pick("b", kind, order),
        _pick("q", holder, order),
        _pick("d", low, order),
        _pick("d", high, order),
    )
    del order

    def down(keys: array[int], size: int) -> Down:
        offsets, order = _group(keys, size)
        return Down(
            offsets,
            _pick("q", holding, order),
            _pick("q", held, order),
            _pick("d", low, order),
            _pick("d", high, order),
        )

    pairs = zip(kind, holder, strict=True)
    by_institution = down(
        array("q", [h if k == INSTITUTION else -1 for k, h in pairs]), institutions
    )
    pairs = zip(kind, holder, strict=True)
    person_kinds = (PERSON, MASKED_PERSON)
    by_person = down(array("q", [h if k in person_kinds else -1 for k, h in pairs]), persons)
    names = sorted(bodies, key=bodies.__getitem__)
    return Graph(up, by_institution, by_person, names, len(holding), fetched)


# --- the traversal in memory --------------------------------------------------------------


@dataclass
class Found:
    """What an in-memory walk found: each party's summed share (fractions), the reasons it
    was cut short, the hops it visited, its longest path."""

    shares: dict[int, list[float]] = field(default_factory=dict)
    reasons: set[EndKind] = field(default_factory=set)
    rows: int = 0
    depth: int = 0


class _PathLimit(Exception):
    pass


def look_up(graph: Graph, institution_id: int, limits: Limits = LIMITS) -> Found:
    """`ultimate_owners`' walk: every path upward, summed per ultimate party."""
    up = graph.up
    offsets, kinds, holders, lows, highs, holdings = (
        up.offsets,
        up.kind,
        up.holder,
        up.low,
        up.high,
        up.holding,
    )
    max_depth, max_fanout, max_rows = limits.max_depth, limits.max_fanout, limits.max_paths
    min_share = float(limits.min_share) / 100
    found = Found()
    shares, reasons = found.shares, found.reasons
    if offsets[institution_id + 1] - offsets[institution_id] > max_fanout:
        reasons.add(EndKind.FANOUT_LIMIT)
        return found
    seen = {institution_id}
    rows = deepest = 0

    def add(code: int, low: float, high: float) -> None:
        share = shares.get(code)
        if share is None:
            shares[code] = [low, high]
        else:
            share[0] += low
            share[1] += high

    def visit(first: int, last: int, low: float, high: float, depth: int) -> None:
        nonlocal rows, deepest
        if depth > deepest and last > first:
            deepest = depth
        for e in range(first, last):
            rows += 1
            if rows > max_rows:
                raise _PathLimit
            here_low, here_high = low * lows[e], high * highs[e]
            if here_high < min_share:
                reasons.add(EndKind.BELOW_MIN_SHARE)
                continue
            kind = kinds[e]
            if kind != INSTITUTION:
                party = holdings[e] if kind >= UNKNOWN else holders[e]
                add(kind << _KEY_SHIFT | party, here_low, here_high)
                continue
            node = holders[e]
            if node in seen:
                reasons.add(EndKind.CYCLE)
                continue
            below, end = offsets[node], offsets[node + 1]
            if below == end:
                add(node, here_low, here_high)  # INSTITUTION << _KEY_SHIFT is 0
            elif depth >= max_depth:
                reasons.add(EndKind.DEPTH_LIMIT)
            elif end - below > max_fanout:
                reasons.add(EndKind.FANOUT_LIMIT)
            else:
                seen.add(node)
                visit(below, end, here_low, here_high, depth + 1)
                seen.discard(node)

    try:
        visit(offsets[institution_id], offsets[institution_id + 1], 1.0, 1.0, 1)
    except _PathLimit:
        reasons.add(EndKind.PATH_LIMIT)
    found.rows, found.depth = min(rows, max_rows), deepest
    return found


def look_down(graph: Graph, party: Party, limits: Limits = LIMITS) -> Found:
    """`holdings_of`' share walk: every path downward, summed per institution reached."""
    by_institution = graph.by_institution
    offsets, helds, lows, highs = (
        by_institution.offsets,
        by_institution.held,
        by_institution.low,
        by_institution.high,
    )
    start = by_institution if party.kind is PartyKind.INSTITUTION else graph.by_person
    assert party.id is not None
    max_depth, max_fanout, max_rows = limits.max_depth, limits.max_fanout, limits.max_paths
    min_share = float(limits.min_share) / 100
    found = Found()
    shares, reasons = found.shares, found.reasons
    first, last = start.offsets[party.id], start.offsets[party.id + 1]
    if last - first > max_fanout:
        reasons.add(EndKind.FANOUT_LIMIT)
        return found
    seen = {party.id} if party.kind is PartyKind.INSTITUTION else set()
    rows = deepest = 0

    def visit(
        held: array[int],
        low_of: array[float],
        high_of: array[float],
        first: int,
        last: int,
        low: float,
        high: float,
        depth: int,
    ) -> None:
        nonlocal rows, deepest
        if depth > deepest and last > first:
            deepest = depth
        for e in range(first, last):
            rows += 1
            if rows > max_rows:
                raise _PathLimit
            here_low, here_high = low * low_of[e], high * high_of[e]
            if here_high < min_share:
                reasons.add(EndKind.BELOW_MIN_SHARE)
                continue
            node = held[e]
            if node in seen:
                reasons.add(EndKind.CYCLE)
                continue
            share = shares.get(node)
            if share is None:
                shares[node] = [here_low, here_high]
            else:
                share[0] += here_low
                share[1] += here_high
            below, end = offsets[node], offsets[node + 1]
            if below == end:
                continue
            if depth >= max_depth:
                reasons.add(EndKind.DEPTH_LIMIT)
            elif end - below > max_fanout:
                reasons.add(EndKind.FANOUT_LIMIT)
            else:
                seen.add(node)
                visit(helds, lows, highs, below, end, here_low, here_high, depth + 1)
                seen.discard(node)

    try:
        visit(start.held, start.low, start.high, first, last, 1.0, 1.0, 1)
    except _PathLimit:
        reasons.add(EndKind.PATH_LIMIT)
    found.rows, found.depth = min(rows, max_rows), deepest
    return found


def party_key(graph: Graph, code: int) -> str:
    """The `Party.key` of a party code of `look_up` (downward codes are institution ids)."""
    kind, party = code >> _KEY_SHIFT, code & ((1 << _KEY_SHIFT) - 1)
    if kind == STATE_BODY:
        return f"state_body:{graph.state_bodies[party]}"
    if kind >= UNKNOWN:
        return f"{KEY_PREFIX[kind]}:holding:{party}"
    return f"{KEY_PREFIX[kind]}:{party}"


# --- comparing answers ------------------------------------------------------------------

Shares = dict[str, tuple[float, float]]


def _memory_shares(graph: Graph, found: Found) -> Shares:
    return {
        party_key(graph, code): (min(low, 1.0) * 100, min(high, 1.0) * 100)
        for code, (low, high) in found.shares.items()
    }


@dataclass(frozen=True)
class Digest:
    """What is compared of an SQL answer (kept instead of the answer: fewer live objects)."""

    start: str  # the key of the party asked about
    shares: Shares  # owners (upward) or institutions held (downward), in percent
    reasons: frozenset[EndKind]  # why the share walk was cut short


def digest(answer: Any) -> Digest:
    if isinstance(answer, OwnershipAnswer):
        owners = {o.party.key: (float(o.share.low), float(o.share.high)) for o in answer.owners}
        return Digest(answer.institution.key, owners, answer.reasons)
    assert isinstance(answer, HoldingsAnswer)
    held = {h.institution.key: (float(h.share.low), float(h.share.high)) for h in answer.held}
    cut = frozenset(p.end for p in answer.cut if p.end is not None)
    return Digest(answer.party.key, held, cut)


def difference(graph: Graph, answer: Digest, found: Found) -> str | None:
    """Why the SQL answer and the in-memory one differ; None when they agree."""
    sql_shares, sql_reasons = answer.shares, answer.reasons
    mine = _memory_shares(graph, found)
    if sql_reasons != found.reasons:
        return f"reasons {sorted(sql_reasons)} in SQL, {sorted(found.reasons)} in memory"
    if set(sql_shares) != set(mine):
        only_sql = sorted(set(sql_shares) - set(mine))[:5]
        only_mine = sorted(set(mine) - set(sql_shares))[:5]
        return (
            f"{len(sql_shares)} parties in SQL, {len(mine)} in memory; "
            f"only in SQL {only_sql}, only in memory {only_mine}"
        )
    for key, (low, high) in sql_shares.items():
        my_low, my_high = mine[key]
        if abs(low - my_low) > TOLERANCE or abs(high - my_high) > TOLERANCE:
            return f"{key}: [{low}, {high}] in SQL, [{my_low}, {my_high}] in memory"
    return None


# --- timing -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Stats:
    p50: float
    p95: float
    p99: float

    @classmethod
    def of(cls, ms: Sequence[float]) -> Stats:
        if len(ms) < 2:
            only = ms[0] if ms else float("nan")
            return cls(only, only, only)
        cuts = statistics.quantiles(ms, n=100, method="inclusive")
        return cls(cuts[49], cuts[94], cuts[98])


async def time_sql(
    conn: asyncpg.Connection,
    call: Callable[[asyncpg.Connection, Party], Awaitable[Any]],
    warm: Sequence[Party],
    points: Sequence[Party],
    keep: int = 0,
) -> tuple[list[float], list[Digest]]:
    """Milliseconds per call over `points` after one unmeasured call per `warm` point; the
    answers of the first `keep` points, digested."""
    for party in warm:
        await call(conn, party)
    gc.collect()
    ms: list[float] = []
    kept: list[Digest] = []
    for party in points:
        started = time.perf_counter()
        answer = await call(conn, party)
        ms.append((time.perf_counter() - started) * 1000)
        if len(kept) < keep:
            kept.append(digest(answer))
        del answer
    return ms, kept


def time_memory(
    walk: Callable[[Party], Found], warm: Sequence[Party], points: Sequence[Party]
) -> tuple[list[float], list[Found]]:
    for party in warm:
        walk(party)
    gc.collect()
    ms: list[float] = []
    found: list[Found] = []
    for party in points:
        started = time.perf_counter()
        answer = walk(party)
        ms.append((time.perf_counter() - started) * 1000)
        found.append(answer)
    return ms, found


# --- the SQL calls ----------------------------------------------------------------------


async def sql_up(conn: asyncpg.Connection, party: Party) -> OwnershipAnswer:
    assert party.id is not None
    return await ultimate_owners(conn, party.id)


async def sql_down(conn: asyncpg.Connection, party: Party) -> HoldingsAnswer:
    return await holdings_of(conn, party)


async def sql_down_shares(conn: asyncpg.Connection, party: Party) -> HoldingsAnswer:
    """`holdings_of` without its second round trip (the group under the party)."""
    start, paths = await run_walk(conn, Walk("down", party, LIMITS, None))
    nothing = GroupAnswer(start, (), False, frozenset(), None)
    return assemble.holdings_answer(start, paths, nothing, None)


async def sql_control(conn: asyncpg.Connection, party: Party) -> Any:
    assert party.id is not None
    return await actual_controller(conn, party.id)


async def sql_count(conn: asyncpg.Connection, party: Party) -> Any:
    assert party.id is not None
    return await holder_count(conn, party.id)


def walk_query(direction: str) -> Callable[[asyncpg.Connection, Party], Awaitable[Any]]:
    """The recursive CTE alone: one round trip, rows as asyncpg returns them."""

    async def call(conn: asyncpg.Connection, party: Party) -> Any:
        p = sql.Params()
        query = walk_sql(Walk("up" if direction == "up" else "down", party, LIMITS, None), p)
        return await conn.fetch(query, *p.values)

    return call


async def explain(conn: asyncpg.Connection, direction: str, party: Party) -> list[str]:
    p = sql.Params()
    query = walk_sql(Walk("up" if direction == "up" else "down", party, LIMITS, None), p)
    rows = await conn.fetch(f"EXPLAIN (ANALYZE, BUFFERS) {query}", *p.values)
    return [r[0] for r in rows]


# --- the cases --------------------------------------------------------------------------


@dataclass
class Row:
    label: str
    n: int
    sql: Stats
    memory: Stats | None = None


@dataclass
class Case:
    label: str
    direction: str  # "up", "down", or "" for SQL-only cases
    warm: list[Party]
    points: list[Party]
    call: Callable[[asyncpg.Connection, Party], Awaitable[Any]]
    extra: list[tuple[str, Callable[[asyncpg.Connection, Party], Awaitable[Any]]]] = field(
        default_factory=list
    )


@dataclass
class Outcome:
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    explains: list[tuple[str, list[str]]] = field(default_factory=list)


@dataclass(frozen=True)
class Options:
    sample: int
    warmup: int
    check: int
    seed: int
    min_depth: int
    breakdown: bool
    explain: bool


def _fail(message: str) -> NoReturn:
    typer.echo(f"look-through benchmark: {message}", err=True)
    raise typer.Exit(1)


def _say(message: str) -> None:
    typer.echo(message, err=True)


def _display(url: str) -> str:
    return url if "@" not in url else url.split("@", 1)[1]


async def deep_institutions(
    conn: asyncpg.Connection, graph: Graph, options: Options, wanted: int
) -> tuple[list[Party], str]:
    started = time.perf_counter()
    async with conn.transaction():
        await conn.execute("SET LOCAL enable_mergejoin = off")
        await conn.execute("SET LOCAL enable_hashjoin = off")
        candidates = [r[0] for r in await conn.fetch(DEEP_SQL, options.min_depth)]
    seconds = time.perf_counter() - started
    random.Random(options.seed).shuffle(candidates)
    kept: list[Party] = []
    checked = cyclic = 0
    for institution_id in candidates:
        if len(kept) >= wanted:
            break
        checked += 1
        found = look_up(graph, institution_id)
        if found.depth >= options.min_depth:
            kept.append(Party.institution(institution_id))
        elif EndKind.CYCLE in found.reasons:
            cyclic += 1
    note = (
        f"(b) deep institutions: {len(candidates):,} reach level {options.min_depth} walking "
        f"down the institution holdings ({seconds:.1f} s); of {checked:,} taken at random, "
        f"{len(kept):,} have an upward path of >= {options.min_depth} hops in memory and "
        f"were kept, {checked - len(kept):,} have none ({cyclic:,} of them meet a cycle: "
        "their level comes from going round it)"
    )
    return kept, note


def largest_holders(graph: Graph, n: int) -> list[Party]:
    def degrees(kind: PartyKind, offsets: array[int]) -> Iterable[tuple[int, int, int]]:
        rank = 0 if kind is PartyKind.INSTITUTION else 1
        for party_id in range(len(offsets) - 1):
            count = offsets[party_id + 1] - offsets[party_id]
            if count:
                yield count, -rank, -party_id

    top = heapq.nlargest(
        n,
        itertools.chain(
            degrees(PartyKind.INSTITUTION, graph.by_institution.offsets),
            degrees(PartyKind.PERSON, graph.by_person.offsets),
        ),
    )
    return [
        Party.institution(-negative_id) if rank == 0 else Party.person(-negative_id)
        for _, rank, negative_id in top
    ]


def _describe(label: str, found: Sequence[Found]) -> str:
    rows = [f.rows for f in found]
    cut: dict[str, int] = {}
    for f in found:
        for reason in f.reasons:
            cut[reason.value] = cut.get(reason.value, 0) + 1
    reasons = ", ".join(f"{k} {v}" for k, v in sorted(cut.items())) or "none"
    return (
        f"{label}: hops walked per answer mean {statistics.fmean(rows):,.0f}, max {max(rows):,}; "
        f"longest path {max(f.depth for f in found)} hops; answers cut short by: {reasons}"
    )


async def run_case(
    conn: asyncpg.Connection, graph: Graph, case: Case, options: Options, outcome: Outcome
) -> None:
    _say(f"measuring {case.label} ...")
    keep = options.check if case.direction else 0
    ms, answers = await time_sql(conn, case.call, case.warm, case.points, keep)
    memory: Stats | None = None
    if case.direction:

        def walk(party: Party) -> Found:
            if case.direction == "up":
                assert party.id is not None
                return look_up(graph, party.id)
            return look_down(graph, party)

        memory_ms, found = time_memory(walk, case.warm, case.points)
        memory = Stats.of(memory_ms)
        outcome.notes.append(_describe(case.label, found))
        outcome.notes.append(_compare(graph, case.label, answers, found))
    outcome.rows.append(Row(case.label, len(case.points), Stats.of(ms), memory))
    for label, call in case.extra:
        extra_ms, _ = await time_sql(conn, call, case.warm, case.points)
        shown = memory if label.startswith("share walk") else None
        outcome.rows.append(Row(f"    {label}", len(case.points), Stats.of(extra_ms), shown))
    if options.explain and case.direction:
        slowest = max(range(len(ms)), key=ms.__getitem__)
        party = case.points[slowest]
        plan = await explain(conn, case.direction, party)
        title = f"{case.label}: the walk query for its slowest start, {party.key}"
        title += f" ({ms[slowest]:.1f} ms)"
        outcome.explains.append((title, plan))


def _compare(graph: Graph, label: str, answers: Sequence[Digest], found: Sequence[Found]) -> str:
    equal = skipped = 0
    wrong: list[str] = []
    for answer, mine in zip(answers, found, strict=False):
        if EndKind.PATH_LIMIT in answer.reasons or EndKind.PATH_LIMIT in mine.reasons:
            skipped += 1
            continue
        why = difference(graph, answer, mine)
        if why is None:
            equal += 1
        else:
            wrong.append(f"{answer.start}: {why}")
    checked = len(answers) - skipped
    verdict = "MATCH" if not wrong else "MISMATCH"
    text = (
        f"{label}: in-memory vs SQL on the first {len(answers)} starts: {verdict} "
        f"({equal}/{checked} equal"
        + (f", {skipped} cut by max_paths skipped" if skipped else "")
        + ")"
    )
    return "\n".join([text, *(f"    {w}" for w in wrong[:5])])


def _table(rows: Sequence[Row]) -> list[str]:
    head = (
        f"{'case':<44} {'n':>4} | {'SQL p50':>8} {'p95':>8} {'p99':>8} | "
        f"{'mem p50':>8} {'p95':>8} {'p99':>8} | {'p95 SQL/mem':>11}"
    )
    lines = [head, "-" * len(head)]
    for r in rows:
        text = f"{r.label:<44} {r.n:>4} | {r.sql.p50:>8.2f} {r.sql.p95:>8.2f} {r.sql.p99:>8.2f} | "
        if r.memory is None:
            text += f"{'':>8} {'':>8} {'':>8} | {'':>11}"
        else:
            m = r.memory
            ratio = r.sql.p95 / m.p95 if m.p95 > 0 else float("inf")
            mark = "ok" if ratio <= 1.5 else ">1.5"
            text += f"{m.p50:>8.3f} {m.p95:>8.3f} {m.p99:>8.3f} | {ratio:>6.1f} {mark:>4}"
        lines.append(text)
    return lines


async def _settings(conn: asyncpg.Connection) -> str:
    names = ("shared_buffers", "work_mem", "jit", "plan_cache_mode", "random_page_cost")
    values = [f"{n}={await conn.fetchval(f'SHOW {n}')}" for n in names]
    version = await conn.fetchval("SHOW server_version")
    return f"PostgreSQL {version}: " + ", ".join(values)


async def measure(url: str, options: Options) -> Outcome:
    outcome = Outcome()
    conn = await asyncpg.connect(url)
    try:
        try:
            institutions = await conn.fetchval("SELECT count(*) FROM institution")
        except asyncpg.UndefinedTableError:
            _fail(f"no registry tables in {_display(url)}: run `registry db upgrade`, {DEMO_HINT}")
        if not institutions:
            _fail(f"no institutions in {_display(url)}: {DEMO_HINT}")
        persons = await conn.fetchval("SELECT count(*) FROM person")
        typer.echo(f"database {_display(url)}; {await _settings(conn)}")

        _say("loading the graph ...")
        started = time.perf_counter()
        graph = await load_graph(conn)
        loaded = time.perf_counter() - started
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        typer.echo(
            f"size: {institutions:,} institutions, {persons:,} persons, "
            f"{graph.edges:,} active holdings"
        )
        typer.echo(
            f"graph loaded into memory in {loaded:.1f} s ({graph.fetch_seconds:.1f} s reading the "
            f"rows, the rest indexing them): {graph.nbytes / 2**20:,.0f} MiB of "
            f"arrays, process peak RSS {peak:,.0f} MiB"
        )

        rng = random.Random(options.seed)
        ids = [r[0] for r in await conn.fetch("SELECT id FROM institution ORDER BY id")]
        picked = [Party.institution(i) for i in rng.sample(ids, options.warmup + options.sample)]
        del ids
        warm_random, random_points = picked[: options.warmup], picked[options.warmup :]
        deep, note = await deep_institutions(conn, graph, options, options.warmup + options.sample)
        outcome.notes.append(note)
        if len(deep) <= options.warmup:
            _fail(f"fewer than {options.warmup + 1} institutions {options.min_depth} levels deep")
        warm_deep, deep_points = deep[: options.warmup], deep[options.warmup :]
        holders = largest_holders(graph, options.warmup + options.sample)
        top, warm_holders = holders[: options.sample], holders[options.sample :]
        over = sum(1 for p in top if graph.degree(p.kind, p.id or 0) > LIMITS.max_fanout)
        outcome.notes.append(
            f"(c) largest holders: {len(top)} with {graph.degree(top[-1].kind, top[-1].id or 0)}"
            f" to {graph.degree(top[0].kind, top[0].id or 0)} active holdings "
            f"({sum(p.kind is PartyKind.PERSON for p in top)} persons); {over} hold more than "
            f"max_fanout={LIMITS.max_fanout} and answer fanout_limit at once"
        )

        def breakdown(
            *extra: tuple[str, Callable[[asyncpg.Connection, Party], Awaitable[Any]]],
        ) -> list[tuple[str, Callable[[asyncpg.Connection, Party], Awaitable[Any]]]]:
            return list(extra) if options.breakdown else []

        # As a service worker does once started (ops.app): what lives as long as the process
        # (here the graph too) is kept off the collector, and it collects less often.
        gc.collect()
        gc.freeze()
        gc.set_threshold(20_000, 50, 100)
        cases = [
            Case(
                "(a) ultimate_owners, random institutions",
                "up",
                warm_random,
                random_points,
                sql_up,
                breakdown(("walk query only", walk_query("up"))),
            ),
            Case(
                f"(b) ultimate_owners, >= {options.min_depth} levels deep",
                "up",
                warm_deep,
                deep_points,
                sql_up,
                breakdown(("walk query only", walk_query("up"))),
            ),
            Case(
                "(c) holdings_of, largest holders",
                "down",
                warm_holders,
                top,
                sql_down,
                breakdown(
                    ("share walk only (no group_of)", sql_down_shares),
                    ("walk query only", walk_query("down")),
                ),
            ),
            Case(
                "(d) actual_controller, random (SQL only)",
                "",
                warm_random,
                random_points,
                sql_control,
            ),
            Case("(e) holder_count, random (SQL only)", "", warm_random, random_points, sql_count),
        ]
        for case in cases:
            await run_case(conn, graph, case, options, outcome)
    finally:
        await conn.close()
    return outcome


app = typer.Typer(add_completion=False, help=__doc__.split("\n\n", 1)[0] if __doc__ else None)


@app.command()
def main(
    sample: Annotated[int, typer.Option(min=2, help="Measured starting points per case.")] = 200,
    warmup: Annotated[int, typer.Option(min=0, help="Unmeasured starting points first.")] = 20,
    check: Annotated[
        int, typer.Option(min=0, help="Starts per case whose answers are compared.")
    ] = 20,
    seed: Annotated[int, typer.Option(help="Seed of the random choices.")] = 1,
    min_depth: Annotated[int, typer.Option(min=1, help="Levels deep for case (b).")] = 10,
    breakdown: Annotated[
        bool, typer.Option(help="Also time the walk query alone (and the share walk alone).")
    ] = True,
    explain: Annotated[
        bool, typer.Option(help="Print EXPLAIN ANALYZE of the slowest start's walk query.")
    ] = False,
) -> None:
    """Measure the look-through: SQL latency against an in-memory traversal."""
    options = Options(sample, warmup, check, seed, min_depth, breakdown, explain)
    url = resolve_url(get_settings())
    typer.echo(
        f"look-through benchmark: {sample} starts per case after {warmup} warm-up starts, "
        f"sequential on one connection, default limits (max_depth={LIMITS.max_depth}, "
        f"max_fanout={LIMITS.max_fanout}, max_paths={LIMITS.max_paths}), seed {seed}"
    )
    before = os.getloadavg()[0]
    try:
        outcome = asyncio.run(measure(url, options))
    except KeyboardInterrupt:
        _say("look-through benchmark: interrupted")
        raise typer.Exit(130) from None
    for note in outcome.notes:
        typer.echo(note)
    typer.echo("")
    for line in _table(outcome.rows):
        typer.echo(line)
    typer.echo("latencies in ms; target: SQL p95 within 1.5x of in memory")
    typer.echo(
        f"load average (1 min) {before:.2f} before, {os.getloadavg()[0]:.2f} after, "
        f"on {os.cpu_count()} CPUs (this benchmark alone keeps about one busy): "
        "much more means something else ran and disturbed the figures"
    )
    for title, plan in outcome.explains:
        typer.echo(f"\nEXPLAIN ANALYZE, {title}:")
        for line in plan:
            typer.echo(f"  {line}")


if __name__ == "__main__":
    app()
