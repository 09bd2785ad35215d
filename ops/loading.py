"""Pushing many batches through the ingest, preparing the next while the last is applied.

`prepare` is pure Python and `apply` mostly waits on PostgreSQL, so a worker thread that
validates batch N+1 during the apply of batch N keeps both cores busy.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import asyncpg

from registry.ingest import BatchKind, BatchReport, Prepared, apply, prepare
from registry.records import Source

Batch = tuple[Source, list[Any]]


async def apply_batches(
    pool: asyncpg.Pool,
    batches: Iterator[Batch],
    *,
    batch_ref: Callable[[int, Source], str],
    kind: BatchKind = "delta",
    progress: Callable[[int], object] = lambda n: None,
) -> list[BatchReport]:
    loop = asyncio.get_running_loop()

    def prepare_next() -> tuple[Source, int, Prepared] | None:
        item = next(batches, None)
        if item is None:
            return None
        source, records = item
        return source, len(records), prepare(enumerate(records, 1))

    reports = []
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="prepare") as worker:
        pending = loop.run_in_executor(worker, prepare_next)
        index = 0
        while (current := await pending) is not None:
            pending = loop.run_in_executor(worker, prepare_next)
            source, size, prepared = current
            async with pool.acquire() as conn:
                report = await apply(
                    conn, prepared, source=source, batch_ref=batch_ref(index, source), kind=kind
                )
            reports.append(report)
            progress(size)
            index += 1
    return reports
