"""The ingest contract: the records an agency feed may send to the registry.

Every feed — the demo generator, the agency adapters, a hand-written NDJSON file — is turned
into these records before it reaches `registry.ingest`. One line of NDJSON is one record;
its `type` field selects the model. Field names are the registry's, in English; each
adapter documents how its agency's own labels map onto them.

Validation here is about shape and identifiers. Whether a referenced institution exists is
checked by the ingest, which sees the whole batch and the store.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    field_validator,
    model_validator,
)

from registry import identifiers


class Source(StrEnum):
    """The agencies that feed the registry, plus the leading group's decisions."""

    REGISTRATION = "registration"
    CENTRAL_BANK = "central_bank"
    BANKING = "banking"
    SECURITIES = "securities"
    INSURANCE = "insurance"
    PUBLIC_SECURITY = "public_security"
    TELECOM = "telecom"
    LEADING_GROUP = "leading_group"


class PartyKind(StrEnum):
    INSTITUTION = "institution"
    PERSON = "person"
    STATE_BODY = "state_body"
    UNKNOWN = "unknown"
    EXEMPT = "exempt"


class InterestType(StrEnum):
    SHAREHOLDING = "shareholding"
    VOTING_RIGHTS = "voting_rights"
    BOARD_APPOINTMENT = "board_appointment"
    MANAGING_PARTNER = "managing_partner"
    ACTING_IN_CONCERT = "acting_in_concert"
    OTHER_CONTROL = "other_control"


class Role(StrEnum):
    LEGAL_REPRESENTATIVE = "legal_representative"
    CHAIRMAN = "chairman"
    DIRECTOR = "director"
    SUPERVISOR = "supervisor"
    GENERAL_MANAGER = "general_manager"
    MANAGER = "manager"
    EXECUTIVE_PARTNER = "executive_partner"
    OTHER = "other"


class LicenceType(StrEnum):
    PAYMENT = "payment"
    BANK = "bank"
    SECURITIES = "securities"
    FUTURES = "futures"
    FUND_MANAGEMENT = "fund_management"
    PRIVATE_FUND_MANAGER = "private_fund_manager"
    INSURANCE = "insurance"
    ICP = "icp"
    OTHER = "other"


class LicenceStatus(StrEnum):
    VALID = "valid"
    SUSPENDED = "suspended"
    REVOKED = "revoked"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


class WebsiteKind(StrEnum):
    WEBSITE = "website"
    APP = "app"


class WebsiteStatus(StrEnum):
    FILED = "filed"
    SHUT_DOWN = "shut_down"
    CANCELLED = "cancelled"


class BusinessDomain(StrEnum):
    P2P_LENDING = "p2p_lending"
    EQUITY_CROWDFUNDING = "equity_crowdfunding"
    INTERNET_INSURANCE = "internet_insurance"
    THIRD_PARTY_PAYMENT = "third_party_payment"
    INTERNET_ASSET_MANAGEMENT = "internet_asset_management"
    ADVERTISING = "advertising"
    REAL_ESTATE_FINANCE = "real_estate_finance"


class RemediationClass(StrEnum):
    COMPLIANT = "compliant"  # 合规类
    RECTIFY = "rectify"  # 整改类
    BAN = "ban"  # 取缔类


class ListKind(StrEnum):
    ABNORMAL_OPERATION = "abnormal_operation"  # 经营异常名录
    SERIOUS_VIOLATION = "serious_violation"  # 严重违法失信名单


class AccountKind(StrEnum):
    RESERVE = "reserve"  # 备付金 of a payment institution
    CUSTODY = "custody"  # 存管: client money held by a custody bank
    SETTLEMENT = "settlement"
    OWN = "own"


class InstitutionStatus(StrEnum):
    """登记状态 as the registration authority publishes it."""

    ACTIVE = "存续"
    OPERATING = "在业"
    REVOKED = "吊销"
    CANCELLED = "注销"
    MOVED_OUT = "迁出"
    WITHDRAWN = "撤销"
    SUSPENDED = "停业"


Percent = Annotated[Decimal, Field(ge=0, le=100, max_digits=12, decimal_places=8)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class Money(_Strict):
    amount: Annotated[Decimal, Field(ge=0, max_digits=22, decimal_places=4)]
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] = "CNY"


class Share(_Strict):
    """A share in percent: exact, or an interval whose ends may be open.

    Sources often publish bands ("25–50 %", "more than 50 %"); the band is kept as it came.
    """

    exact: Percent | None = None
    min: Percent | None = None
    max: Percent | None = None
    min_inclusive: bool = True
    max_inclusive: bool = True

    @model_validator(mode="after")
    def _one_form(self) -> Share:
        if self.exact is not None:
            if self.min is not None or self.max is not None:
                raise ValueError("give either exact or min/max, not both")
        elif self.min is None and self.max is None:
            raise ValueError("give exact, or at least one of min and max")
        elif self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min} is above max {self.max}")
        return self

    @property
    def low(self) -> Decimal:
        return self.exact if self.exact is not None else (self.min or Decimal(0))

    @property
    def high(self) -> Decimal:
        if self.exact is not None:
            return self.exact
        return self.max if self.max is not None else Decimal(100)


class PersonRef(_Strict):
    """A natural person as a feed names them. The number may arrive masked (非公示项)."""

    name: Annotated[str, Field(min_length=1, max_length=200)]
    id_type: Literal["resident_id", "passport", "hk_macau_permit", "taiwan_permit", "other"] = (
        "resident_id"
    )
    id_number: str | None = None
    nationality: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] = "CHN"

    @field_validator("id_number")
    @classmethod
    def _check_id(cls, value: str | None, info: Any) -> str | None:
        if value is None or info.data.get("id_type") != "resident_id":
            return value
        if identifiers.is_masked_resident_id(value):
            return value
        return identifiers.parse_resident_id(value).number

    @property
    def masked(self) -> bool:
        return self.id_number is None or identifiers.is_masked_resident_id(self.id_number)

    @property
    def key(self) -> str:
        """Stable identity: a full number identifies; a masked one only with the name."""
        if self.id_number and not self.masked:
            return f"{self.id_type}:{self.id_number}"
        return f"masked:{self.name}:{self.id_number or ''}"


class PartyRef(_Strict):
    """Who holds a share: an institution, a person, a state body, or a typed unknown."""

    kind: PartyKind
    uscc: str | None = None
    name: str | None = None
    person: PersonRef | None = None

    @field_validator("uscc")
    @classmethod
    def _check_uscc(cls, value: str | None) -> str | None:
        return None if value is None else identifiers.parse_uscc(value).code

    @model_validator(mode="after")
    def _complete(self) -> PartyRef:
        if self.kind is PartyKind.INSTITUTION and not (self.uscc and self.name):
            raise ValueError("an institution holder needs its uscc and its name")
        if self.kind is PartyKind.PERSON and self.person is None:
            raise ValueError("a person holder needs person")
        if self.kind is PartyKind.STATE_BODY and not self.name:
            raise ValueError("a state body holder needs its name")
        return self


class _About(_Strict):
    """Every record but the institution itself is about one institution, named by USCC."""

    institution: str
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None

    @field_validator("institution")
    @classmethod
    def _check_institution(cls, value: str) -> str:
        return identifiers.parse_uscc(value).code

    @model_validator(mode="after")
    def _period(self) -> _About:
        if self.valid_from and self.valid_to and self.valid_to < self.valid_from:
            raise ValueError(f"valid_to {self.valid_to} is before valid_from {self.valid_from}")
        return self


class InstitutionRecord(_Strict):
    type: Literal["institution"] = "institution"
    uscc: str
    name: Annotated[str, Field(min_length=2, max_length=300)]
    former_names: list[str] = Field(default_factory=list)
    enterprise_type: str | None = None
    registered_capital: Money | None = None
    established: dt.date | None = None
    term_start: dt.date | None = None
    term_end: dt.date | None = None  # None with term_start set means 长期 (no end)
    registration_authority: str | None = None
    status: InstitutionStatus = InstitutionStatus.ACTIVE
    status_date: dt.date | None = None
    address: str | None = None
    division: Annotated[str, Field(pattern=r"^\d{6}$")] | None = None
    operating_addresses: list[str] = Field(default_factory=list)
    business_scope: str | None = None
    legacy_registration_number: str | None = None
    valid_from: dt.date | None = None

    @field_validator("uscc")
    @classmethod
    def _check_uscc(cls, value: str) -> str:
        return identifiers.parse_uscc(value).code

    @field_validator("legacy_registration_number")
    @classmethod
    def _check_legacy(cls, value: str | None) -> str | None:
        return None if value is None else identifiers.parse_legacy_registration_number(value)

    @model_validator(mode="after")
    def _dates(self) -> InstitutionRecord:
        if self.term_start and self.term_end and self.term_end < self.term_start:
            raise ValueError(f"term_end {self.term_end} is before term_start {self.term_start}")
        return self


class ShareholdingRecord(_About):
    type: Literal["shareholding"] = "shareholding"
    holder: PartyRef
    share: Share | None = None
    subscribed: Money | None = None  # 认缴
    subscribed_date: dt.date | None = None
    paid_in: Money | None = None  # 实缴
    paid_in_date: dt.date | None = None
    contribution_method: str | None = None  # 出资方式
    interests: list[InterestType] = Field(default_factory=lambda: [InterestType.SHAREHOLDING])

    @model_validator(mode="after")
    def _not_self(self) -> ShareholdingRecord:
        if self.holder.uscc == self.institution:
            raise ValueError("an institution cannot be recorded as its own shareholder")
        return self


class PositionRecord(_About):
    type: Literal["position"] = "position"
    person: PersonRef
    role: Role
    title: str | None = None  # the feed's own label, e.g. 执行董事兼总经理


class LicenceRecord(_About):
    type: Literal["licence"] = "licence"
    issuer: Source
    licence_type: LicenceType
    number: str
    business_types: list[str] = Field(default_factory=list)
    coverage: str | None = None
    status: LicenceStatus = LicenceStatus.VALID

    @model_validator(mode="after")
    def _number_format(self) -> LicenceRecord:
        checker = _LICENCE_FORMATS.get(self.licence_type)
        if checker is not None:
            checker(self.number)
        return self


class WebsiteRecord(_About):
    type: Literal["website"] = "website"
    kind: WebsiteKind
    filing_number: str | None = None
    domain: str | None = None
    app_name: str | None = None
    status: WebsiteStatus = WebsiteStatus.FILED

    @field_validator("filing_number")
    @classmethod
    def _check_filing(cls, value: str | None) -> str | None:
        return None if value is None else identifiers.parse_icp_filing(value)

    @model_validator(mode="after")
    def _named(self) -> WebsiteRecord:
        if not (self.filing_number or self.domain or self.app_name):
            raise ValueError("a website or app needs a filing number, a domain or an app name")
        return self


class ClassificationRecord(_About):
    """An agency's determination of what business an institution really does."""

    type: Literal["classification"] = "classification"
    domain: BusinessDomain
    nature: str | None = None  # e.g. information intermediary, credit intermediary
    remediation_class: RemediationClass | None = None
    reasons: str | None = None


class ListEntryRecord(_About):
    type: Literal["list_entry"] = "list_entry"
    list: ListKind
    reason: str
    listed_on: dt.date
    authority: str | None = None
    removed_on: dt.date | None = None
    removal_reason: str | None = None


class BranchRecord(_About):
    type: Literal["branch"] = "branch"
    branch_name: str
    branch_uscc: str | None = None
    registration_authority: str | None = None
    established: dt.date | None = None

    @field_validator("branch_uscc")
    @classmethod
    def _check_branch(cls, value: str | None) -> str | None:
        return None if value is None else identifiers.parse_uscc(value).code


class AccountRecord(_About):
    """A bank account of an institution: reserve (备付金), custody (存管) or its own."""

    type: Literal["account"] = "account"
    kind: AccountKind
    bank: str
    bank_uscc: str | None = None
    number: Annotated[str, Field(min_length=4, max_length=40, pattern=r"^[0-9A-Za-z-]+$")]
    holder_name: str | None = None
    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] = "CNY"
    opened_on: dt.date | None = None
    closed_on: dt.date | None = None
    balance: Money | None = None
    balance_date: dt.date | None = None

    @field_validator("bank_uscc")
    @classmethod
    def _check_bank(cls, value: str | None) -> str | None:
        return None if value is None else identifiers.parse_uscc(value).code


_LICENCE_FORMATS = {
    LicenceType.PAYMENT: identifiers.parse_payment_licence,
    LicenceType.BANK: identifiers.parse_bank_licence,
    LicenceType.PRIVATE_FUND_MANAGER: identifiers.parse_private_fund_manager_code,
    LicenceType.ICP: identifiers.parse_icp_filing,
}

Record = Annotated[
    InstitutionRecord
    | ShareholdingRecord
    | PositionRecord
    | LicenceRecord
    | WebsiteRecord
    | ClassificationRecord
    | ListEntryRecord
    | BranchRecord
    | AccountRecord,
    Field(discriminator="type"),
]

RECORD_ADAPTER: TypeAdapter[Record] = TypeAdapter(Record)
