"""What the benchmarks of the secured path share: a client, a token, and the access log.

- `bench_client`: the OAuth client a benchmark calls as, found by its name and reused run
  after run (with a fresh secret when the caller needs one), else registered;
- `mint`: an access token signed with the database's current key, as the token endpoint
  would issue it (`registry clients token` does the same);
- `count_entries` / `settled_count`: rows in `access_log`, read before and after a load run
  to compare with the answers the load generator received (`entries_report`);
- `LockSampler`: samples `pg_stat_activity` while load runs, to see how much the
  access-log append serialises. `registry_append_access_log` (migration 0002) takes one
  advisory lock for the whole chain and keeps it until its transaction has committed, so
  every append — across all workers — waits for the one before it, WAL flush included.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
import time
from dataclasses import dataclass, field
from types import TracebackType

import asyncpg

from auth import clients, keys
from auth.tokens import issue

ACCESS_LOG_TABLES = ("access_log", "oauth_client", "signing_key")

# Sessions inside the append (holding the chain lock or waiting for it), and among them
# those waiting for the lock and those waiting for the WAL (the commit's flush).
LOCK_SAMPLE_SQL = """
SELECT count(*) AS appending,
       count(*) FILTER (WHERE wait_event_type = 'Lock' AND wait_event = 'advisory') AS waiting,
       count(*) FILTER (WHERE wait_event_type = 'IO' OR wait_event LIKE 'WAL%') AS on_wal
FROM pg_stat_activity
WHERE datname = current_database() AND pid <> pg_backend_pid() AND state = 'active'
  AND query LIKE '%registry_append_access_log%'
"""


async def missing_tables(conn: asyncpg.Connection) -> list[str]:
    """The access tables (migration 0002) this database lacks."""
    return [
        t for t in ACCESS_LOG_TABLES if await conn.fetchval("SELECT to_regclass($1)", t) is None
    ]


async def bench_client(
    conn: asyncpg.Connection, *, agency: str, name: str, with_secret: bool
) -> tuple[clients.Client, str | None]:
    """The active client called `name`, else a new one; `with_secret`: a secret for it (the
    old one is replaced: secrets are stored hashed, so a reused client gets a new one)."""
    found = next(
        (
            c
            for c in await clients.all_clients(conn)
            if c.name == name and c.agency == agency and not c.revoked
        ),
        None,
    )
    if found is None:
        return await clients.add(conn, agency=agency, name=name)
    if not with_secret:
        return found, None
    return found, await clients.rotate_secret(conn, found.client_id)


async def mint(
    conn: asyncpg.Connection,
    client: clients.Client,
    *,
    issuer: str,
    audience: str,
    ttl: dt.timedelta,
) -> str:
    """An access token for `client` with all its agency's scopes."""
    signing = await keys.load(conn, ttl)
    answer = issue(signing, client, requested=None, issuer=issuer, audience=audience, ttl=ttl)
    return str(answer["access_token"])


async def count_entries(url: str) -> int:
    conn = await asyncpg.connect(url)
    try:
        counted: int = await conn.fetchval("SELECT count(*) FROM access_log")
        return counted
    finally:
        await conn.close()


def settled_count(url: str, *, pause: float = 0.5, timeout: float = 15.0) -> int:
    """The entry count once it stops moving: a request still in the server when the load
    generator stopped writes its entry a little later."""

    async def settle() -> int:
        deadline = time.monotonic() + timeout
        last = await count_entries(url)
        while time.monotonic() < deadline:
            await asyncio.sleep(pause)
            now = await count_entries(url)
            if now == last:
                break
            last = now
        return last

    return asyncio.run(settle())


def entries_report(
    *, entries: int, warmup_answers: int, answers: int, unanswered_bound: int
) -> tuple[list[str], bool]:
    """Compare the entries written with the answers received; returns lines and whether
    they agree (no answer without its entry, and no more extra entries than requests the
    load generator left unanswered when it stopped)."""
    total = warmup_answers + answers
    extra = entries - total
    lines = [
        f"access log: {entries:,} entries written while the load generator ran (warm-up "
        "included: rows counted before the warm-up and after the measured run, once the "
        "count had settled)",
        f"  answers received: {warmup_answers:,} warm-up + {answers:,} measured = {total:,}; "
        f"entries - answers = {extra:+,}",
    ]
    if extra < 0:
        lines.append("  MISMATCH: fewer entries than answers: some answers have no entry")
        return lines, False
    if extra > unanswered_bound:
        lines.append(
            f"  MISMATCH: more extra entries than requests left unanswered (at most "
            f"{unanswered_bound:,}): another writer on this database, or requests lost"
        )
        return lines, False
    lines.append(
        f"  match: every answer has its entry; the {extra:,} extra are requests in flight when "
        f"a load-generator run stopped (at most {unanswered_bound:,}: connections x runs, "
        "plus socket errors), answered by the server but no longer read"
    )
    return lines, True


@dataclass
class LockStats:
    interval: float
    seconds: float = 0.0
    samples: int = 0
    held: int = 0  # samples with an append inside the lock
    waiting: int = 0  # sum over samples of appends waiting for the lock
    on_wal: int = 0  # samples where an append waited for the WAL (its commit)
    error: str | None = None

    def lines(self, entries: int) -> list[str]:
        if self.error:
            return [f"access-log lock: sampling failed: {self.error}"]
        if not self.samples:
            return ["access-log lock: no samples"]
        mean_waiting = self.waiting / self.samples
        rate = entries / self.seconds if self.seconds > 0 else 0.0
        # Little's law: mean number waiting = arrival rate x mean wait
        wait_ms = mean_waiting / rate * 1000 if rate > 0 else 0.0
        return [
            f"access-log lock (pg_stat_activity every {self.interval * 1000:.0f} ms, "
            f"{self.samples:,} samples over {self.seconds:.1f} s, {rate:,.0f} appends/s): "
            f"held in {self.held / self.samples * 100:.0f} % of samples, {mean_waiting:.2f} "
            f"appends waiting on average = {wait_ms:.2f} ms waited per entry; an append was "
            f"waiting for its WAL flush in {self.on_wal / self.samples * 100:.0f} % of samples",
        ]


@dataclass
class LockSampler:
    """Samples, in a thread of its own, the appends inside `registry_append_access_log`."""

    url: str
    interval: float = 0.05  # costs about 1 % of one CPU, in this process
    stats: LockStats = field(init=False)
    _stop: threading.Event = field(init=False, default_factory=threading.Event)
    _thread: threading.Thread | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        self.stats = LockStats(interval=self.interval)

    async def _sample(self) -> None:
        conn = await asyncpg.connect(self.url)
        started = time.monotonic()
        try:
            while not self._stop.is_set():
                row = await conn.fetchrow(LOCK_SAMPLE_SQL)
                self.stats.samples += 1
                self.stats.held += row["appending"] - row["waiting"] > 0
                self.stats.waiting += row["waiting"]
                self.stats.on_wal += row["on_wal"] > 0
                await asyncio.sleep(self.interval)
        finally:
            self.stats.seconds = time.monotonic() - started
            await conn.close()

    def _run(self) -> None:
        try:
            asyncio.run(self._sample())
        except Exception as exc:  # the benchmark goes on; the report says sampling failed
            self.stats.error = f"{type(exc).__name__}: {exc}"

    def __enter__(self) -> LockSampler:
        self._thread = threading.Thread(target=self._run, name="lock-sampler", daemon=True)
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)


def unanswered_bound(clients: int, runs: int, socket_errors: int) -> int:
    return clients * runs + socket_errors
