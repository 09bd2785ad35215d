"""Look-through (穿透): who is behind an institution, what a party holds and controls, and
how parties are connected — plain async functions over an asyncpg connection.

Where to look:
- `shares`: `ultimate_owners` (upward, effective share intervals, evidence paths with typed
  ends), `holder_count` (the 200 line, looking through vehicles), `holdings_of` (downward).
- `walk`: the one recursive CTE behind those three.
- `control`: `actual_controller` and `group_of`, by the control rule of `rules`.
- `around`: `connections` between two parties, `extended_supervision` (延伸监管).
- `model`: the answers; `assemble`: sums across paths; `reference`: the same look-throughs
  as a plain traversal in memory, which the tests hold the SQL to.

Every look-through takes `at` (a `Moment`) and its limits, and says when it was cut short.
"""

from registry.lookthrough.around import connections, extended_supervision
from registry.lookthrough.control import actual_controller, group_of
from registry.lookthrough.model import (
    CUT_SHORT,
    PUBLIC_OFFERING_LINE,
    Chain,
    ConnectionsAnswer,
    ControlAnswer,
    ControlChain,
    ControlLink,
    ControlRule,
    EndKind,
    ExtendedSupervision,
    GroupAnswer,
    GroupMember,
    Held,
    HolderCount,
    HolderKind,
    HoldingsAnswer,
    Hop,
    Interval,
    Link,
    Linked,
    Owner,
    OwnershipAnswer,
    Party,
    Path,
    Relation,
    StatedShare,
    SupervisionLink,
    VehicleCount,
)
from registry.lookthrough.rules import VEHICLES, VehicleRule
from registry.lookthrough.shares import holder_count, holdings_of, ultimate_owners

__all__ = [
    "CUT_SHORT",
    "PUBLIC_OFFERING_LINE",
    "VEHICLES",
    "Chain",
    "ConnectionsAnswer",
    "ControlAnswer",
    "ControlChain",
    "ControlLink",
    "ControlRule",
    "EndKind",
    "ExtendedSupervision",
    "GroupAnswer",
    "GroupMember",
    "Held",
    "HolderCount",
    "HolderKind",
    "HoldingsAnswer",
    "Hop",
    "Interval",
    "Link",
    "Linked",
    "Owner",
    "OwnershipAnswer",
    "Party",
    "Path",
    "Relation",
    "StatedShare",
    "SupervisionLink",
    "VehicleCount",
    "VehicleRule",
    "actual_controller",
    "connections",
    "extended_supervision",
    "group_of",
    "holder_count",
    "holdings_of",
    "ultimate_owners",
]
