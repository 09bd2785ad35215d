"""From paths to answers: the sums across paths, the holder count, the grouping.

Shared by the SQL walk and the in-memory reference, so both are judged on the paths they
find and the share bounds they carry.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from registry.dossier import Moment
from registry.lookthrough.model import (
    CUT_SHORT,
    PUBLIC_OFFERING_LINE,
    EndKind,
    GroupAnswer,
    Held,
    HolderCount,
    HolderKind,
    HoldingsAnswer,
    Owner,
    OwnershipAnswer,
    Party,
    Path,
    VehicleCount,
    total,
)

_HOLDER_KINDS = {
    EndKind.NATURAL_PERSON: HolderKind.NATURAL_PERSON,
    EndKind.STATE_BODY: HolderKind.STATE_BODY,
    EndKind.UNKNOWN_OWNER: HolderKind.UNKNOWN,
    EndKind.INSTITUTION_WITHOUT_HOLDERS: HolderKind.INSTITUTION,
    EndKind.NOT_LOOKED_THROUGH: HolderKind.INSTITUTION,
}


def _path_order(path: Path) -> tuple[str, int, tuple[int, ...]]:
    return (path.end.value if path.end else "", len(path.hops), path.holding_ids)


def _cut(paths: Iterable[Path]) -> tuple[tuple[Path, ...], frozenset[EndKind]]:
    cut = sorted((p for p in paths if p.end in CUT_SHORT), key=_path_order)
    return tuple(cut), frozenset(p.end for p in cut if p.end is not None)


def ownership_answer(root: Party, paths: list[Path], at: Moment | None) -> OwnershipAnswer:
    by_party: dict[str, list[Path]] = defaultdict(list)
    ends: dict[str, EndKind] = {}
    for path in paths:
        if path.end is not None and path.end not in CUT_SHORT:
            by_party[path.party.key].append(path)
            ends[path.party.key] = path.end
    owners = [
        Owner(
            party=found[0].party,
            end=ends[key],
            share=total(p.share for p in found),
            paths=tuple(sorted(found, key=_path_order)),
        )
        for key, found in by_party.items()
    ]
    owners.sort(key=lambda o: (-o.share.high, -o.share.low, o.party.key))
    cut, reasons = _cut(paths)
    return OwnershipAnswer(root, tuple(owners), cut, bool(reasons), reasons, at)


def holdings_answer(
    party: Party, paths: list[Path], controlled: GroupAnswer, at: Moment | None
) -> HoldingsAnswer:
    by_institution: dict[str, list[Path]] = defaultdict(list)
    for path in paths:
        if path.hops and path.end not in (EndKind.CYCLE, EndKind.BELOW_MIN_SHARE):
            by_institution[path.party.key].append(path)
    held = [
        Held(found[0].party, total(p.share for p in found), tuple(sorted(found, key=_path_order)))
        for found in by_institution.values()
    ]
    held.sort(key=lambda h: (-h.share.high, -h.share.low, h.institution.key))
    cut, reasons = _cut(paths)
    reasons |= controlled.reasons
    return HoldingsAnswer(party, tuple(held), cut, controlled, bool(reasons), reasons, at)


def count_answer(root: Party, paths: list[Path], at: Moment | None) -> HolderCount:
    """Distinct parties at the complete ends; a vehicle cut short is not counted, so the
    count is then a lower bound. A cycle is listed in `reasons` but does not truncate."""
    holders: dict[str, Party] = {}
    kinds: dict[str, HolderKind] = {}
    through: dict[str, set[str]] = defaultdict(set)
    vehicles: dict[str, Party] = {}
    for path in paths:
        if path.end is None or path.end in CUT_SHORT:
            continue
        holders[path.party.key] = path.party
        kinds[path.party.key] = _HOLDER_KINDS[path.end]
        for hop in path.hops[:-1]:
            vehicles[hop.holder.key] = hop.holder
            through[hop.holder.key].add(path.party.key)
    by_kind = dict.fromkeys(HolderKind, 0)
    for kind in kinds.values():
        by_kind[kind] += 1
    by_vehicle = sorted(
        (VehicleCount(vehicles[key], len(keys)) for key, keys in through.items()),
        key=lambda v: (-v.holders, v.vehicle.key),
    )
    _, reasons = _cut(paths)
    # a cycle returns to a vehicle already being looked through: no holder is lost
    uncertain = reasons - {EndKind.CYCLE}
    count = len(holders)
    exceeds: bool | None = count > PUBLIC_OFFERING_LINE
    if uncertain and not exceeds:
        exceeds = None  # what was cut short may hold the rest
    return HolderCount(
        institution=root,
        count=count,
        exceeds_200=exceeds,
        by_kind=by_kind,
        by_vehicle=tuple(by_vehicle),
        holders=tuple(sorted(holders.values(), key=lambda p: p.key)),
        truncated=bool(uncertain),
        reasons=reasons,
        at=at,
    )
