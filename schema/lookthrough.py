"""Look-through (穿透) over GraphQL: ultimate owners, the actual controller, the holder count,
what a party holds and controls, groups, connections and extended supervision.

Each answer is computed by `registry.lookthrough` in one short database session and mapped
here field for field; it carries its evidence paths, its typed ends, and whether and why it
was cut short. The moment (`asOf` / `knownAt`) is the one the institution was read at.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from enum import Enum
from typing import Annotated, Any

import strawberry

from registry import lookthrough as lt
from registry import records
from registry.dossier import Moment
from schema import enums as _registered_enums  # noqa: F401
from schema.context import Info
from schema.scopes import requires
from schema.types import Share

SHAREHOLDERS = "institution.shareholders:read"


MaxDepth = Annotated[int, strawberry.argument(description="Levels to follow at most.")]
MinShare = Annotated[
    Decimal, strawberry.argument(description="Prune paths whose share may not reach this (%).")
]


@strawberry.type(
    description="A party in a look-through: an institution or person (with its id), a state "
    "body, or an unknown or exempt holder (keyed by the holding that names it).",
    directives=[requires(SHAREHOLDERS)],
)
class LookThroughParty:
    kind: records.PartyKind
    key: str
    id: strawberry.ID | None
    name: str | None
    masked: bool = strawberry.field(description="A person no source identified in full.")


def _party(party: lt.Party) -> LookThroughParty:
    return LookThroughParty(
        kind=party.kind,
        key=party.key,
        id=strawberry.ID(str(party.id)) if party.id is not None else None,
        name=party.name,
        masked=party.masked,
    )


@strawberry.type(description="An effective share in percent, as an interval.")
class ShareInterval:
    low: Decimal
    high: Decimal
    exact: bool


def _plain(value: Decimal) -> Decimal:
    # exact arithmetic carries long scales (60.000…): show the number, not its working
    return Decimal(format(value.normalize(), "f"))


def _interval(interval: lt.Interval) -> ShareInterval:
    return ShareInterval(
        low=_plain(interval.low), high=_plain(interval.high), exact=interval.low == interval.high
    )


@strawberry.type(description="One holding on a path, as its source states it.")
class PathHop:
    holding_id: strawberry.ID
    holder: LookThroughParty
    held: LookThroughParty
    interests: list[str]
    stated_share: Share | None
    source: records.Source | None


def _hop(hop: lt.Hop) -> PathHop:
    return PathHop(
        holding_id=strawberry.ID(str(hop.holding_id)),
        holder=_party(hop.holder),
        held=_party(hop.held),
        interests=list(hop.interests),
        stated_share=_share(hop.share),
        source=records.Source(hop.source) if hop.source else None,
    )


@strawberry.type(description="An evidence path: every hop, its effective share, its end.")
class EvidencePath:
    hops: list[PathHop]
    share: ShareInterval
    end: lt.EndKind | None
    party: LookThroughParty


def _path(path: lt.Path) -> EvidencePath:
    return EvidencePath(
        hops=[_hop(h) for h in path.hops],
        share=_interval(path.share),
        end=path.end,
        party=_party(path.party),
    )


def _ends(reasons: Iterable[lt.EndKind]) -> list[lt.EndKind]:
    return sorted(reasons, key=lambda e: e.value)


@strawberry.type
class UltimateOwner:
    party: LookThroughParty
    end: lt.EndKind
    share: ShareInterval = strawberry.field(description="Summed over its paths.")
    paths: list[EvidencePath]


@strawberry.type(directives=[requires(SHAREHOLDERS)])
class Ownership:
    owners: list[UltimateOwner]
    cut: list[EvidencePath] = strawberry.field(
        description="Paths that stopped short (cycle, limits, under minShare)."
    )
    truncated: bool
    reasons: list[lt.EndKind]


@strawberry.type
class ControlStep:
    controlled: LookThroughParty
    controller: LookThroughParty
    rules: list[lt.ControlRule]
    share: ShareInterval
    hop: PathHop


def _step(link: lt.ControlLink) -> ControlStep:
    return ControlStep(
        controlled=_party(link.controlled),
        controller=_party(link.controller),
        rules=list(link.rules),
        share=_interval(link.share),
        hop=_hop(link.hop),
    )


@strawberry.type
class ControlChain:
    steps: list[ControlStep]
    end: lt.EndKind
    party: LookThroughParty


@strawberry.type(
    description="实际控制人, by its own rule: majority at each step, board appointment, "
    "managing partner, acting in concert, declared control. Never guessed: ambiguity is "
    "reported with the candidates.",
    directives=[requires(SHAREHOLDERS)],
)
class Control:
    controller: LookThroughParty | None
    candidates: list[LookThroughParty]
    chains: list[ControlChain]
    ambiguous: bool
    ambiguous_at: list[LookThroughParty]
    joint: bool
    reason: str | None
    truncated: bool
    reasons: list[lt.EndKind]


@strawberry.type
class HolderKindCount:
    kind: lt.HolderKind
    holders: int


@strawberry.type
class VehicleHolders:
    vehicle: LookThroughParty
    holders: int


@strawberry.type(
    description="Ultimate holders with partnerships and other vehicles looked through (the "
    "200-holder public-offering line). When truncated, count is a lower bound.",
    directives=[requires(SHAREHOLDERS)],
)
class HolderCountAnswer:
    count: int
    exceeds200: bool | None
    by_kind: list[HolderKindCount]
    by_vehicle: list[VehicleHolders]
    holders: list[LookThroughParty]
    truncated: bool
    reasons: list[lt.EndKind]


@strawberry.type
class GroupMember:
    institution: LookThroughParty
    chain: list[ControlStep]
    joint: bool
    ambiguous: bool


@strawberry.type(description="The institutions under one actual controller (系).")
class Group:
    controller: LookThroughParty
    members: list[GroupMember]
    truncated: bool
    reasons: list[lt.EndKind]


def _group(answer: lt.GroupAnswer) -> Group:
    return Group(
        controller=_party(answer.controller),
        members=[
            GroupMember(
                institution=_party(m.institution),
                chain=[_step(s) for s in m.chain],
                joint=m.joint,
                ambiguous=m.ambiguous,
            )
            for m in answer.members
        ],
        truncated=answer.truncated,
        reasons=_ends(answer.reasons),
    )


@strawberry.type
class HeldInstitution:
    institution: LookThroughParty
    share: ShareInterval
    paths: list[EvidencePath]


@strawberry.type(
    description="Everything a party holds, directly or not, and what it controls.",
    directives=[requires(SHAREHOLDERS)],
)
class Holdings:
    held: list[HeldInstitution]
    cut: list[EvidencePath]
    controlled: Group
    truncated: bool
    reasons: list[lt.EndKind]


@strawberry.type
class SupervisionLink:
    via: LookThroughParty
    role_at_subject: str
    relation: lt.Relation
    role: str | None
    share: Share | None


@strawberry.type
class LinkedInstitution:
    institution: LookThroughParty
    links: list[SupervisionLink]


@strawberry.type
class ConnectionLink:
    source: LookThroughParty
    target: LookThroughParty
    relation: lt.Relation
    role: str | None


@strawberry.type
class ConnectionChain:
    parties: list[LookThroughParty]
    links: list[ConnectionLink]


@strawberry.type(directives=[requires(SHAREHOLDERS)])
class Connections:
    length: int | None = strawberry.field(description="None: not connected within maxDepth.")
    chains: list[ConnectionChain]
    truncated: bool
    reasons: list[lt.EndKind]


def _share(share: lt.StatedShare | None) -> Share | None:
    if share is None:
        return None
    return Share(
        exact=share.exact,
        min=share.min,
        max=share.max,
        min_inclusive=share.min_inclusive,
        max_inclusive=share.max_inclusive,
    )


async def _run(info: Info, work: Any) -> Any:
    async with info.context.pool.acquire() as conn:
        return await work(conn)


@strawberry.enum(description="What kind of party an id names.")
class PartyChoice(Enum):
    INSTITUTION = "institution"
    PERSON = "person"


@strawberry.input(description="An institution or a person, by id.")
class PartyInput:
    kind: PartyChoice
    id: strawberry.ID

    def party(self) -> lt.Party:
        ident = int(str(self.id))
        if self.kind is PartyChoice.INSTITUTION:
            return lt.Party.institution(ident)
        return lt.Party.person(ident)


# --- resolvers used by Institution, Person and Query ------------------------------------


async def ultimate_owners(
    info: Info, institution_id: int, at: Moment | None, max_depth: int, min_share: Decimal
) -> Ownership:
    answer: lt.OwnershipAnswer = await _run(
        info,
        lambda conn: lt.ultimate_owners(
            conn, institution_id, max_depth=max_depth, min_share=min_share, at=at
        ),
    )
    return Ownership(
        owners=[
            UltimateOwner(
                party=_party(o.party),
                end=o.end,
                share=_interval(o.share),
                paths=[_path(p) for p in o.paths],
            )
            for o in answer.owners
        ],
        cut=[_path(p) for p in answer.cut],
        truncated=answer.truncated,
        reasons=_ends(answer.reasons),
    )


async def actual_controller(
    info: Info, institution_id: int, at: Moment | None, max_depth: int
) -> Control:
    answer: lt.ControlAnswer = await _run(
        info, lambda conn: lt.actual_controller(conn, institution_id, max_depth=max_depth, at=at)
    )
    return Control(
        controller=_party(answer.controller) if answer.controller else None,
        candidates=[_party(p) for p in answer.candidates],
        chains=[
            ControlChain(steps=[_step(s) for s in c.links], end=c.end, party=_party(c.party))
            for c in answer.chains
        ],
        ambiguous=answer.ambiguous,
        ambiguous_at=[_party(p) for p in answer.ambiguous_at],
        joint=answer.joint,
        reason=answer.reason,
        truncated=answer.truncated,
        reasons=_ends(answer.reasons),
    )


async def holder_count(
    info: Info, institution_id: int, at: Moment | None, max_depth: int
) -> HolderCountAnswer:
    answer: lt.HolderCount = await _run(
        info, lambda conn: lt.holder_count(conn, institution_id, max_depth=max_depth, at=at)
    )
    return HolderCountAnswer(
        count=answer.count,
        exceeds200=answer.exceeds_200,
        by_kind=[HolderKindCount(kind=k, holders=n) for k, n in answer.by_kind.items()],
        by_vehicle=[
            VehicleHolders(vehicle=_party(v.vehicle), holders=v.holders) for v in answer.by_vehicle
        ],
        holders=[_party(p) for p in answer.holders],
        truncated=answer.truncated,
        reasons=_ends(answer.reasons),
    )


async def holdings(
    info: Info, party: lt.Party, at: Moment | None, max_depth: int, min_share: Decimal
) -> Holdings:
    answer: lt.HoldingsAnswer = await _run(
        info,
        lambda conn: lt.holdings_of(conn, party, max_depth=max_depth, min_share=min_share, at=at),
    )
    return Holdings(
        held=[
            HeldInstitution(
                institution=_party(h.institution),
                share=_interval(h.share),
                paths=[_path(p) for p in h.paths],
            )
            for h in answer.held
        ],
        cut=[_path(p) for p in answer.cut],
        controlled=_group(answer.controlled),
        truncated=answer.truncated,
        reasons=_ends(answer.reasons),
    )


async def extended_supervision(
    info: Info, institution_id: int, at: Moment | None
) -> list[LinkedInstitution]:
    answer: lt.ExtendedSupervision = await _run(
        info, lambda conn: lt.extended_supervision(conn, institution_id, at=at)
    )
    return [
        LinkedInstitution(
            institution=_party(linked.institution),
            links=[
                SupervisionLink(
                    via=_party(link.via),
                    role_at_subject=link.role_at_subject,
                    relation=link.relation,
                    role=link.role,
                    share=_share(link.share),
                )
                for link in linked.links
            ],
        )
        for linked in answer.linked
    ]


async def connections(
    info: Info, a: lt.Party, b: lt.Party, max_depth: int, at: Moment | None
) -> Connections:
    answer: lt.ConnectionsAnswer = await _run(
        info, lambda conn: lt.connections(conn, a, b, max_depth=max_depth, at=at)
    )
    return Connections(
        length=answer.length,
        chains=[
            ConnectionChain(
                parties=[_party(p) for p in chain.parties],
                links=[
                    ConnectionLink(
                        source=_party(link.source),
                        target=_party(link.target),
                        relation=link.relation,
                        role=link.role,
                    )
                    for link in chain.links
                ],
            )
            for chain in answer.chains
        ],
        truncated=answer.truncated,
        reasons=_ends(answer.reasons),
    )


async def group(info: Info, controller: lt.Party, max_depth: int, at: Moment | None) -> Group:
    answer: lt.GroupAnswer = await _run(
        info, lambda conn: lt.group_of(conn, controller, max_depth=max_depth, at=at)
    )
    return _group(answer)
