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


Pending = tuple[AccessEntry, "asyncio.Future[None]"]


class AccessLog:
    """The service's writer: keys loaded once, checkpoints signed in the background.

    Entries of concurrent requests are appended together (group commit): one writer task
    per process takes whatever has queued while the last batch was written and appends it
    under one lock and one commit. Each request still waits until its own entry is
    committed, so nothing is answered before it is recorded.
    """

    MAX_BATCH = 256

    def __init__(self, pool: asyncpg.Pool, *, enabled: bool) -> None:
        self.pool = pool
        self.enabled = enabled
        self._keys: AuditKeys | None = None
        self._checkpoints: asyncio.Task[None] | None = None
        self._queue: asyncio.Queue[Pending] = asyncio.Queue()
        self._writer: asyncio.Task[None] | None = None

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
        self._writer = asyncio.create_task(self._write_batches())

    async def close(self) -> None:
        for task in (self._checkpoints, self._writer):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        while not self._queue.empty():
            _, pending = self._queue.get_nowait()
            pending.set_exception(audit.AccessLogUnavailable("the service is stopping"))
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
        """Return once the entry is committed, or raise AccessLogUnavailable: the caller
        must then withhold the answer."""
        if not self.enabled:
            return
        if self._writer is None or self._writer.done():
            raise audit.AccessLogUnavailable("the access-log writer is not running")
        committed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        await self._queue.put((entry, committed))
        await committed

    async def _write_batches(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < self.MAX_BATCH and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                async with self.pool.acquire() as conn:
                    await audit.append_many(conn, [entry for entry, _ in batch])
            except Exception as exc:  # no connection, pool closed, refused: none written
                failure = (
                    exc
                    if isinstance(exc, audit.AccessLogUnavailable)
                    else audit.AccessLogUnavailable(f"the access log is unreachable: {exc}")
                )
                for _, committed in batch:
                    if not committed.done():
                        committed.set_exception(failure)
            else:
                for _, committed in batch:
                    if not committed.done():
                        committed.set_result(None)

    def entry(self, **fields: Any) -> AccessEntry:
        return AccessEntry(at=dt.datetime.now(dt.UTC), **fields)
