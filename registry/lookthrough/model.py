"""The look-through's answers: parties, hops, paths with typed ends, intervals.

Shares are percentages. An effective share is an interval [low, high]: along a path the
bounds multiply (as fractions), across paths they add up, clamped at 100. Arithmetic is
exact (`Decimal` with a wide context): products of 8-decimal percentages never round, so the
SQL walk and the in-memory reference give equal numbers.
"""

from __future__ import annotations

import decimal
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any

from registry.dossier import Moment
from registry.records import PartyKind

# wide enough for 100 hops of 8-decimal fractions: nothing in a look-through rounds
_EXACT = decimal.Context(prec=2000, traps=[decimal.InvalidOperation, decimal.Inexact])
HUNDRED = Decimal(100)
CENT = Decimal("0.01")


def mul(a: Decimal, b: Decimal) -> Decimal:
    return _EXACT.multiply(a, b)


def add(a: Decimal, b: Decimal) -> Decimal:
    return _EXACT.add(a, b)


def sub(a: Decimal, b: Decimal) -> Decimal:
    return _EXACT.subtract(a, b)


class EndKind(StrEnum):
    """Why a path stops where it does."""

    NATURAL_PERSON = "natural_person"
    STATE_BODY = "state_body"
    # listed companies, holders outside the registry (mentioned only), firms without a register
    INSTITUTION_WITHOUT_HOLDERS = "institution_without_holders"
    # holder_kind unknown / exempt, or a person whose identity number is masked
    UNKNOWN_OWNER = "unknown_owner"
    # holder count: an institution that is not a holding vehicle counts as one holder
    NOT_LOOKED_THROUGH = "not_looked_through"
    # control: an institution no one controls is its own end of the chain
    UNCONTROLLED_INSTITUTION = "uncontrolled_institution"
    # downward: an institution that holds nothing further
    HOLDS_NOTHING = "holds_nothing"
    # the ends below cut the answer short
    CYCLE = "cycle"
    DEPTH_LIMIT = "depth_limit"
    FANOUT_LIMIT = "fanout_limit"
    BELOW_MIN_SHARE = "below_min_share"
    # the walk fetched `max_paths` path prefixes and stopped
    PATH_LIMIT = "path_limit"


CUT_SHORT = frozenset(
    {
        EndKind.CYCLE,
        EndKind.DEPTH_LIMIT,
        EndKind.FANOUT_LIMIT,
        EndKind.BELOW_MIN_SHARE,
        EndKind.PATH_LIMIT,
    }
)


@dataclass(frozen=True)
class Party:
    """Anyone who can hold: `key` identifies it across answers.

    Institutions and persons are keyed by id, state bodies by name (the registry keeps no
    record for them), unknown and exempt holders by the holding that names them: two
    unknowns are never assumed to be the same party.
    """

    kind: PartyKind
    key: str
    id: int | None = None
    name: str | None = None
    masked: bool = False  # a person whose identity number no source gave in full

    @classmethod
    def institution(cls, id: int, name: str | None = None) -> Party:
        return cls(PartyKind.INSTITUTION, f"institution:{id}", id, name)

    @classmethod
    def person(cls, id: int, name: str | None = None, masked: bool = False) -> Party:
        return cls(PartyKind.PERSON, f"person:{id}", id, name, masked)

    @classmethod
    def state_body(cls, name: str) -> Party:
        return cls(PartyKind.STATE_BODY, f"state_body:{name}", None, name)

    @classmethod
    def unknown(cls, kind: PartyKind, holding_id: int, name: str | None) -> Party:
        return cls(kind, f"{kind.value}:holding:{holding_id}", None, name)


@dataclass(frozen=True)
class Interval:
    """A share in percent, known to lie in [low, high]."""

    low: Decimal
    high: Decimal

    def times(self, other: Interval) -> Interval:
        """Holding `other` of something that holds `self`: the fractions multiply."""
        return Interval(mul(mul(self.low, other.low), CENT), mul(mul(self.high, other.high), CENT))

    def plus(self, other: Interval) -> Interval:
        """Two paths to the same party: the shares add up, never past the whole."""
        return Interval(
            min(add(self.low, other.low), HUNDRED), min(add(self.high, other.high), HUNDRED)
        )


WHOLE = Interval(HUNDRED, HUNDRED)
NOTHING = Interval(Decimal(0), Decimal(0))


def total(intervals: Iterable[Interval]) -> Interval:
    out = NOTHING
    for interval in intervals:
        out = out.plus(interval)
    return out


@dataclass(frozen=True)
class StatedShare:
    """The share as the governing source states it: exact, or a band with open or closed ends."""

    exact: Decimal | None
    min: Decimal | None
    max: Decimal | None
    min_inclusive: bool
    max_inclusive: bool

    @property
    def interval(self) -> Interval:
        # An open end is used as a bound: the interval is the band's closure, so "more than
        # 50 %" is [50, 100]. The control rule alone looks at the exclusivity (see rules).
        if self.exact is not None:
            return Interval(self.exact, self.exact)
        low = self.min if self.min is not None else Decimal(0)
        return Interval(low, self.max if self.max is not None else HUNDRED)


UNSTATED = Interval(Decimal(0), HUNDRED)


@dataclass(frozen=True)
class Hop:
    """One holding: `holder` holds `held`, with what the governing source says about it."""

    holding_id: int
    holder: Party
    held: Party
    interests: tuple[str, ...]
    share: StatedShare | None  # None: no source states a share
    source: str | None  # the best-ranked source stating the holding

    @property
    def interval(self) -> Interval:
        return UNSTATED if self.share is None else self.share.interval


@dataclass(frozen=True)
class Path:
    """A chain of hops with its effective share and the reason it ends.

    Upward the hops run from the institution asked about to its holders' holders; downward
    from the party asked about to what it holds. `party` is where the path ends (for a path
    with no hops, the party asked about). `end` is None for a downward path the walk went on
    past.
    """

    hops: tuple[Hop, ...]
    share: Interval
    end: EndKind | None
    party: Party

    @property
    def holding_ids(self) -> tuple[int, ...]:
        return tuple(h.holding_id for h in self.hops)


def stated_share(row: Mapping[str, Any]) -> StatedShare | None:
    """The share columns of a holding row; None when no source states a share."""
    if all(row[c] is None for c in ("share_exact", "share_min", "share_max")):
        return None
    return StatedShare(
        exact=row["share_exact"],
        min=row["share_min"],
        max=row["share_max"],
        # the ingest records inclusivity with every band; absent means closed
        min_inclusive=row["share_min_inclusive"] is not False,
        max_inclusive=row["share_max_inclusive"] is not False,
    )


def hop_from_row(row: Mapping[str, Any]) -> Hop:
    """A hop from a row with the holding's columns plus `holder_label`, `held_name`,
    `masked` and `source`: the shape both the SQL walk and the reference loader produce."""
    kind = PartyKind(row["holder_kind"])
    if kind is PartyKind.INSTITUTION:
        holder = Party.institution(row["holder_institution_id"], row["holder_label"])
    elif kind is PartyKind.PERSON:
        holder = Party.person(row["holder_person_id"], row["holder_label"], bool(row["masked"]))
    elif kind is PartyKind.STATE_BODY:
        holder = Party.state_body(row["holder_name"])
    else:
        holder = Party.unknown(kind, row["id"], row["holder_name"])
    return Hop(
        holding_id=row["id"],
        holder=holder,
        held=Party.institution(row["institution_id"], row["held_name"]),
        interests=tuple(row["interests"] or ()),
        share=stated_share(row),
        source=row["source"],
    )


def end_of_holder(holder: Party) -> EndKind | None:
    """The end a holder makes by what it is; None for an institution (look further)."""
    if holder.kind is PartyKind.PERSON:
        return EndKind.UNKNOWN_OWNER if holder.masked else EndKind.NATURAL_PERSON
    if holder.kind is PartyKind.STATE_BODY:
        return EndKind.STATE_BODY
    if holder.kind is PartyKind.INSTITUTION:
        return None
    return EndKind.UNKNOWN_OWNER


# --- answers -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Owner:
    """An ultimate party with its effective share summed over its complete paths."""

    party: Party
    end: EndKind
    share: Interval
    paths: tuple[Path, ...]


@dataclass(frozen=True)
class OwnershipAnswer:
    """Ultimate owners of an institution.

    `owners` sums the paths that reached an ultimate party. Paths that stopped short (cycle,
    limits, pruned under `min_share`) are in `cut` with the share that went that way; when
    there are any, `truncated` is set and `reasons` says which ends occurred, and owners'
    shares leave that part out.
    """

    institution: Party
    owners: tuple[Owner, ...]
    cut: tuple[Path, ...]
    truncated: bool
    reasons: frozenset[EndKind]
    at: Moment | None


@dataclass(frozen=True)
class Held:
    """An institution reached downward, with the effective share summed over its paths."""

    institution: Party
    share: Interval
    paths: tuple[Path, ...]


class HolderKind(StrEnum):
    NATURAL_PERSON = "natural_person"
    STATE_BODY = "state_body"
    INSTITUTION = "institution"
    UNKNOWN = "unknown"  # unknown or exempt holders, persons with masked numbers


@dataclass(frozen=True)
class VehicleCount:
    vehicle: Party
    holders: int  # distinct ultimate holders reached through this vehicle


# the public-offering line of the Securities Law the Shanghai crowdfunding sub-plan cites
PUBLIC_OFFERING_LINE = 200


@dataclass(frozen=True)
class HolderCount:
    """How many holders an institution has once holding vehicles are looked through.

    When `truncated`, `count` is a lower bound (a vehicle cut short is not counted) and
    `exceeds_200` is None unless the lower bound already crosses the line. A cycle is listed
    in `reasons` without truncating: it returns to a vehicle already being looked through.
    """

    institution: Party
    count: int
    exceeds_200: bool | None
    by_kind: Mapping[HolderKind, int]
    by_vehicle: tuple[VehicleCount, ...]
    holders: tuple[Party, ...]
    truncated: bool
    reasons: frozenset[EndKind]
    at: Moment | None


class ControlRule(StrEnum):
    MAJORITY = "majority"  # more than 50 % (low bound) of shares or votes
    BOARD_APPOINTMENT = "board_appointment"
    MANAGING_PARTNER = "managing_partner"  # of a partnership, whatever its share
    ACTING_IN_CONCERT = "acting_in_concert"  # with others, together more than 50 %
    OTHER_CONTROL = "other_control"  # control the source declares by other means


@dataclass(frozen=True)
class ControlLink:
    """`controller` controls `controlled` through `hop` by `rules`."""

    controlled: Party
    controller: Party
    rules: tuple[ControlRule, ...]
    hop: Hop
    share: Interval  # the share the majority test used, after the residual inference


@dataclass(frozen=True)
class ControlChain:
    links: tuple[ControlLink, ...]  # from the institution asked about upward
    end: EndKind
    party: Party  # where the chain ends


@dataclass(frozen=True)
class ControlAnswer:
    """The actual controller (实际控制人), by the control rule, not by the share sums.

    `controller` is set when every chain ends at one and the same party and no step was
    ambiguous; joint control (parties acting in concert) lists them in `candidates` with
    `joint` set. `reason` says why there is no single controller.
    """

    institution: Party
    controller: Party | None
    candidates: tuple[Party, ...]
    chains: tuple[ControlChain, ...]
    ambiguous: bool
    ambiguous_at: tuple[Party, ...]
    joint: bool
    reason: str | None
    truncated: bool
    reasons: frozenset[EndKind]
    at: Moment | None


@dataclass(frozen=True)
class GroupMember:
    institution: Party
    chain: tuple[ControlLink, ...]  # from the controller down to the institution
    joint: bool  # controlled together with parties acting in concert
    ambiguous: bool  # another party also qualifies as its controller


@dataclass(frozen=True)
class GroupAnswer:
    """The institutions under one actual controller (a 系)."""

    controller: Party
    members: tuple[GroupMember, ...]
    truncated: bool
    reasons: frozenset[EndKind]
    at: Moment | None


@dataclass(frozen=True)
class HoldingsAnswer:
    """Everything a party holds (share walk downward) and controls (its group)."""

    party: Party
    held: tuple[Held, ...]
    cut: tuple[Path, ...]
    controlled: GroupAnswer
    truncated: bool
    reasons: frozenset[EndKind]
    at: Moment | None


class Relation(StrEnum):
    HOLDING = "holding"  # source holds target
    POSITION = "position"  # source (a person) holds a post in target


@dataclass(frozen=True)
class Link:
    source: Party
    target: Party
    relation: Relation
    record_id: int
    role: str | None = None  # the post, for a position


@dataclass(frozen=True)
class Chain:
    parties: tuple[Party, ...]  # from a to b
    links: tuple[Link, ...]  # links[i] joins parties[i] and parties[i + 1], either way round


@dataclass(frozen=True)
class ConnectionsAnswer:
    a: Party
    b: Party
    length: int | None  # None: not connected within max_depth
    chains: tuple[Chain, ...]
    truncated: bool
    reasons: frozenset[EndKind]
    at: Moment | None


@dataclass(frozen=True)
class SupervisionLink:
    """`via` ties the subject to another institution."""

    via: Party
    role_at_subject: str  # the post held in the subject, or "shareholder"
    record_at_subject: int  # the position or holding in the subject
    relation: Relation  # how `via` is tied to the other institution
    record_id: int
    role: str | None  # the post held there
    share: StatedShare | None  # the share held there


@dataclass(frozen=True)
class Linked:
    institution: Party
    links: tuple[SupervisionLink, ...]


@dataclass(frozen=True)
class ExtendedSupervision:
    """延伸监管: the other institutions of a firm's people and shareholders."""

    institution: Party
    linked: tuple[Linked, ...]
    at: Moment | None
