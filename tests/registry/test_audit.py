"""The access log in the database: canonical entries, the chain under concurrent writers, the
append-only guard, keys, checkpoints and their cadence, rotation, and auditors' search."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import hmac
import itertools
from typing import Any

import asyncpg
import orjson
import pytest

from registry.audit import (
    AccessEntry,
    AccessLogTampered,
    AccessLogUnavailable,
    append,
    audit_keys,
    canonical,
    checkpoint,
    checkpoint_message,
    document_hash,
    keyed_hash,
    maybe_checkpoint,
    public_keys,
    rotate_audit_key,
    search,
    verify,
)
from registry.errors import InvalidCursor, PageSizeTooLarge
from tests.registry.test_audit_helpers import (
    T0,
    append_many,
    exported,
    lines,
    make_entry,
)

CHINA = dt.timezone(dt.timedelta(hours=8))

# --- the entry ------------------------------------------------------------------------------


def test_canonical_is_deterministic_sorted_utc_with_microseconds() -> None:
    entry = make_entry(
        1,
        at=dt.datetime(2026, 3, 1, 20, 0, 0, tzinfo=CHINA),
        fields_read=["Institution.shareholders", "Institution.name", "Institution.name"],
        subjects=["b" * 64, "a" * 64],
        purpose="监管检查",
    )
    text = canonical(entry)
    data = orjson.loads(text)
    assert list(data) == sorted(data)
    assert data["at"] == "2026-03-01T12:00:00.000000Z"
    assert data["fields_read"] == ["Institution.name", "Institution.shareholders"]
    assert data["subjects"] == ["a" * 64, "b" * 64]
    assert data["trace_id"] is None  # every key is always present
    assert "监管检查" in text  # UTF-8 as is: the stored text is the hashed text
    same = make_entry(
        1,
        at=dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC),
        fields_read=["Institution.name", "Institution.shareholders"],
        subjects=["a" * 64, "b" * 64],
        purpose="监管检查",
    )
    assert canonical(same) == text
    back = AccessEntry.from_canonical(text)
    assert back.at == entry.at and back.fields_read == data["fields_read"]
    assert canonical(back) == text


def test_entry_refuses_naive_times_and_unknown_outcomes() -> None:
    with pytest.raises(ValueError, match="aware"):
        make_entry(1, at=dt.datetime(2026, 3, 1, 12))
    with pytest.raises(ValueError, match="outcome"):
        make_entry(1, outcome="maybe")


def test_keyed_and_document_hashes() -> None:
    key = b"k" * 32
    expected = hmac.new(key, b"911000001000013428", hashlib.sha256).hexdigest()
    assert keyed_hash(key, "911000001000013428") == expected
    assert keyed_hash(b"x" * 32, "911000001000013428") != expected
    assert document_hash("{ x }") == hashlib.sha256(b"{ x }").hexdigest()


# --- the chain ------------------------------------------------------------------------------


async def test_appends_form_a_chain_the_database_and_the_verifier_agree_on(
    db: asyncpg.Pool,
) -> None:
    ids = await append_many(db, 1, 6)
    assert ids == [1, 2, 3, 4, 5]
    async with db.acquire() as conn:
        rows = await conn.fetch("SELECT * FROM access_log ORDER BY id")
    previous = None
    for row, n in zip(rows, range(1, 6), strict=True):
        assert row["canonical"] == canonical(make_entry(n))
        assert row["prev_hash"] == previous
        assert (
            row["entry_hash"]
            == hashlib.sha256((previous or b"") + row["canonical"].encode()).digest()
        )
        assert orjson.loads(row["entry"]) == orjson.loads(row["canonical"])
        previous = row["entry_hash"]
    report = verify(lines(await exported(db)))
    assert report.ok, report.summary()
    assert (report.entries, report.unverified_tail) == (5, 5)


async def test_concurrent_appends_from_several_connections_form_one_chain(
    db: asyncpg.Pool,
) -> None:
    async def one(n: int) -> int:
        async with db.acquire() as conn:
            return await append(conn, make_entry(n))

    ids = await asyncio.gather(*(one(n) for n in range(50)))
    assert sorted(ids) == list(range(1, 51))
    async with db.acquire() as conn:
        rows = await conn.fetch("SELECT id, prev_hash, entry_hash FROM access_log ORDER BY id")
    assert rows[0]["prev_hash"] is None
    for before, after in itertools.pairwise(rows):
        assert after["prev_hash"] == before["entry_hash"]
    report = verify(lines(await exported(db)))
    assert report.ok and report.entries == 50


async def test_a_nul_character_does_not_make_an_entry_unwritable(db: asyncpg.Pool) -> None:
    async with db.acquire() as conn:
        entry_id = await append(conn, make_entry(1, request_id="a\x00b"))
        stored = await conn.fetchval(
            "SELECT entry->>'request_id' FROM access_log WHERE id = $1", entry_id
        )
    assert stored == "a\ufffdb"


async def test_a_failed_append_raises(db: asyncpg.Pool) -> None:
    async with db.acquire() as conn, conn.transaction(readonly=True):
        with pytest.raises(AccessLogUnavailable):
            await append(conn, make_entry(1))


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE access_log SET canonical = '{}'",
        "DELETE FROM access_log WHERE id = 1",
        "TRUNCATE access_log",
        "UPDATE access_checkpoint SET kid = 'forged'",
        "DELETE FROM access_checkpoint",
        "TRUNCATE access_checkpoint",
    ],
)
async def test_the_database_refuses_to_change_the_log(db: asyncpg.Pool, statement: str) -> None:
    await append_many(db, 1, 3)
    async with db.acquire() as conn:
        await checkpoint(conn, await audit_keys(conn))
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
            await conn.execute(statement)
        assert await conn.fetchval("SELECT count(*) FROM access_log") == 2
        assert await conn.fetchval("SELECT count(*) FROM access_checkpoint") == 1


# --- keys -----------------------------------------------------------------------------------


async def test_keys_are_created_once_even_by_concurrent_starts(db: asyncpg.Pool) -> None:
    # signing keys outlive each test (conftest), and the HMAC key never changes: retire the
    # signing key so that concurrent starts find it missing and race to create one
    async with db.acquire() as conn:
        await conn.execute(
            "UPDATE signing_key SET retired_at = now() WHERE purpose = 'audit' "
            "AND retired_at IS NULL"
        )

    async def load() -> tuple[str, str]:
        async with db.acquire() as conn:
            keys = await audit_keys(conn)
            return keys.hmac_kid, keys.signing_kid

    loaded = await asyncio.gather(*(load() for _ in range(6)))
    assert len(set(loaded)) == 1
    async with db.acquire() as conn:
        active = dict(
            await conn.fetch(
                """SELECT purpose, count(*) FROM signing_key
                   WHERE purpose LIKE 'audit%' AND retired_at IS NULL GROUP BY purpose"""
            )
        )
        keys = await audit_keys(conn)
    assert active == {"audit": 1, "audit-hmac": 1}
    assert (keys.hmac_kid, keys.signing_kid) == loaded[0]
    assert keys.public_jwk["kty"] == "OKP" and keys.public_jwk["crv"] == "Ed25519"
    assert "d" not in keys.public_jwk
    assert len(keys.hmac_key) == 32
    assert "hmac_key" not in repr(keys) and "signing_key" not in repr(keys)
    assert keys.subject("911000001000013428") == keyed_hash(keys.hmac_key, "911000001000013428")
    assert keys.variables({"b": 1, "a": 2}) == keys.variables({"a": 2, "b": 1})
    assert keys.variables({}) is None


# --- checkpoints ----------------------------------------------------------------------------


async def test_a_checkpoint_signs_the_head(db: asyncpg.Pool) -> None:
    async with db.acquire() as conn:
        keys = await audit_keys(conn)
        assert await checkpoint(conn, keys) is None  # nothing to sign yet
        await append(conn, make_entry(1))
        await append(conn, make_entry(2))
        signed = await checkpoint(conn, keys)
        assert signed is not None
        head = await conn.fetchval("SELECT entry_hash FROM access_log WHERE id = 2")
        assert await checkpoint(conn, keys) is None  # the head is already signed
    assert (signed.log_id, signed.head_hash, signed.kid) == (2, head.hex(), keys.signing_kid)
    message = b'{"head_hash":"' + head.hex().encode() + b'","log_id":2}'
    assert checkpoint_message(2, head) == message
    keys.signing_key.public_key().verify(bytes.fromhex(signed.signature), message)
    report = verify(lines(await exported(db)))
    assert report.ok and report.checkpoints_verified == 1 and report.unverified_tail == 0


async def test_a_chain_changed_behind_the_triggers_is_not_signed(db: asyncpg.Pool) -> None:
    async with db.acquire() as conn:
        keys = await audit_keys(conn)
        for n in range(3):
            await append(conn, make_entry(n))
        assert await checkpoint(conn, keys) is not None
        for n in range(3, 6):
            await append(conn, make_entry(n))
        async with conn.transaction():
            # what only a superuser can do: switch the triggers off and edit a row
            await conn.execute("SET LOCAL session_replication_role = replica")
            await conn.execute(
                "UPDATE access_log SET canonical = replace(canonical, '\"status\":200', "
                "'\"status\":404') WHERE id = 5"
            )
        with pytest.raises(AccessLogTampered) as refused:
            await checkpoint(conn, keys)
        assert refused.value.details == {"entry_id": 5}
        assert await conn.fetchval("SELECT count(*) FROM access_checkpoint") == 1


async def test_maybe_checkpoint_keeps_its_cadence(db: asyncpg.Pool) -> None:
    hour = dt.timedelta(hours=1)
    async with db.acquire() as conn:
        keys = await audit_keys(conn)
        assert await maybe_checkpoint(conn, keys, every_entries=5, every=hour) is None
        for n in range(4):
            await append(conn, make_entry(n))
            assert await maybe_checkpoint(conn, keys, every_entries=5, every=hour) is None
        await append(conn, make_entry(4))
        first = await maybe_checkpoint(conn, keys, every_entries=5, every=hour)
        assert first is not None and first.log_id == 5
        assert await maybe_checkpoint(conn, keys, every_entries=5, every=hour) is None
        await append(conn, make_entry(5))
        assert await maybe_checkpoint(conn, keys, every_entries=5, every=hour) is None
        # enough time has passed: what was added is signed
        second = await maybe_checkpoint(conn, keys, every_entries=5, every=dt.timedelta(0))
        assert second is not None and second.log_id == 6
        # nothing new: however long it has been, nothing to sign
        assert await maybe_checkpoint(conn, keys, every=dt.timedelta(0)) is None
        assert await conn.fetchval("SELECT count(*) FROM access_checkpoint") == 2


async def test_rotation_keeps_old_checkpoints_verifiable(db: asyncpg.Pool) -> None:
    async with db.acquire() as conn:
        old = await audit_keys(conn)
        await append(conn, make_entry(1))
        first = await checkpoint(conn, old)
        new_kid = await rotate_audit_key(conn)
        assert new_kid != old.signing_kid
        new = await audit_keys(conn)
        assert new.signing_kid == new_kid and new.hmac_kid == old.hmac_kid
        await append(conn, make_entry(2))
        # a process still holding the old keys signs with the new key, not the retired one
        second = await checkpoint(conn, old)
        published = await public_keys(conn)
        retired = await conn.fetchval(
            "SELECT retired_at FROM signing_key WHERE kid = $1", old.signing_kid
        )
    assert first is not None and second is not None and retired is not None
    assert (first.kid, second.kid) == (old.signing_kid, new_kid)
    # every key ever used stays published, retired ones included, oldest first
    assert [k["kid"] for k in published][-2:] == [old.signing_kid, new_kid]
    records = await exported(db)
    assert records[0]["public_keys"] == published
    report = verify(lines(records), published)
    assert report.ok and report.checkpoints_verified == 2, report.summary()
    # without the retired key the old checkpoint cannot be checked
    only_new = verify(lines(records), [new.public_jwk])
    assert (only_new.first_broken_id, only_new.reason) == (1, "unknown_key")


# --- search ---------------------------------------------------------------------------------

USCC_A = "911000001000013428"
USCC_B = "91310115MA1K3YJ12X"


async def _seed_search(db: asyncpg.Pool) -> list[int]:
    async with db.acquire() as conn:
        keys = await audit_keys(conn)
        entries = [
            make_entry(1, subjects=[keys.subject(USCC_A)]),
            make_entry(
                2,
                client_id="mps-economic",
                agency="MPS",
                subjects=[keys.subject(USCC_B)],
                fields_read=[],
                fields_denied=["Person.idNumber"],
                outcome="refused",
                status=403,
                codes=["FORBIDDEN_FIELD"],
            ),
            make_entry(
                3,
                subjects=[keys.subject(USCC_A), keys.subject(USCC_B)],
                fields_read=["Institution.shareholders"],
                legal_basis_id=7,
                purpose="case 2026-17",
            ),
            make_entry(4, outcome="error", status=500, codes=["INTERNAL"]),
        ]
        ids = []
        for entry in entries:
            ids.append(await append(conn, entry))
            await asyncio.sleep(0.002)  # distinct recording times for the range queries
    return ids


async def test_search_finds_entries_by_each_filter(db: asyncpg.Pool) -> None:
    await _seed_search(db)

    async def found(**filters: Any) -> list[int]:
        async with db.acquire() as conn:
            page = await search(conn, **filters)
        return [item.id for item in page.items]

    assert await found() == [1, 2, 3, 4]
    assert await found(client_id="pboc-fintech") == [1, 3, 4]
    assert await found(agency="MPS") == [2]
    assert await found(subject=USCC_A) == [1, 3]
    assert await found(subject=USCC_B) == [2, 3]
    assert await found(subject="911000001000099999") == []
    assert await found(field="Institution.shareholders") == [3]
    assert await found(field="Person.idNumber") == [2]  # denied fields count too
    assert await found(outcome="refused") == [2]
    assert await found(outcome="error", client_id="pboc-fintech") == [4]
    assert await found(legal_basis_id=7) == [3]
    assert await found(subject=USCC_A, field="Institution.name") == [1]
    async with db.acquire() as conn:
        at = [row["at"] for row in await conn.fetch("SELECT at FROM access_log ORDER BY id")]
        page = await search(conn, subject=USCC_B)
    assert await found(since=at[1]) == [2, 3, 4]
    assert await found(until=at[1]) == [1]
    assert await found(since=at[1], until=at[3]) == [2, 3]
    item = page.items[0]
    assert item.entry.fields_denied == ["Person.idNumber"] and item.entry.codes == [
        "FORBIDDEN_FIELD"
    ]
    assert item.entry.at == T0 + dt.timedelta(seconds=2)


async def test_search_paginates_and_caps_the_page(db: asyncpg.Pool) -> None:
    await append_many(db, 1, 8)
    seen: list[int] = []
    after = None
    pages = 0
    async with db.acquire() as conn:
        while True:
            page = await search(conn, client_id="pboc-fintech", first=3, after=after)
            seen += [item.id for item in page.items]
            pages += 1
            if not page.has_next:
                break
            after = page.end_cursor
        assert (seen, pages) == (list(range(1, 8)), 3)
        assert len((await search(conn, first=500)).items) == 7
        with pytest.raises(PageSizeTooLarge, match="between 1 and 500"):
            await search(conn, first=501)
        with pytest.raises(PageSizeTooLarge):
            await search(conn, first=0)
        with pytest.raises(InvalidCursor):
            await search(conn, after="not-a-cursor")
