"""GraphQL enums: the ingest contract's own enums, registered with their descriptions, so the
API and the feeds share one vocabulary. Import this module before building the schema."""

from __future__ import annotations

from enum import EnumMeta

import strawberry

from registry import lookthrough, records

_DESCRIPTIONS: dict[EnumMeta, str | None] = {
    records.Source: "An agency feed, or the leading group.",
    records.PartyKind: "What kind of party holds an interest.",
    records.InterestType: "A kind of interest one party has in an institution.",
    records.Role: "A post held in an institution.",
    records.LicenceType: None,
    records.AccountKind: "备付金 RESERVE, 存管 CUSTODY, SETTLEMENT, OWN.",
    records.LicenceStatus: None,
    records.WebsiteKind: None,
    records.WebsiteStatus: None,
    records.BusinessDomain: "A business domain under internet-finance remediation.",
    records.RemediationClass: "合规类 compliant, 整改类 rectify, 取缔类 ban.",
    records.ListKind: "经营异常名录 abnormal operation, 严重违法失信名单 serious violation.",
    lookthrough.EndKind: "Where an ownership or control path ends.",
    lookthrough.ControlRule: "Why a party controls an institution.",
    lookthrough.HolderKind: "What kind of ultimate holder.",
    lookthrough.Relation: "How two parties are tied: a holding or a post.",
    records.InstitutionStatus: "登记状态: 存续 ACTIVE, 在业 OPERATING, 吊销 REVOKED, "
    "注销 CANCELLED, 迁出 MOVED_OUT, 撤销 WITHDRAWN, 停业 SUSPENDED.",
}

for _enum, _description in _DESCRIPTIONS.items():
    strawberry.enum(_enum, description=_description)
