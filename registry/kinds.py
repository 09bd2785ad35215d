"""How each ingest record becomes a stable record and a statement about it.

One `Kind` per record type answers three questions the ingest asks of every record:
which record is it about (its natural key), what identifies it (columns fixed when the
record is created; references to institutions and persons are given by their natural keys
and turned into ids in SQL), and what does this source say about it now (the statement
body, whose keys are the golden columns of the record's table).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import Table

from registry import identifiers, tables
from registry.records import (
    AccountRecord,
    BranchRecord,
    ClassificationRecord,
    InstitutionRecord,
    LicenceRecord,
    ListEntryRecord,
    PartyKind,
    PartyRef,
    PersonRef,
    PositionRecord,
    ShareholdingRecord,
    WebsiteRecord,
)

JsonValue = str | int | bool | list[str] | None
Body = dict[str, JsonValue]


# What a reference column points at: the table and the natural key it is named by.
REFERENCED = {"institution": ("institution", "uscc"), "person": ("person", "key")}
_ABOUT = {"institution_id": "institution"}


@dataclass(frozen=True, eq=False)  # one instance per kind: identity is equality
class Kind:
    name: str
    table: Table
    key_column: str
    key: Callable[[Any], str]
    identity: Callable[[Any], dict[str, object]]
    body: Callable[[Any], Body]
    # identity columns holding a natural key that the ingest resolves to an id
    references: Mapping[str, str] = field(default_factory=lambda: _ABOUT)

    @property
    def golden_columns(self) -> list[str]:
        fixed = {"id", self.key_column, "active", "updated_at", "name_search"}
        fixed |= set(self.identity_columns)
        return [c.name for c in self.table.columns if c.name not in fixed]

    @property
    def identity_columns(self) -> list[str]:
        return _IDENTITY_COLUMNS[self.name]


def _text(value: object) -> JsonValue:
    if value is None:
        return None
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return str(value)


def _compact(values: dict[str, object]) -> Body:
    """Drop absent scalars so a lower-precedence source can fill them; keep lists as given."""
    out: Body = {}
    for name, value in values.items():
        if isinstance(value, list):
            out[name] = [str(v) for v in value]
        elif value is not None:
            out[name] = value if isinstance(value, bool) else _text(value)
    return out


def _period(record: Any) -> dict[str, object]:
    return {"valid_from": record.valid_from, "valid_to": record.valid_to}


# --- institution ---------------------------------------------------------------------------


def _institution_body(r: InstitutionRecord) -> Body:
    capital = r.registered_capital
    return _compact(
        {
            "name": r.name,
            "former_names": r.former_names,
            "enterprise_type": r.enterprise_type,
            "registered_capital": capital.amount if capital else None,
            "capital_currency": capital.currency if capital else None,
            "established": r.established,
            "term_start": r.term_start,
            "term_end": r.term_end,
            "registration_authority": r.registration_authority,
            "status": r.status.value,
            "status_date": r.status_date,
            "address": r.address,
            "division": r.division or identifiers.parse_uscc(r.uscc).division,
            "operating_addresses": r.operating_addresses,
            "business_scope": r.business_scope,
            "legacy_registration_number": r.legacy_registration_number,
            "valid_from": r.valid_from,
        }
    )


# --- shareholding --------------------------------------------------------------------------


def holder_key(holder: PartyRef) -> str:
    if holder.kind is PartyKind.INSTITUTION:
        return f"institution:{holder.uscc}"
    if holder.kind is PartyKind.PERSON:
        assert holder.person is not None
        return f"person:{holder.person.key}"
    return f"{holder.kind.value}:{holder.name or ''}"


def _holding_identity(r: ShareholdingRecord) -> dict[str, object]:
    holder = r.holder
    return {
        "institution_id": r.institution,
        "holder_kind": holder.kind.value,
        "holder_institution_id": holder.uscc,
        "holder_person_id": holder.person.key if holder.person else None,
        "holder_name": holder.name or (holder.person.name if holder.person else None),
    }


def _holding_body(r: ShareholdingRecord) -> Body:
    share = r.share
    return _compact(
        {
            "share_exact": share.exact if share else None,
            "share_min": share.min if share else None,
            "share_max": share.max if share else None,
            "share_min_inclusive": share.min_inclusive if share else None,
            "share_max_inclusive": share.max_inclusive if share else None,
            "subscribed_amount": r.subscribed.amount if r.subscribed else None,
            "subscribed_currency": r.subscribed.currency if r.subscribed else None,
            "subscribed_date": r.subscribed_date,
            "paid_in_amount": r.paid_in.amount if r.paid_in else None,
            "paid_in_currency": r.paid_in.currency if r.paid_in else None,
            "paid_in_date": r.paid_in_date,
            "contribution_method": r.contribution_method,
            "interests": [i.value for i in r.interests],
            **_period(r),
        }
    )


# --- the rest ------------------------------------------------------------------------------


def _position_identity(r: PositionRecord) -> dict[str, object]:
    return {"institution_id": r.institution, "person_id": r.person.key, "role": r.role.value}


def _licence_identity(r: LicenceRecord) -> dict[str, object]:
    return {
        "institution_id": r.institution,
        "licence_type": r.licence_type.value,
        "number": r.number,
    }


def _licence_body(r: LicenceRecord) -> Body:
    return _compact(
        {
            "issuer": r.issuer.value,
            "business_types": r.business_types,
            "coverage": r.coverage,
            "status": r.status.value,
            **_period(r),
        }
    )


def _website_key(r: WebsiteRecord) -> str:
    name = r.filing_number or r.domain or r.app_name
    return f"{r.institution}|{r.kind.value}|{name}"


def _website_body(r: WebsiteRecord) -> Body:
    return _compact(
        {
            "filing_number": r.filing_number,
            "domain": r.domain,
            "app_name": r.app_name,
            "status": r.status.value,
            **_period(r),
        }
    )


def _classification_body(r: ClassificationRecord) -> Body:
    return _compact(
        {
            "nature": r.nature,
            "remediation_class": r.remediation_class.value if r.remediation_class else None,
            "reasons": r.reasons,
            **_period(r),
        }
    )


def _list_entry_body(r: ListEntryRecord) -> Body:
    return _compact(
        {
            "reason": r.reason,
            "authority": r.authority,
            "removed_on": r.removed_on,
            "removal_reason": r.removal_reason,
            **_period(r),
        }
    )


def _branch_body(r: BranchRecord) -> Body:
    return _compact(
        {
            "branch_name": r.branch_name,
            "registration_authority": r.registration_authority,
            "established": r.established,
            **_period(r),
        }
    )


def _account_body(r: AccountRecord) -> Body:
    return _compact(
        {
            "bank": r.bank,
            "bank_uscc": r.bank_uscc,
            "holder_name": r.holder_name,
            "currency": r.currency,
            "opened_on": r.opened_on,
            "closed_on": r.closed_on,
            "balance": r.balance.amount if r.balance else None,
            "balance_currency": r.balance.currency if r.balance else None,
            "balance_date": r.balance_date,
            **_period(r),
        }
    )


def _about(r: Any) -> dict[str, object]:
    return {"institution_id": r.institution}


_IDENTITY_COLUMNS: dict[str, list[str]] = {
    "institution": ["uscc", "pilot_uscc", "mentioned_only"],
    "shareholding": [
        "institution_id",
        "holder_kind",
        "holder_institution_id",
        "holder_person_id",
        "holder_name",
    ],
    "position": ["institution_id", "person_id", "role"],
    "licence": ["institution_id", "licence_type", "number"],
    "website": ["institution_id", "kind"],
    "classification": ["institution_id", "domain"],
    "list_entry": ["institution_id", "list", "listed_on"],
    "branch": ["institution_id", "branch_uscc"],
    "account": ["institution_id", "kind", "number"],
}

KINDS: dict[type[Any], Kind] = {
    InstitutionRecord: Kind(
        name="institution",
        table=tables.institution,
        key_column="uscc",
        key=lambda r: r.uscc,
        identity=lambda r: {
            "uscc": r.uscc,
            "pilot_uscc": identifiers.parse_uscc(r.uscc).pilot_check_failure,
            "mentioned_only": False,
        },
        references={},
        body=_institution_body,
    ),
    ShareholdingRecord: Kind(
        name="shareholding",
        table=tables.holding,
        key_column="key",
        key=lambda r: f"{r.institution}|{holder_key(r.holder)}",
        identity=_holding_identity,
        body=_holding_body,
        references={
            **_ABOUT,
            "holder_institution_id": "institution",
            "holder_person_id": "person",
        },
    ),
    PositionRecord: Kind(
        name="position",
        table=tables.position,
        key_column="key",
        key=lambda r: f"{r.institution}|{r.person.key}|{r.role.value}",
        identity=_position_identity,
        body=lambda r: _compact({"title": r.title, **_period(r)}),
        references={**_ABOUT, "person_id": "person"},
    ),
    LicenceRecord: Kind(
        name="licence",
        table=tables.licence,
        key_column="key",
        key=lambda r: f"{r.institution}|{r.licence_type.value}|{r.number}",
        identity=_licence_identity,
        body=_licence_body,
    ),
    WebsiteRecord: Kind(
        name="website",
        table=tables.website,
        key_column="key",
        key=_website_key,
        identity=lambda r: {**_about(r), "kind": r.kind.value},
        body=_website_body,
    ),
    ClassificationRecord: Kind(
        name="classification",
        table=tables.classification,
        key_column="key",
        key=lambda r: f"{r.institution}|{r.domain.value}",
        identity=lambda r: {**_about(r), "domain": r.domain.value},
        body=_classification_body,
    ),
    ListEntryRecord: Kind(
        name="list_entry",
        table=tables.list_entry,
        key_column="key",
        key=lambda r: f"{r.institution}|{r.list.value}|{r.listed_on.isoformat()}",
        identity=lambda r: {
            **_about(r),
            "list": r.list.value,
            "listed_on": r.listed_on,
        },
        body=_list_entry_body,
    ),
    BranchRecord: Kind(
        name="branch",
        table=tables.branch,
        key_column="key",
        key=lambda r: f"{r.institution}|{r.branch_uscc or r.branch_name}",
        identity=lambda r: {**_about(r), "branch_uscc": r.branch_uscc},
        body=_branch_body,
    ),
    AccountRecord: Kind(
        name="account",
        table=tables.account,
        key_column="key",
        key=lambda r: f"{r.institution}|{r.kind.value}|{r.bank}|{r.number}",
        identity=lambda r: {**_about(r), "kind": r.kind.value, "number": r.number},
        body=_account_body,
    ),
}

KINDS_BY_NAME: dict[str, Kind] = {k.name: k for k in KINDS.values()}


def persons_named(record: Any) -> list[PersonRef]:
    if isinstance(record, PositionRecord):
        return [record.person]
    if isinstance(record, ShareholdingRecord) and record.holder.person is not None:
        return [record.holder.person]
    return []


def institutions_named(record: Any) -> tuple[str | None, list[PartyRef]]:
    """The institution a record is about, and the institutions it names as holders."""
    if isinstance(record, InstitutionRecord):
        return None, []
    holders = (
        [record.holder] if isinstance(record, ShareholdingRecord) and record.holder.uscc else []
    )
    return record.institution, holders
