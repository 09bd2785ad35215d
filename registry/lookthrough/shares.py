"""Look-through by shares: ultimate owners, the holder count, and what a party holds."""

from __future__ import annotations

from decimal import Decimal

import asyncpg

from registry.dossier import Moment
from registry.lookthrough import assemble
from registry.lookthrough.control import group_of
from registry.lookthrough.model import HolderCount, HoldingsAnswer, OwnershipAnswer, Party
from registry.lookthrough.rules import VEHICLES, VehicleRule
from registry.lookthrough.walk import Limits, Walk, run


async def ultimate_owners(
    conn: asyncpg.Connection,
    institution_id: int,
    *,
    max_depth: int = 20,
    min_share: Decimal = Decimal(0),
    max_fanout: int = 500,
    max_paths: int = 20_000,
    at: Moment | None = None,
) -> OwnershipAnswer:
    """Every ultimate party behind an institution, with its effective share and evidence.

    Walks holdings upward (holder → held) until a natural person, a state body, an unknown
    or exempt holder (or a person with a masked number), or an institution with no known
    holders. A path whose high bound falls under `min_share` (percent) is pruned; a path
    back to an institution already on it ends as a cycle; `max_depth` bounds the hops of a
    path, `max_fanout` the holders of one institution followed, `max_paths` the rows of
    the whole walk. One round trip.

    `at`: holdings in force at the moment — a holding counts when one of its statements
    covered `at.as_of` as the registry knew it at `at.known_at` — with share and interests
    resolved from those statements by source precedence (the rule of
    `registry.golden.bodies_at`). Names of institutions and persons are today's.
    """
    limits = Limits(max_depth, min_share, max_fanout, max_paths)
    root, paths = await run(conn, Walk("up", Party.institution(institution_id), limits, at))
    return assemble.ownership_answer(root, paths, at)


async def holder_count(
    conn: asyncpg.Connection,
    institution_id: int,
    *,
    max_depth: int = 20,
    max_fanout: int = 500,
    max_paths: int = 20_000,
    vehicles: VehicleRule = VEHICLES,
    at: Moment | None = None,
) -> HolderCount:
    """The number of holders once holding vehicles are looked through (the 200 line).

    Counts distinct natural persons, state bodies, unknowns and institutions that are not
    vehicles; a vehicle (`rules.VEHICLES`) is replaced by its own holders, recursively, and
    counts as one only when it has none. Every holder counts whatever its share.
    """
    limits = Limits(max_depth, Decimal(0), max_fanout, max_paths)
    walk = Walk("up", Party.institution(institution_id), limits, at, vehicles)
    root, paths = await run(conn, walk)
    return assemble.count_answer(root, paths, at)


async def holdings_of(
    conn: asyncpg.Connection,
    party: Party,
    *,
    max_depth: int = 20,
    min_share: Decimal = Decimal(0),
    max_fanout: int = 500,
    max_paths: int = 20_000,
    at: Moment | None = None,
) -> HoldingsAnswer:
    """Everything a person, institution or state body holds, directly or through others,
    with effective shares (downward walk, same limits as `ultimate_owners`), and everything
    it controls by the control rule (`group_of`, which `min_share` does not prune: a
    managing partner controls with 1 %). Two round trips.
    """
    limits = Limits(max_depth, min_share, max_fanout, max_paths)
    start, paths = await run(conn, Walk("down", party, limits, at))
    controlled = await group_of(conn, start, max_depth=max_depth, at=at)
    return assemble.holdings_answer(start, paths, controlled, at)
