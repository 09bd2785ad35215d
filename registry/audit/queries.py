"""Searching the access log for auditors: who read what about whom, when, and why.

Equality filters become one jsonb containment (`entry @> ...`), which the GIN
`jsonb_path_ops` index on `access_log.entry` answers; the time range uses the indexed `at`
column (when the database recorded the entry, within milliseconds of the entry's own `at`).
Pages run in id order with a keyset cursor.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import asyncpg
import orjson

from registry.audit.entry import AccessEntry, Outcome, keyed_hash
from registry.audit.keys import AuditKeys, hmac_key
from registry.errors import InvalidCursor
from registry.search import check_page_size, decode_cursor, encode_cursor

PAGE_MAX = 500
_CURSOR = "access"


@dataclass(frozen=True)
class LoggedAccess:
    id: int
    recorded_at: dt.datetime
    entry: AccessEntry
    cursor: str


@dataclass(frozen=True)
class AccessPage:
    items: list[LoggedAccess]
    has_next: bool
    end_cursor: str | None


def _after(cursor: str) -> int:
    parts = decode_cursor(cursor, _CURSOR)
    if len(parts) != 1 or not isinstance(parts[0], int) or isinstance(parts[0], bool):
        raise InvalidCursor("the cursor is not one this search issued; restart from the start")
    return parts[0]


async def search(
    conn: asyncpg.Connection,
    *,
    client_id: str | None = None,
    agency: str | None = None,
    subject: str | None = None,
    field: str | None = None,
    outcome: Outcome | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    legal_basis_id: int | None = None,
    first: int = 50,
    after: str | None = None,
    keys: AuditKeys | None = None,
) -> AccessPage:
    """Entries matching every filter given, oldest first.

    `subject` is the raw subject id or USCC, exactly as the writer hashed it; it is hashed
    here with the audit HMAC key (from `keys`, or read from the database). `field` matches a
    coordinate such as `Institution.shareholders` whether it was read or denied. `since` is
    inclusive, `until` exclusive. `first` is at most 500 (`PageSizeTooLarge` otherwise).
    """
    check_page_size(first, PAGE_MAX)
    contains: dict[str, Any] = {}
    if client_id is not None:
        contains["client_id"] = client_id
    if agency is not None:
        contains["agency"] = agency
    if outcome is not None:
        contains["outcome"] = outcome
    if legal_basis_id is not None:
        contains["legal_basis_id"] = legal_basis_id
    if subject is not None:
        key = keys.hmac_key if keys is not None else await hmac_key(conn)
        if key is None:
            # no key yet means no entry has ever named a subject
            return AccessPage([], has_next=False, end_cursor=None)
        contains["subjects"] = [keyed_hash(key, subject)]

    where: list[str] = []
    params: list[Any] = []

    def param(value: Any) -> str:
        params.append(value)
        return f"${len(params)}"

    def json_param(value: dict[str, Any]) -> str:
        # passed as text: right whether or not the connection has a jsonb codec
        return f"{param(orjson.dumps(value).decode())}::text::jsonb"

    if contains:
        where.append(f"entry @> {json_param(contains)}")
    if field is not None:
        where.append(
            f"(entry @> {json_param({'fields_read': [field]})} "
            f"OR entry @> {json_param({'fields_denied': [field]})})"
        )
    if since is not None:
        where.append(f"at >= {param(since)}")
    if until is not None:
        where.append(f"at < {param(until)}")
    if after is not None:
        where.append(f"id > {param(_after(after))}")
    rows = await conn.fetch(
        f"SELECT id, at, canonical FROM access_log WHERE {' AND '.join(where) or 'TRUE'} "
        f"ORDER BY id LIMIT {param(first + 1)}",
        *params,
    )
    items = [
        LoggedAccess(
            id=row["id"],
            recorded_at=row["at"],
            entry=AccessEntry.from_canonical(row["canonical"]),
            cursor=encode_cursor(_CURSOR, row["id"]),
        )
        for row in rows[:first]
    ]
    return AccessPage(
        items, has_next=len(rows) > first, end_cursor=items[-1].cursor if items else None
    )
