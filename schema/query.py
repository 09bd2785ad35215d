"""The root Query: the dossier by USCC or id, search, and persons."""

from __future__ import annotations

import datetime as dt
from typing import Annotated
from zoneinfo import ZoneInfo

import strawberry
from graphql import FieldNode, FragmentSpreadNode, InlineFragmentNode

from registry import identifiers, search
from registry import records as enums
from registry.dossier import Moment
from registry.errors import InvalidArgument, InvalidIdentifierArgument, NotFound
from schema import enums as _registered_enums  # noqa: F401
from schema import lookthrough
from schema.audit import AuditQuery
from schema.context import Info
from schema.lookthrough import Connections, Group, PartyInput
from schema.scopes import requires
from schema.types import (
    FILE_PARTS_BY_FIELD,
    Institution,
    InstitutionConnection,
    InstitutionEdge,
    PageInfo,
    Person,
)

# Valid dates are Chinese civil dates.
CIVIL_ZONE = ZoneInfo("Asia/Shanghai")

AsOf = Annotated[
    dt.date | None,
    strawberry.argument(
        description="Answer with what was true in the world on this date (valid time)."
    ),
]
KnownAt = Annotated[
    dt.datetime | None,
    strawberry.argument(
        description="Answer with what the registry knew at this instant (transaction time)."
    ),
]


def moment(as_of: dt.date | None, known_at: dt.datetime | None) -> Moment | None:
    if as_of is None and known_at is None:
        return None
    now = dt.datetime.now(dt.UTC)
    if known_at is not None and known_at.tzinfo is None:
        raise InvalidArgument("knownAt needs a time zone, e.g. 2026-03-01T00:00:00+08:00")
    return Moment(as_of or now.astimezone(CIVIL_ZONE).date(), known_at or now)


def _file_parts(info: Info) -> frozenset[str]:
    """The parts of the file this selection reads, fragments included.

    Walks the parsed document itself: strawberry's `selected_fields` would first convert
    the whole selection tree, which costs more than the rest of the resolver.
    """
    parts: set[str] = set()
    fragments = info._raw_info.fragments
    stack = [info._raw_info.field_nodes[0].selection_set]
    while stack:
        selection_set = stack.pop()
        if selection_set is None:
            continue
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                part = FILE_PARTS_BY_FIELD.get(selection.name.value)
                if part is not None:
                    parts.add(part)
            elif isinstance(selection, FragmentSpreadNode):
                stack.append(fragments[selection.name.value].selection_set)
            elif isinstance(selection, InlineFragmentNode):
                stack.append(selection.selection_set)
    return frozenset(parts)


def _uscc(value: str) -> str:
    try:
        return identifiers.parse_uscc(value).code
    except identifiers.InvalidIdentifier as exc:
        raise InvalidIdentifierArgument(
            str(exc), field="uscc", rules=[e.rule for e in exc.errors]
        ) from exc


@strawberry.input(description="Filters for `institutions`; all given filters must match.")
class InstitutionFilter:
    name: str | None = strawberry.field(
        default=None, description="Chinese name, partial or approximate; former names count."
    )
    uscc: str | None = None
    status: list[enums.InstitutionStatus] | None = None
    division: str | None = strawberry.field(
        default=None,
        description="Division code prefix: 31 (a province), 3101 (a city), 310115 (a district).",
    )
    licence_type: enums.LicenceType | None = None
    classification: enums.BusinessDomain | None = None
    remediation_class: enums.RemediationClass | None = None
    include_mentioned: bool = strawberry.field(
        default=False, description="Include institutions known only as shareholders of others."
    )


@strawberry.type
class Query(AuditQuery):
    @strawberry.field(
        description="One institution's dossier, by USCC or by id.",
        directives=[requires("institution:read")],
    )
    async def institution(
        self,
        info: Info,
        uscc: str | None = None,
        id: strawberry.ID | None = None,
        as_of: AsOf = None,
        known_at: KnownAt = None,
    ) -> Institution | None:
        if (uscc is None) == (id is None):
            raise InvalidArgument("give exactly one of uscc and id")
        at = moment(as_of, known_at)
        key: str | int
        if uscc is not None:
            column, key = "uscc", _uscc(uscc)
        else:
            if not str(id).isdigit():
                raise InvalidArgument(f"id {id!r} is not an institution id (digits only)")
            column, key = "id", int(str(id))
        parts = _file_parts(info)
        if at is None and parts:
            file = await info.context.loaders.files(column, parts).load(key)
            row = None if file is None else file.institution
        else:
            row = await info.context.loaders.institution(column, at).load(key)
        if row is None:
            when = "" if at is None else f" on {at.as_of} as known at {at.known_at.isoformat()}"
            raise NotFound(f"no institution with {'uscc' if uscc else 'id'} {key}{when}")
        return Institution.from_row(row, at)

    @strawberry.field(
        description="Search institutions; pages are keyset-paginated.",
        directives=[requires("institution:read")],
    )
    async def institutions(
        self,
        info: Info,
        filter: InstitutionFilter | None = None,
        first: int = 20,
        after: str | None = None,
    ) -> InstitutionConnection:
        given = filter or InstitutionFilter()
        criteria = search.InstitutionFilter(
            name=given.name,
            uscc=given.uscc,
            statuses=[s.value for s in given.status or []],
            division=given.division,
            licence_type=given.licence_type.value if given.licence_type else None,
            classification_domain=given.classification.value if given.classification else None,
            remediation_class=given.remediation_class.value if given.remediation_class else None,
            include_mentioned=given.include_mentioned,
        )
        search.check_page_size(first, info.context.page_size_max)
        async with info.context.pool.acquire() as conn:
            page = await search.search(
                conn, criteria, first=first, after=after, page_max=info.context.page_size_max
            )
        info.context.loaders.saw(h.row for h in page.hits)
        edges = [
            InstitutionEdge(cursor=h.cursor, score=h.score, node=Institution.from_row(h.row, None))
            for h in page.hits
        ]
        return InstitutionConnection(
            edges=edges,
            page_info=PageInfo(
                has_next_page=page.has_next, end_cursor=edges[-1].cursor if edges else None
            ),
            candidates_capped=page.candidates_capped,
        )

    @strawberry.field(
        description="The shortest chains of shares and posts between two parties.",
        directives=[requires("institution.shareholders:read")],
    )
    async def connections(
        self,
        info: Info,
        a: PartyInput,
        b: PartyInput,
        max_depth: int = 6,
        as_of: AsOf = None,
        known_at: KnownAt = None,
    ) -> Connections:
        for party in (a, b):
            if not str(party.id).isdigit():
                raise InvalidArgument(f"id {party.id!r} is not a party id (digits only)")
        return await lookthrough.connections(
            info, a.party(), b.party(), max_depth, moment(as_of, known_at)
        )

    @strawberry.field(
        description="The institutions under one actual controller (a 系).",
        directives=[requires("institution.shareholders:read")],
    )
    async def group(
        self,
        info: Info,
        controller: PartyInput,
        max_depth: int = 20,
        as_of: AsOf = None,
        known_at: KnownAt = None,
    ) -> Group:
        if not str(controller.id).isdigit():
            raise InvalidArgument(f"id {controller.id!r} is not a party id (digits only)")
        return await lookthrough.group(info, controller.party(), max_depth, moment(as_of, known_at))

    @strawberry.field(
        description="A person with every post and holding across institutions.",
        directives=[requires("institution.personnel:read")],
    )
    async def person(
        self, info: Info, id: strawberry.ID, as_of: AsOf = None, known_at: KnownAt = None
    ) -> Person | None:
        if not str(id).isdigit():
            raise InvalidArgument(f"id {id!r} is not a person id (digits only)")
        row = await info.context.loaders.person().load(int(str(id)))
        if row is None:
            raise NotFound(f"no person with id {id}")
        return Person.from_row(row, moment(as_of, known_at))
