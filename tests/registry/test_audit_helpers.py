"""Shared by the access-log tests (named test_audit_* only so it lives beside them): entries
to log, and reading and rewriting an export the way a tamperer would."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import asyncpg
import orjson

from registry.audit import AccessEntry, append, entry_hash, export

T0 = dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC)


def make_entry(n: int, **overrides: Any) -> AccessEntry:
    values: dict[str, Any] = {
        "at": T0 + dt.timedelta(seconds=n),
        "request_id": f"req-{n}",
        "kind": "graphql",
        "outcome": "ok",
        "status": 200,
        "client_id": "pboc-fintech",
        "agency": "PBOC",
        "operation_name": "Dossier",
        "document_hash": "ab" * 32,
        "fields_read": ["Institution.name"],
    }
    values.update(overrides)
    return AccessEntry(**values)


async def append_many(pool: asyncpg.Pool, start: int, stop: int) -> list[int]:
    async with pool.acquire() as conn:
        return [await append(conn, make_entry(n)) for n in range(start, stop)]


async def exported(pool: asyncpg.Pool, since_id: int | None = None) -> list[dict[str, Any]]:
    out = io.StringIO()
    async with pool.acquire() as conn:
        await export(conn, out, since_id)
    return [orjson.loads(line) for line in out.getvalue().splitlines()]


def lines(records: list[dict[str, Any]]) -> list[str]:
    return [orjson.dumps(r).decode() for r in records]


def entry_at(records: list[dict[str, Any]], entry_id: int) -> dict[str, Any]:
    return next(r for r in records if r["type"] == "entry" and r["id"] == entry_id)


def rehash_from(records: list[dict[str, Any]], start: int) -> None:
    """Recompute every hash from the entry at index `start` on, as a forger with write access
    (but no signing key) would, so the chain is consistent again."""
    entries = [r for r in records if r["type"] == "entry"]
    for i, record in enumerate(entries):
        if i < start:
            continue
        prev = bytes.fromhex(entries[i - 1]["entry_hash"]) if i else None
        record["prev_hash"] = prev.hex() if prev else None
        record["entry_hash"] = entry_hash(prev, record["canonical"]).hex()
