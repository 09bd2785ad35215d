"""Writing the access log from the request path: one entry per GraphQL operation and per
token request, refused ones included, written before the answer leaves. If it cannot be
written, the answer is withheld (fail closed)."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Iterable, Mapping
from typing import Any

import asyncpg

from registry import audit
from registry.audit import AccessEntry, AuditKeys

log = logging.getLogger("registry.access_log")

REFUSALS = frozenset({"INSUFFICIENT_SCOPE", "LEGAL_BASIS_REQUIRED", "UNAUTHENTICATED", "FORBIDDEN"})
UNAVAILABLE = "ACCESS_LOG_UNAVAILABLE"


def outcome(codes: Iterable[str]) -> str:
    found = set(codes)
    if "INTERNAL_SERVER_ERROR" in found:
        return "error"
    return "refused" if found & REFUSALS else "ok"


def who_asks(headers: Mapping[str, str]) -> dict[str, str | None]:
    """What the calling system says about the person and case behind a request."""
    traceparent = headers.get("traceparent", "")
    parts = traceparent.split("-")
    return {
        "end_user": headers.get("x-end-user"),
        "case_reference": headers.get("x-case-reference"),
        "purpose": headers.get("x-purpose"),
        "trace_id": parts[1] if len(parts) == 4 else None,
    }


class AccessLog:
    """The service's writer: keys loaded once, checkpoints signed in the background."""

    def __init__(self, pool: asyncpg.Pool, *, enabled: bool) -> None:
        self.pool = pool
        self.enabled = enabled
        self._keys: AuditKeys | None = None
        self._checkpoints: asyncio.Task[None] | None = None

    @property
    def keys(self) -> AuditKeys:
        assert self._keys is not None, "the access log opens with the application"
        return self._keys

    async def open(self, checkpoint_every: float = 30.0) -> None:
        if not self.enabled:
            return
        async with self.pool.acquire() as conn:
            self._keys = await audit.audit_keys(conn)
        self._checkpoints = asyncio.create_task(self._sign_checkpoints(checkpoint_every))

    async def close(self) -> None:
        if self._checkpoints is not None:
            self._checkpoints.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._checkpoints
        if self.enabled:
            with contextlib.suppress(Exception):
                async with self.pool.acquire() as conn:
                    await audit.checkpoint(conn, self.keys)

    async def _sign_checkpoints(self, every: float) -> None:
        while True:
            await asyncio.sleep(every)
            try:
                async with self.pool.acquire() as conn:
                    await audit.maybe_checkpoint(conn, self.keys)
            except Exception:  # the next round tries again; the chain itself is intact
                log.exception("signing an access-log checkpoint failed")

    def subjects(self, values: Iterable[str]) -> list[str]:
        return sorted({self.keys.subject(v) for v in values})

    async def write(self, entry: AccessEntry) -> None:
        """Append, or raise AccessLogUnavailable: the caller must then withhold the answer."""
        if not self.enabled:
            return
        try:
            async with self.pool.acquire() as conn:
                await audit.append(conn, entry)
        except audit.AccessLogUnavailable:
            raise
        except Exception as exc:  # no connection, pool closed: the entry was not written
            raise audit.AccessLogUnavailable(f"the access log is unreachable: {exc}") from exc

    def entry(self, **fields: Any) -> AccessEntry:
        return AccessEntry(at=dt.datetime.now(dt.UTC), **fields)
