"""GraphQL enums, taken from the ingest contract so the API and the feeds share one vocabulary."""

from __future__ import annotations

import strawberry

from registry import records

Source = strawberry.enum(records.Source, description="An agency feed, or the leading group.")
PartyKind = strawberry.enum(records.PartyKind)
InterestType = strawberry.enum(
    records.InterestType, description="A kind of interest one party has in an institution."
)
Role = strawberry.enum(records.Role, description="A post held in an institution.")
LicenceType = strawberry.enum(records.LicenceType)
LicenceStatus = strawberry.enum(records.LicenceStatus)
WebsiteKind = strawberry.enum(records.WebsiteKind)
WebsiteStatus = strawberry.enum(records.WebsiteStatus)
BusinessDomain = strawberry.enum(
    records.BusinessDomain, description="A business domain under internet-finance remediation."
)
RemediationClass = strawberry.enum(
    records.RemediationClass, description="合规类 compliant, 整改类 rectify, 取缔类 ban."
)
ListKind = strawberry.enum(
    records.ListKind, description="经营异常名录 abnormal operation, 严重违法失信名单 serious violation."
)
InstitutionStatus = strawberry.enum(
    records.InstitutionStatus,
    description="登记状态: 存续 ACTIVE, 在业 OPERATING, 吊销 REVOKED, 注销 CANCELLED, "
    "迁出 MOVED_OUT, 撤销 WITHDRAWN, 停业 SUSPENDED.",
)
