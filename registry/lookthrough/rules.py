"""The two rules of the look-through that are judgements, kept as data and small functions.

- Which institutions are holding vehicles, looked through when holders are counted.
- Who controls an institution, from its direct holders: the control rule, applied one
  institution at a time and separately from the share sums.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from registry.lookthrough.model import (
    HUNDRED,
    ControlRule,
    Hop,
    Interval,
    add,
    sub,
)
from registry.records import InterestType


@dataclass(frozen=True)
class VehicleRule:
    """An institution is a holding vehicle when its enterprise type or its name says so."""

    enterprise_type_contains: tuple[str, ...]
    name_contains: tuple[str, ...]

    def matches(self, name: str | None, enterprise_type: str | None) -> bool:
        return any(w in (enterprise_type or "") for w in self.enterprise_type_contains) or any(
            w in (name or "") for w in self.name_contains
        )


# Partnerships, asset-management plans, funds and trust plans: the holders the 200 line
# looks through (Shanghai crowdfunding sub-plan). Note 基金 also matches fund *managers*.
VEHICLES = VehicleRule(
    enterprise_type_contains=("合伙",),
    name_contains=("投资合伙企业", "资产管理计划", "基金", "信托计划"),
)


MAJORITY_LINE = Decimal(50)

# interests that give control on their own, whatever the share
_CONTROL_INTERESTS = {
    InterestType.BOARD_APPOINTMENT.value: ControlRule.BOARD_APPOINTMENT,
    InterestType.MANAGING_PARTNER.value: ControlRule.MANAGING_PARTNER,
    InterestType.OTHER_CONTROL.value: ControlRule.OTHER_CONTROL,
}
CONTROL_INTERESTS = (*_CONTROL_INTERESTS, InterestType.ACTING_IN_CONCERT.value)
_CONCERT = InterestType.ACTING_IN_CONCERT.value


@dataclass(frozen=True)
class Claim:
    """A holder that qualifies as controller of the held institution, and why."""

    hop: Hop
    rules: tuple[ControlRule, ...]
    share: Interval  # the stated interval, its low bound raised by the residual inference


@dataclass(frozen=True)
class ControlDecision:
    """Who controls one institution: each unit is one holder or one concert group."""

    units: tuple[tuple[Claim, ...], ...]

    @property
    def ambiguous(self) -> bool:
        return len(self.units) > 1


def _open_min(hop: Hop) -> bool:
    """A band whose low end is exclusive: the share lies strictly above its low bound."""
    share = hop.share
    return (
        share is not None
        and share.exact is None
        and share.min is not None
        and (not share.min_inclusive)
    )


def _open_fifty(hop: Hop) -> bool:
    """A band "more than 50 %": the interval's low bound is 50, the share is above it."""
    return _open_min(hop) and hop.interval.low == MAJORITY_LINE


def _residual(low: Decimal, high: Decimal, others_high: Decimal) -> Interval:
    # The holders listed are all the holders: whatever the others cannot hold, this one
    # does. A sole shareholder with no share stated holds 100 %. Never above its own high.
    return Interval(min(high, max(low, sub(HUNDRED, others_high))), high)


def decide_control(hops: Sequence[Hop], total_high: Decimal) -> ControlDecision:
    """Apply the control rule to the direct holders of one institution.

    `hops` must include every holder that could qualify (the SQL passes only those) and
    `total_high` is the sum of the high bounds of *all* its holders. A holder controls by
    (a) a majority: its low bound, raised to 100 % minus the others' high bounds, above 50 %
    (or a band opening just above 50 %); (b) board appointment; (c) being managing partner;
    (d) acting in concert with other holders whose low bounds together exceed 50 % (the same
    residual inference applies to the group); or (e) other control the source declares.
    The holders flagged as acting in concert in one institution form one group.
    """
    rules: dict[int, list[ControlRule]] = {}
    shares: dict[int, Interval] = {}
    for hop in hops:
        stated = hop.interval
        share = _residual(stated.low, stated.high, sub(total_high, stated.high))
        shares[hop.holding_id] = share
        found = rules.setdefault(hop.holding_id, [])
        if share.low > MAJORITY_LINE or _open_fifty(hop):
            found.append(ControlRule.MAJORITY)
        found.extend(_CONTROL_INTERESTS[i] for i in hop.interests if i in _CONTROL_INTERESTS)

    concert = [h for h in hops if _CONCERT in h.interests]
    group_qualifies = False
    if len(concert) >= 2:
        low = high = Decimal(0)
        for hop in concert:
            low, high = add(low, hop.interval.low), add(high, hop.interval.high)
        combined = _residual(low, high, sub(total_high, high)).low
        strict = any(_open_min(h) for h in concert)
        group_qualifies = combined > MAJORITY_LINE or (low == MAJORITY_LINE and strict)
    members = {h.holding_id for h in concert} if group_qualifies else set()

    units: list[tuple[Claim, ...]] = []
    if members:
        units.append(
            tuple(
                Claim(
                    h, (*rules[h.holding_id], ControlRule.ACTING_IN_CONCERT), shares[h.holding_id]
                )
                for h in sorted(concert, key=lambda h: h.holding_id)
            )
        )
    for hop in sorted(hops, key=lambda h: h.holding_id):
        if hop.holding_id not in members and rules[hop.holding_id]:
            units.append((Claim(hop, tuple(rules[hop.holding_id]), shares[hop.holding_id]),))
    return ControlDecision(tuple(units))
