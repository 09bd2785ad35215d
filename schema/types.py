"""The public GraphQL types of the dossier, written by hand.

Leaf fields are plain attributes filled from one row, so they cost no resolver call; only
relations resolve, and they go through the request's DataLoaders. Every object remembers
the moment (`asOf` / `knownAt`) it was read at and passes it on to what it links to.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated

import strawberry
from strawberry.scalars import JSON

from auth import legal_basis
from auth.legal_basis import LegalBasisRequired
from registry import identifiers
from registry import records as enums
from registry.dossier import Moment, Row
from registry.provenance import FieldProvenance as FieldProvenanceData
from schema import enums as _registered_enums  # noqa: F401
from schema.context import Info
from schema.scopes import requires

if TYPE_CHECKING:
    from schema.lookthrough import (
        Control,
        HolderCountAnswer,
        Holdings,
        LinkedInstitution,
        Ownership,
    )


@strawberry.type(description="An amount of money in a currency (ISO 4217).")
class Money:
    amount: Decimal
    currency: str


def _money(amount: Decimal | None, currency: str | None) -> Money | None:
    return None if amount is None else Money(amount=amount, currency=currency or "CNY")


@strawberry.type(
    description="A share in percent: exact, or an interval whose ends may be open "
    "(sources often publish bands such as 'more than 50 %')."
)
class Share:
    exact: Decimal | None
    min: Decimal | None
    max: Decimal | None
    min_inclusive: bool
    max_inclusive: bool


def _share(row: Row) -> Share | None:
    if row["share_exact"] is None and row["share_min"] is None and row["share_max"] is None:
        return None
    return Share(
        exact=row["share_exact"],
        min=row["share_min"],
        max=row["share_max"],
        min_inclusive=row["share_min_inclusive"] is not False,
        max_inclusive=row["share_max_inclusive"] is not False,
    )


@strawberry.type(description="营业期限. No end with a start means 长期 (indefinite).")
class BusinessTerm:
    start: dt.date | None
    end: dt.date | None
    indefinite: bool


@strawberry.type(description="An administrative division code (GB/T 2260) and its levels.")
class Division:
    code: str
    province: str
    prefecture: str


@strawberry.type(description="One source's value for a field, and where it came from.")
class SourcedValue:
    source: enums.Source
    value: JSON | None
    governing: bool = strawberry.field(
        description="True for the value that won by source precedence."
    )
    batch_id: strawberry.ID
    batch_ref: str
    first_seen: dt.datetime
    last_seen: dt.datetime
    valid_from: dt.date | None
    valid_to: dt.date | None


@strawberry.type(description="A field's governing value and every source's value for it.")
class FieldProvenance:
    field: str
    value: JSON | None
    disputed: bool = strawberry.field(description="True when sources give different values.")
    sources: list[SourcedValue]


def _provenance(
    items: list[FieldProvenanceData], fields: list[str] | None
) -> list[FieldProvenance]:
    wanted = None if fields is None else set(fields)
    return [
        FieldProvenance(
            field=p.field,
            value=p.value,
            disputed=p.disputed,
            sources=[
                SourcedValue(
                    source=enums.Source(s.source),
                    value=s.value,
                    governing=s.governing,
                    batch_id=strawberry.ID(str(s.batch_id)),
                    batch_ref=s.batch_ref,
                    first_seen=s.first_seen,
                    last_seen=s.last_seen,
                    valid_from=s.valid_from,
                    valid_to=s.valid_to,
                )
                for s in p.sources
            ],
        )
        for p in items
        if wanted is None or p.field in wanted
    ]


_FIELDS_ARG = Annotated[
    list[str] | None,
    strawberry.argument(description="Only these fields (column names); all when omitted."),
]


@strawberry.interface(description="A record whose fields the feeding agencies supplied.")
class Sourced:
    id: strawberry.ID
    valid_from: dt.date | None
    valid_to: dt.date | None
    _kind: strawberry.Private[str]
    _at: strawberry.Private[Moment | None]

    @strawberry.field(description="Where each field came from; disagreeing sources included.")
    async def provenance(self, info: Info, fields: _FIELDS_ARG = None) -> list[FieldProvenance]:
        items = await info.context.loaders.provenance(self._kind, self._at).load(int(self.id))
        return _provenance(items, fields)


@strawberry.type(
    description="A state body holding an interest, e.g. a SASAC.",
    directives=[requires("institution.shareholders:read")],
)
class StateBody:
    name: str


@strawberry.type(
    description="A holder the source does not identify: owner unknown, or exempt from disclosure.",
    directives=[requires("institution.shareholders:read")],
)
class UnknownParty:
    kind: enums.PartyKind
    stated_name: str | None = strawberry.field(description="Whatever name the source gave.")


@strawberry.type(
    description="A natural person.", directives=[requires("institution.personnel:read")]
)
class Person:
    id: strawberry.ID
    name: str
    id_type: str
    id_number: str | None = strawberry.field(
        description="The full identity number, when a source supplied it unmasked.",
        directives=[requires("person.identity:read")],
    )
    id_number_masked: str | None = strawberry.field(
        description="The identity number with all but the first 6 and last 4 characters masked."
    )
    masked_at_source: bool = strawberry.field(
        description="True when no source gave the full number (非公示项 or masked)."
    )
    nationality: str
    _at: strawberry.Private[Moment | None]

    @classmethod
    def from_row(cls, row: Row, at: Moment | None) -> Person:
        number = row["id_number"]
        masked = number
        if number and not row["id_masked"] and row["id_type"] == "resident_id":
            masked = identifiers.mask_resident_id(number)
        return cls(
            id=strawberry.ID(str(row["id"])),
            name=row["name"],
            id_type=row["id_type"],
            id_number=None if row["id_masked"] else number,
            id_number_masked=masked,
            masked_at_source=row["id_masked"],
            nationality=row["nationality"],
            _at=at,
        )

    @strawberry.field(description="Every post this person holds, in any institution.")
    async def positions(self, info: Info) -> list[Position]:
        rows = await info.context.loaders.positions_of_person(self._at).load(int(self.id))
        return [Position.from_row(r, self._at) for r in rows]

    @strawberry.field(
        description="Everything this person holds or controls, directly or not.",
        directives=[requires("institution.shareholders:read")],
    )
    async def holdings_look_through(
        self, info: Info, max_depth: int = 20, min_share: Decimal = Decimal(0)
    ) -> Annotated[Holdings, strawberry.lazy("schema.lookthrough")]:
        from registry.lookthrough import Party as LookThroughParty
        from schema import lookthrough

        party = LookThroughParty.person(int(self.id))
        return await lookthrough.holdings(info, party, self._at, max_depth, min_share)

    @strawberry.field(
        description="Every direct holding of this person, in any institution.",
        directives=[requires("institution.shareholders:read")],
    )
    async def holdings(self, info: Info) -> list[Shareholding]:
        loader = info.context.loaders.held_by("holder_person_id", self._at)
        return [Shareholding.from_row(r, self._at) for r in await loader.load(int(self.id))]


@strawberry.type(
    description="A direct shareholding (股东及出资) with every interest it carries.",
    directives=[requires("institution.shareholders:read")],
)
class Shareholding(Sourced):
    share: Share | None
    subscribed: Money | None = strawberry.field(description="认缴 subscribed capital.")
    subscribed_date: dt.date | None
    paid_in: Money | None = strawberry.field(description="实缴 paid-in capital.")
    paid_in_date: dt.date | None
    contribution_method: str | None
    interests: list[enums.InterestType]
    _row: strawberry.Private[Row]

    @classmethod
    def from_row(cls, row: Row, at: Moment | None) -> Shareholding:
        return cls(
            id=strawberry.ID(str(row["id"])),
            valid_from=row["valid_from"],
            valid_to=row["valid_to"],
            share=_share(row),
            subscribed=_money(row["subscribed_amount"], row["subscribed_currency"]),
            subscribed_date=row["subscribed_date"],
            paid_in=_money(row["paid_in_amount"], row["paid_in_currency"]),
            paid_in_date=row["paid_in_date"],
            contribution_method=row["contribution_method"],
            interests=[enums.InterestType(i) for i in row["interests"] or []],
            _kind="shareholding",
            _at=at,
            _row=row,
        )

    @strawberry.field
    async def holder(self, info: Info) -> Party:
        row, kind = self._row, self._row["holder_kind"]
        if kind == "institution":
            found = await info.context.loaders.institution("id", self._at).load(
                row["holder_institution_id"]
            )
            if found is None:  # known only by name at the time asked about
                return UnknownParty(kind=enums.PartyKind.UNKNOWN, stated_name=row["holder_name"])
            return Institution.from_row(found, self._at)
        if kind == "person":
            person = await info.context.loaders.person().load(row["holder_person_id"])
            assert person is not None
            return Person.from_row(person, self._at)
        if kind == "state_body":
            return StateBody(name=row["holder_name"])
        return UnknownParty(kind=enums.PartyKind(kind), stated_name=row["holder_name"])

    @strawberry.field(description="The institution held.")
    async def institution(self, info: Info) -> Institution | None:
        found = await info.context.loaders.institution("id", self._at).load(
            self._row["institution_id"]
        )
        return None if found is None else Institution.from_row(found, self._at)


@strawberry.type(
    description="A post (主要人员) held by a person in an institution.",
    directives=[requires("institution.personnel:read")],
)
class Position(Sourced):
    role: enums.Role
    title: str | None = strawberry.field(description="The source's own label, e.g. 执行董事.")
    _row: strawberry.Private[Row]

    @classmethod
    def from_row(cls, row: Row, at: Moment | None) -> Position:
        return cls(
            id=strawberry.ID(str(row["id"])),
            valid_from=row["valid_from"],
            valid_to=row["valid_to"],
            role=enums.Role(row["role"]),
            title=row["title"],
            _kind="position",
            _at=at,
            _row=row,
        )

    @strawberry.field
    async def person(self, info: Info) -> Person:
        person = await info.context.loaders.person().load(self._row["person_id"])
        assert person is not None
        return Person.from_row(person, self._at)

    @strawberry.field
    async def institution(self, info: Info) -> Institution | None:
        found = await info.context.loaders.institution("id", self._at).load(
            self._row["institution_id"]
        )
        return None if found is None else Institution.from_row(found, self._at)


@strawberry.type(
    description="A licence or permit issued by a regulator.",
    directives=[requires("licence:read")],
)
class Licence(Sourced):
    licence_type: enums.LicenceType
    number: str
    issuer: enums.Source | None
    business_types: list[str]
    coverage: str | None
    status: enums.LicenceStatus | None

    @classmethod
    def from_row(cls, row: Row, at: Moment | None) -> Licence:
        return cls(
            id=strawberry.ID(str(row["id"])),
            valid_from=row["valid_from"],
            valid_to=row["valid_to"],
            licence_type=enums.LicenceType(row["licence_type"]),
            number=row["number"],
            issuer=enums.Source(row["issuer"]) if row["issuer"] else None,
            business_types=row["business_types"] or [],
            coverage=row["coverage"],
            status=enums.LicenceStatus(row["status"]) if row["status"] else None,
            _kind="licence",
            _at=at,
        )


@strawberry.type(
    description="A website or app and its ICP filing (备案).",
    directives=[requires("website:read")],
)
class Website(Sourced):
    kind: enums.WebsiteKind
    filing_number: str | None
    domain: str | None
    app_name: str | None
    status: enums.WebsiteStatus | None

    @classmethod
    def from_row(cls, row: Row, at: Moment | None) -> Website:
        return cls(
            id=strawberry.ID(str(row["id"])),
            valid_from=row["valid_from"],
            valid_to=row["valid_to"],
            kind=enums.WebsiteKind(row["kind"]),
            filing_number=row["filing_number"],
            domain=row["domain"],
            app_name=row["app_name"],
            status=enums.WebsiteStatus(row["status"]) if row["status"] else None,
            _kind="website",
            _at=at,
        )


@strawberry.type(
    description="A determination of the business an institution really does. When agencies "
    "disagree, the governing one is shown and `provenance` lists the others.",
    directives=[requires("classification:read")],
)
class Classification(Sourced):
    domain: enums.BusinessDomain
    nature: str | None
    remediation_class: enums.RemediationClass | None
    reasons: str | None

    @classmethod
    def from_row(cls, row: Row, at: Moment | None) -> Classification:
        remediation = row["remediation_class"]
        return cls(
            id=strawberry.ID(str(row["id"])),
            valid_from=row["valid_from"],
            valid_to=row["valid_to"],
            domain=enums.BusinessDomain(row["domain"]),
            nature=row["nature"],
            remediation_class=enums.RemediationClass(remediation) if remediation else None,
            reasons=row["reasons"],
            _kind="classification",
            _at=at,
        )


@strawberry.type(
    description="An entry on the abnormal-operation or serious-violation list.",
    directives=[requires("institution:read")],
)
class ListEntry(Sourced):
    list: enums.ListKind
    listed_on: dt.date
    reason: str | None
    authority: str | None
    removed_on: dt.date | None
    removal_reason: str | None

    @classmethod
    def from_row(cls, row: Row, at: Moment | None) -> ListEntry:
        return cls(
            id=strawberry.ID(str(row["id"])),
            valid_from=row["valid_from"],
            valid_to=row["valid_to"],
            list=enums.ListKind(row["list"]),
            listed_on=row["listed_on"],
            reason=row["reason"],
            authority=row["authority"],
            removed_on=row["removed_on"],
            removal_reason=row["removal_reason"],
            _kind="list_entry",
            _at=at,
        )


@strawberry.type(
    description="A branch (分支机构) of an institution.",
    directives=[requires("institution:read")],
)
class Branch(Sourced):
    branch_uscc: str | None
    branch_name: str | None
    registration_authority: str | None
    established: dt.date | None

    @classmethod
    def from_row(cls, row: Row, at: Moment | None) -> Branch:
        return cls(
            id=strawberry.ID(str(row["id"])),
            valid_from=row["valid_from"],
            valid_to=row["valid_to"],
            branch_uscc=row["branch_uscc"],
            branch_name=row["branch_name"],
            registration_authority=row["registration_authority"],
            established=row["established"],
            _kind="branch",
            _at=at,
        )


@strawberry.type(
    description="A bank account of an institution: reserve (备付金), custody (存管) or its own.",
    directives=[requires("account:read")],
)
class Account(Sourced):
    kind: enums.AccountKind
    bank: str | None
    bank_uscc: str | None
    number: str
    holder_name: str | None
    currency: str | None
    opened_on: dt.date | None
    closed_on: dt.date | None
    balance: Money | None
    balance_date: dt.date | None

    @classmethod
    def from_row(cls, row: Row, at: Moment | None) -> Account:
        return cls(
            id=strawberry.ID(str(row["id"])),
            valid_from=row["valid_from"],
            valid_to=row["valid_to"],
            kind=enums.AccountKind(row["kind"]),
            bank=row["bank"],
            bank_uscc=row["bank_uscc"],
            number=row["number"],
            holder_name=row["holder_name"],
            currency=row["currency"],
            opened_on=row["opened_on"],
            closed_on=row["closed_on"],
            balance=_money(row["balance"], row["balance_currency"]),
            balance_date=row["balance_date"],
            _kind="account",
            _at=at,
        )


@strawberry.type(
    description="One file per institution (一户一档): everything the agencies know.",
    directives=[requires("institution:read")],
)
class Institution(Sourced):
    uscc: str = strawberry.field(description="统一社会信用代码 (GB 32100).")
    uscc_pilot_check_failure: bool = strawberry.field(
        description="An early pilot code accepted although its check character fails."
    )
    mentioned_only: bool = strawberry.field(
        description="Known only because another record names it (e.g. as a shareholder)."
    )
    name: str
    former_names: list[str]
    enterprise_type: str | None
    registered_capital: Money | None
    established: dt.date | None
    business_term: BusinessTerm | None
    registration_authority: str | None
    status: enums.InstitutionStatus | None
    status_date: dt.date | None
    address: str | None
    division: Division | None
    operating_addresses: list[str]
    business_scope: str | None
    legacy_registration_number: str | None = strawberry.field(description="15-digit 注册号.")

    @classmethod
    def from_row(cls, row: Row, at: Moment | None) -> Institution:
        division = row["division"]
        start, end = row["term_start"], row["term_end"]
        return cls(
            id=strawberry.ID(str(row["id"])),
            valid_from=row["valid_from"],
            valid_to=row["valid_to"],
            uscc=row["uscc"],
            uscc_pilot_check_failure=row["pilot_uscc"],
            mentioned_only=row["mentioned_only"],
            name=row["name"],
            former_names=row["former_names"] or [],
            enterprise_type=row["enterprise_type"],
            registered_capital=_money(row["registered_capital"], row["capital_currency"]),
            established=row["established"],
            business_term=None
            if start is None and end is None
            else BusinessTerm(start=start, end=end, indefinite=start is not None and end is None),
            registration_authority=row["registration_authority"],
            status=enums.InstitutionStatus(row["status"]) if row["status"] else None,
            status_date=row["status_date"],
            address=row["address"],
            division=None
            if not division
            else Division(
                code=division, province=division[:2] + "0000", prefecture=division[:4] + "00"
            ),
            operating_addresses=row["operating_addresses"] or [],
            business_scope=row["business_scope"],
            legacy_registration_number=row["legacy_registration_number"],
            _kind="institution",
            _at=at,
        )

    async def _children(self, info: Info, kind: str) -> list[Row]:
        return await info.context.loaders.children(kind, self._at).load(int(self.id))

    @strawberry.field(
        description="法定代表人 (or 执行事务合伙人 of a partnership).",
        directives=[requires("institution.personnel:read")],
    )
    async def legal_representative(self, info: Info) -> Position | None:
        for row in await self._children(info, "position"):
            if row["role"] == "legal_representative":
                return Position.from_row(row, self._at)
        return None

    @strawberry.field(
        description="Key personnel (主要人员) with their posts.",
        directives=[requires("institution.personnel:read")],
    )
    async def personnel(self, info: Info) -> list[Position]:
        return [Position.from_row(r, self._at) for r in await self._children(info, "position")]

    @strawberry.field(
        description="Direct shareholders and their contributions.",
        directives=[requires("institution.shareholders:read")],
    )
    async def shareholders(self, info: Info) -> list[Shareholding]:
        rows = await self._children(info, "shareholding")
        return [Shareholding.from_row(r, self._at) for r in rows]

    @strawberry.field(
        description="What this institution directly holds in others.",
        directives=[requires("institution.shareholders:read")],
    )
    async def investments(self, info: Info) -> list[Shareholding]:
        loader = info.context.loaders.held_by("holder_institution_id", self._at)
        return [Shareholding.from_row(r, self._at) for r in await loader.load(int(self.id))]

    @strawberry.field(directives=[requires("licence:read")])
    async def licences(self, info: Info) -> list[Licence]:
        return [Licence.from_row(r, self._at) for r in await self._children(info, "licence")]

    @strawberry.field(
        description="Websites and apps with their ICP filings.",
        directives=[requires("website:read")],
    )
    async def websites(self, info: Info) -> list[Website]:
        return [Website.from_row(r, self._at) for r in await self._children(info, "website")]

    @strawberry.field(
        description="Business classifications by the agencies.",
        directives=[requires("classification:read")],
    )
    async def classifications(self, info: Info) -> list[Classification]:
        rows = await self._children(info, "classification")
        return [Classification.from_row(r, self._at) for r in rows]

    @strawberry.field(description="Abnormal-operation and serious-violation list entries.")
    async def list_entries(self, info: Info) -> list[ListEntry]:
        rows = await self._children(info, "list_entry")
        return [ListEntry.from_row(r, self._at) for r in rows]

    @strawberry.field
    async def branches(self, info: Info) -> list[Branch]:
        return [Branch.from_row(r, self._at) for r in await self._children(info, "branch")]

    @strawberry.field(
        description="Ultimate owners with effective shares (intervals) and evidence paths.",
        directives=[requires("institution.shareholders:read")],
    )
    async def ultimate_owners(
        self, info: Info, max_depth: int = 20, min_share: Decimal = Decimal(0)
    ) -> Annotated[Ownership, strawberry.lazy("schema.lookthrough")]:
        from schema import lookthrough

        return await lookthrough.ultimate_owners(info, int(self.id), self._at, max_depth, min_share)

    @strawberry.field(
        description="The actual controller (实际控制人) and the rule that made it so.",
        directives=[requires("institution.shareholders:read")],
    )
    async def actual_controller(
        self, info: Info, max_depth: int = 20
    ) -> Annotated[Control, strawberry.lazy("schema.lookthrough")]:
        from schema import lookthrough

        return await lookthrough.actual_controller(info, int(self.id), self._at, max_depth)

    @strawberry.field(
        description="Ultimate holders counted through vehicles: the 200-holder line.",
        directives=[requires("institution.shareholders:read")],
    )
    async def holder_count(
        self, info: Info, max_depth: int = 20
    ) -> Annotated[HolderCountAnswer, strawberry.lazy("schema.lookthrough")]:
        from schema import lookthrough

        return await lookthrough.holder_count(info, int(self.id), self._at, max_depth)

    @strawberry.field(
        description="Everything this institution holds or controls, directly or not.",
        directives=[requires("institution.shareholders:read")],
    )
    async def holdings_look_through(
        self, info: Info, max_depth: int = 20, min_share: Decimal = Decimal(0)
    ) -> Annotated[Holdings, strawberry.lazy("schema.lookthrough")]:
        from registry.lookthrough import Party as LookThroughParty
        from schema import lookthrough

        party = LookThroughParty.institution(int(self.id))
        return await lookthrough.holdings(info, party, self._at, max_depth, min_share)

    @strawberry.field(
        description="延伸监管: every other institution where this one's legal representative, "
        "key personnel or shareholders hold posts or shares.",
        directives=[requires("institution.shareholders:read")],
    )
    async def extended_supervision(
        self, info: Info
    ) -> list[Annotated[LinkedInstitution, strawberry.lazy("schema.lookthrough")]]:
        from schema import lookthrough

        return await lookthrough.extended_supervision(info, int(self.id), self._at)

    @strawberry.field(
        description="Reserve, custody and own accounts. Each read spends one use of a recorded "
        "legal basis that covers the asking client and this institution (经过法定程序); "
        "otherwise null with LEGAL_BASIS_REQUIRED.",
        directives=[requires("account:read")],
    )
    async def accounts(self, info: Info, legal_basis_id: strawberry.ID) -> list[Account] | None:
        context = info.context
        if context.principal is None:
            raise LegalBasisRequired("account data is read only by an authenticated client")
        if not str(legal_basis_id).isdigit():
            raise LegalBasisRequired(f"legalBasisId {legal_basis_id!r} is not a legal basis id")
        async with context.pool.acquire() as conn:
            basis = await legal_basis.use(
                conn,
                legal_basis_id=int(str(legal_basis_id)),
                client_id=context.principal.client_id,
                institution_id=int(self.id),
                request_id=context.request_id,
            )
        context.legal_bases.append(basis.id)
        return [Account.from_row(r, self._at) for r in await self._children(info, "account")]


# Which parts of the file each Institution field reads, for reading them in one statement.
FILE_PARTS_BY_FIELD = {
    "legalRepresentative": "position",
    "personnel": "position",
    "shareholders": "shareholding",
    "licences": "licence",
    "websites": "website",
    "classifications": "classification",
    "listEntries": "list_entry",
    "branches": "branch",
}


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class InstitutionEdge:
    cursor: str
    score: float | None = strawberry.field(
        description="How well the name matched (0–100), for name searches."
    )
    node: Institution


@strawberry.type
class InstitutionConnection:
    edges: list[InstitutionEdge]
    page_info: PageInfo
    candidates_capped: bool = strawberry.field(
        description="True when a name search matched more institutions than it ranks; "
        "narrow the query or add filters."
    )


Party = Annotated[
    Institution | Person | StateBody | UnknownParty,
    strawberry.union("Party", description="Who holds an interest."),
]
