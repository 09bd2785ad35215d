"""Writing the access log, signing checkpoints of its head, and exporting it for auditors.

The chain itself is built in the database (`registry_append_access_log`, migration 0002),
under a lock, so concurrent writers from any number of processes extend one chain. Triggers
refuse UPDATE, DELETE and TRUNCATE on `access_log` and `access_checkpoint`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TextIO

import asyncpg
import orjson

from registry.audit.chain import FORMAT, checkpoint_message, entry_hash
from registry.audit.entry import AccessEntry, canonical
from registry.audit.keys import AuditKeys, current_signing_key, public_keys
from registry.errors import RegistryError

# serialises checkpoint writers so two workers never sign the same head twice
_CHECKPOINT_LOCK = "SELECT pg_advisory_xact_lock(hashtext('registry_access_checkpoint'))"


class AccessLogUnavailable(RegistryError):
    """The entry could not be written; the answer it records must not be sent."""

    code = "ACCESS_LOG_UNAVAILABLE"


class AccessLogTampered(RegistryError):
    """The stored chain does not verify: nothing more is signed until someone looks."""

    code = "ACCESS_LOG_TAMPERED"


async def append(conn: asyncpg.Connection, entry: AccessEntry) -> int:
    """Append one entry to the chain and return its id; raises `AccessLogUnavailable`.

    Call it outside any longer transaction (or commit right after): the chain lock is held
    until the transaction ends, and an entry rolled back with its caller was never written.
    """
    text = canonical(entry)
    try:
        appended = await conn.fetchval("SELECT registry_append_access_log($1)", text)
    except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as exc:
        raise AccessLogUnavailable(f"the access log refused the entry: {exc}") from exc
    if appended is None:
        raise AccessLogUnavailable("the access log returned no id for the entry")
    return int(appended)


async def append_many(conn: asyncpg.Connection, entries: Sequence[AccessEntry]) -> list[int]:
    """Append entries in the order given, under one lock and one commit; all or none.

    Same chaining as `append`; for a writer that gathers the entries of concurrent
    requests so they share the lock and the WAL flush."""
    texts = [canonical(entry) for entry in entries]
    try:
        appended = await conn.fetchval("SELECT registry_append_access_log_batch($1)", texts)
    except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as exc:
        raise AccessLogUnavailable(f"the access log refused the entries: {exc}") from exc
    if appended is None or len(appended) != len(entries):
        raise AccessLogUnavailable("the access log did not return an id for every entry")
    return [int(i) for i in appended]


@dataclass(frozen=True)
class Checkpoint:
    id: int
    log_id: int  # the entry whose hash is the signed head
    head_hash: str  # hex
    kid: str
    signature: str  # hex Ed25519 signature of checkpoint_message(log_id, head_hash)
    signed_at: dt.datetime


async def _check_unsigned(
    conn: asyncpg.Connection, last: asyncpg.Record | None, head_id: int
) -> None:
    """Recompute the chain from the last checkpoint to the head before signing it, so that a
    row changed behind the triggers' back (by a superuser) is refused, not signed."""
    prev: bytes | None = None if last is None else bytes(last["head_hash"])
    async for row in conn.cursor(
        """SELECT id, canonical, prev_hash, entry_hash FROM access_log
           WHERE id > $1 AND id <= $2 ORDER BY id""",
        0 if last is None else last["log_id"],
        head_id,
        prefetch=1000,
    ):
        stored_prev = None if row["prev_hash"] is None else bytes(row["prev_hash"])
        if stored_prev != prev or entry_hash(prev, row["canonical"]) != row["entry_hash"]:
            raise AccessLogTampered(
                f"access log entry {row['id']} does not verify against the chain since the "
                "last checkpoint; refusing to sign",
                entry_id=row["id"],
            )
        prev = bytes(row["entry_hash"])


async def checkpoint(conn: asyncpg.Connection, keys: AuditKeys) -> Checkpoint | None:
    """Sign the current head of the chain; None when the log is empty or the head is already
    signed. The entries since the last checkpoint are verified first (`AccessLogTampered`).
    A key retired since `keys` was loaded is not used: the current one signs."""
    async with conn.transaction():
        await conn.execute(_CHECKPOINT_LOCK)
        head = await conn.fetchrow("SELECT id, entry_hash FROM access_log ORDER BY id DESC LIMIT 1")
        if head is None:
            return None
        last = await conn.fetchrow(
            "SELECT log_id, head_hash FROM access_checkpoint ORDER BY log_id DESC LIMIT 1"
        )
        if last is not None and last["log_id"] >= head["id"]:
            return None
        await _check_unsigned(conn, last, head["id"])
        kid, key = keys.signing_kid, keys.signing_key
        retired = await conn.fetchval(
            "SELECT retired_at IS NOT NULL FROM signing_key WHERE kid = $1", kid
        )
        if retired is not False:
            kid, key = await current_signing_key(conn)
        head_hash = bytes(head["entry_hash"])
        signature = key.sign(checkpoint_message(head["id"], head_hash))
        row = await conn.fetchrow(
            """INSERT INTO access_checkpoint (log_id, head_hash, kid, signature)
               VALUES ($1, $2, $3, $4) RETURNING id, signed_at""",
            head["id"],
            head_hash,
            kid,
            signature,
        )
    return Checkpoint(
        id=row["id"],
        log_id=head["id"],
        head_hash=head_hash.hex(),
        kid=kid,
        signature=signature.hex(),
        signed_at=row["signed_at"],
    )


async def maybe_checkpoint(
    conn: asyncpg.Connection,
    keys: AuditKeys,
    *,
    every_entries: int = 1000,
    every: dt.timedelta = dt.timedelta(minutes=5),
) -> Checkpoint | None:
    """Checkpoint when `every_entries` entries were added since the last checkpoint, or when
    `every` has passed since it (since the first unsigned entry, before any checkpoint) and
    something was added. One indexed query when nothing is due, so it can run after each
    request; the unsigned tail it leaves is what an export cannot prove complete."""
    if every_entries < 1:
        raise ValueError("every_entries must be at least 1")
    due = await conn.fetchrow(
        """WITH last AS (
               SELECT log_id, signed_at FROM access_checkpoint ORDER BY log_id DESC LIMIT 1),
           unsigned AS (
               SELECT id, at FROM access_log
               WHERE id > coalesce((SELECT log_id FROM last), 0) ORDER BY id LIMIT $1)
           SELECT count(*) AS added,
                  now() - coalesce((SELECT signed_at FROM last), min(at)) AS waited
           FROM unsigned""",
        every_entries,
    )
    if due["added"] == 0:
        return None
    if due["added"] >= every_entries or due["waited"] >= every:
        return await checkpoint(conn, keys)
    return None


def _line(record: dict[str, Any]) -> str:
    return orjson.dumps(record, option=orjson.OPT_SORT_KEYS).decode() + "\n"


def _checkpoint_line(row: asyncpg.Record) -> str:
    return _line(
        {
            "type": "checkpoint",
            "id": row["id"],
            "log_id": row["log_id"],
            "head_hash": bytes(row["head_hash"]).hex(),
            "kid": row["kid"],
            "signature": bytes(row["signature"]).hex(),
            # informational: the signature covers log_id and head_hash only
            "signed_at": row["signed_at"].isoformat(),
        }
    )


async def export(conn: asyncpg.Connection, out: TextIO, since_id: int | None = None) -> int:
    """Write the log as JSON lines and return how many entries were written.

    First a header `{"type":"header","format":"registry-access-log/1","since_id",
    "exported_at","public_keys":[every audit JWK, retired ones included]}`; then each entry
    `{"type":"entry","id","canonical","prev_hash","entry_hash"}` (hashes in hex, prev_hash
    null for the first entry of the log) in id order, each checkpoint
    `{"type":"checkpoint","id","log_id","head_hash","kid","signature","signed_at"}` right
    after the entry it signs. With `since_id`, only entries after it (and the checkpoints
    signing them): the first entry's prev_hash then anchors the file to the earlier export.
    All of it is read from one snapshot, so the file is consistent while writers go on.
    """
    after = since_id or 0
    written = 0
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        keys = await public_keys(conn)
        exported_at = await conn.fetchval("SELECT now()")
        # few (one per thousand entries or so): held in memory, merged in by log_id
        checkpoints = list(
            reversed(
                await conn.fetch(
                    "SELECT * FROM access_checkpoint WHERE log_id > $1 ORDER BY log_id, id",
                    after,
                )
            )
        )
        out.write(
            _line(
                {
                    "type": "header",
                    "format": FORMAT,
                    "since_id": since_id,
                    "exported_at": exported_at.isoformat(),
                    "public_keys": keys,
                }
            )
        )
        async for row in conn.cursor(
            """SELECT id, canonical, prev_hash, entry_hash FROM access_log
               WHERE id > $1 ORDER BY id""",
            after,
            prefetch=1000,
        ):
            while checkpoints and checkpoints[-1]["log_id"] < row["id"]:
                out.write(_checkpoint_line(checkpoints.pop()))
            prev = row["prev_hash"]
            out.write(
                _line(
                    {
                        "type": "entry",
                        "id": row["id"],
                        "canonical": row["canonical"],
                        "prev_hash": None if prev is None else bytes(prev).hex(),
                        "entry_hash": bytes(row["entry_hash"]).hex(),
                    }
                )
            )
            written += 1
        while checkpoints:
            out.write(_checkpoint_line(checkpoints.pop()))
    return written
