"""The access log for auditors: who saw what, searched over GraphQL (scope audit:read)."""

from __future__ import annotations

import datetime as dt
from enum import Enum
from typing import Annotated

import strawberry

from registry import audit
from schema.context import Info
from schema.scopes import requires


@strawberry.enum(description="How an access ended.")
class AccessOutcome(Enum):
    OK = "ok"
    REFUSED = "refused"
    ERROR = "error"


@strawberry.type(
    description="One access-log entry. Never the values read: subjects and variables appear as "
    "keyed hashes; search by subject with the USCC or person id in clear.",
    directives=[requires("audit:read")],
)
class AccessLogEntry:
    id: strawberry.ID
    recorded_at: dt.datetime
    at: dt.datetime
    request_id: str
    kind: str
    outcome: AccessOutcome
    status: int
    trace_id: str | None
    client_id: str | None
    agency: str | None
    end_user: str | None
    case_reference: str | None
    purpose: str | None
    operation_name: str | None
    document_hash: str | None
    variables_hash: str | None
    fields_read: list[str]
    fields_denied: list[str]
    subjects: list[str]
    legal_basis_id: strawberry.ID | None
    codes: list[str]
    row_count: int | None


@strawberry.type(directives=[requires("audit:read")])
class AccessLogPage:
    entries: list[AccessLogEntry]
    has_next_page: bool
    end_cursor: str | None


def _entry(item: audit.LoggedAccess) -> AccessLogEntry:
    e = item.entry
    return AccessLogEntry(
        id=strawberry.ID(str(item.id)),
        recorded_at=item.recorded_at,
        at=e.at,
        request_id=e.request_id,
        kind=e.kind,
        outcome=AccessOutcome(e.outcome),
        status=e.status,
        trace_id=e.trace_id,
        client_id=e.client_id,
        agency=e.agency,
        end_user=e.end_user,
        case_reference=e.case_reference,
        purpose=e.purpose,
        operation_name=e.operation_name,
        document_hash=e.document_hash,
        variables_hash=e.variables_hash,
        fields_read=e.fields_read,
        fields_denied=e.fields_denied,
        subjects=e.subjects,
        legal_basis_id=strawberry.ID(str(e.legal_basis_id)) if e.legal_basis_id else None,
        codes=e.codes,
        row_count=e.row_count,
    )


@strawberry.type
class AuditQuery:
    @strawberry.field(
        description="Search the access log, oldest first: e.g. who looked at this company in "
        "March (subject + since/until). Every filter given must match.",
        directives=[requires("audit:read")],
    )
    async def access_log(
        self,
        info: Info,
        client_id: str | None = None,
        agency: str | None = None,
        subject: Annotated[
            str | None, strawberry.argument(description="A USCC, or person:<id>.")
        ] = None,
        field: Annotated[
            str | None,
            strawberry.argument(description="A coordinate, e.g. Institution.shareholders."),
        ] = None,
        outcome: AccessOutcome | None = None,
        since: dt.datetime | None = None,
        until: dt.datetime | None = None,
        legal_basis_id: strawberry.ID | None = None,
        first: int = 50,
        after: str | None = None,
    ) -> AccessLogPage:
        async with info.context.pool.acquire() as conn:
            page = await audit.search(
                conn,
                client_id=client_id,
                agency=agency,
                subject=subject,
                field=field,
                outcome=outcome.value if outcome else None,
                since=since,
                until=until,
                legal_basis_id=int(str(legal_basis_id)) if legal_basis_id else None,
                first=first,
                after=after,
            )
        return AccessLogPage(
            entries=[_entry(item) for item in page.items],
            has_next_page=page.has_next,
            end_cursor=page.end_cursor,
        )
