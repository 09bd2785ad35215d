"""An exported access log, tampered with in every way a writer with file access could, must
fail offline verification at the right entry and for the right reason (after X-Road's
ArchiveHashChainVerifierTest); what verification cannot prove is stated, not hidden."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import asyncpg
import orjson
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from joserfc.jwk import OKPKey

from registry.audit import (
    FORMAT,
    audit_keys,
    canonical,
    checkpoint,
    checkpoint_message,
    entry_hash,
    public_keys,
    verify,
)
from tests.registry.test_audit_helpers import (
    append_many,
    entry_at,
    exported,
    lines,
    make_entry,
    rehash_from,
)

Records = list[dict[str, Any]]


@pytest.fixture
async def log(db: asyncpg.Pool) -> tuple[Records, list[dict[str, Any]]]:
    """20 entries, checkpoints after entries 10 and 20: the export and the published keys."""
    async with db.acquire() as conn:
        keys = await audit_keys(conn)
    await append_many(db, 1, 11)
    async with db.acquire() as conn:
        await checkpoint(conn, keys)
    await append_many(db, 11, 21)
    async with db.acquire() as conn:
        await checkpoint(conn, keys)
        published = await public_keys(conn)
    return await exported(db), published


def _index(records: Records, entry_id: int) -> int:
    return records.index(entry_at(records, entry_id))


def edit(records: Records) -> None:
    entry_at(records, 5)["canonical"] = entry_at(records, 5)["canonical"].replace(
        '"status":200', '"status":404'
    )


def edit_and_rehash(records: Records) -> None:
    edit(records)
    record = entry_at(records, 5)
    record["entry_hash"] = entry_hash(bytes.fromhex(record["prev_hash"]), record["canonical"]).hex()


def delete(records: Records) -> None:
    records.remove(entry_at(records, 5))


def delete_first(records: Records) -> None:
    records.remove(entry_at(records, 1))


def insert(records: Records) -> None:
    """A forged entry after entry 5 that links correctly to it, the later ids shifted up."""
    before = entry_at(records, 5)
    text = canonical(make_entry(99, client_id="forger"))
    prev = bytes.fromhex(before["entry_hash"])
    forged = {
        "type": "entry",
        "id": 6,
        "canonical": text,
        "prev_hash": prev.hex(),
        "entry_hash": entry_hash(prev, text).hex(),
    }
    for record in records:
        if record["type"] == "entry" and record["id"] >= 6:
            record["id"] += 1
    records.insert(records.index(before) + 1, forged)


def swap(records: Records) -> None:
    a, b = _index(records, 5), _index(records, 6)
    records[a], records[b] = records[b], records[a]


def renumber(records: Records) -> None:
    entry_at(records, 7)["id"] = 3


def truncate_past_checkpoint(records: Records) -> None:
    """Entries 16 to 20 gone; the checkpoint signing entry 20 left in place."""
    records[:] = [r for r in records if r["type"] != "entry" or r["id"] <= 15]


def rewrite_chain(records: Records) -> None:
    """Entry 5 changed and every later hash recomputed: consistent, but not what was signed."""
    edit(records)
    rehash_from(records, 4)


def bad_signature(records: Records) -> None:
    first = next(r for r in records if r["type"] == "checkpoint")
    signature = bytearray.fromhex(first["signature"])
    signature[0] ^= 1
    first["signature"] = signature.hex()


def unknown_kid(records: Records) -> None:
    next(r for r in records if r["type"] == "checkpoint")["kid"] = "audit-forged"


def move_checkpoint_head(records: Records) -> None:
    """A checkpoint claiming another head: its signature no longer covers it."""
    cp = next(r for r in records if r["type"] == "checkpoint")
    cp["head_hash"] = entry_at(records, 9)["entry_hash"]


TAMPERING: list[tuple[str, Callable[[Records], None], int, str]] = [
    ("edit one entry's canonical text", edit, 5, "edited"),
    ("edit one entry and recompute its hash", edit_and_rehash, 5, "edited"),
    ("delete an entry in the middle", delete, 6, "deleted"),
    ("delete the first entry", delete_first, 2, "deleted"),
    ("insert a forged, self-consistent entry", insert, 6, "inserted"),
    ("swap two entries", swap, 6, "reordered"),
    ("renumber an entry", renumber, 3, "reordered"),
    ("drop the tail past a checkpoint", truncate_past_checkpoint, 20, "truncated"),
    ("rewrite the chain with recomputed hashes", rewrite_chain, 10, "rewritten"),
    ("alter a checkpoint signature", bad_signature, 10, "bad_signature"),
    ("name an unknown key", unknown_kid, 10, "unknown_key"),
    ("alter a checkpoint's head hash", move_checkpoint_head, 10, "bad_signature"),
]


def test_an_intact_export_verifies(log: tuple[Records, list[dict[str, Any]]]) -> None:
    records, published = log
    header = records[0]
    assert header["type"] == "header" and header["format"] == FORMAT
    assert [k["kid"] for k in header["public_keys"]] == [k["kid"] for k in published]
    kinds = [(r["type"], r.get("id"), r.get("log_id")) for r in records[1:]]
    # each checkpoint right after the entry it signs
    assert kinds[10] == ("checkpoint", 1, 10) and kinds[21] == ("checkpoint", 2, 20)
    for public in (published, None):
        report = verify(lines(records), public)
        assert report.ok, report.summary()
        assert report.keys_from_file is (public is None)
        assert (report.entries, report.first_id, report.last_id) == (20, 1, 20)
        assert (report.checkpoints, report.checkpoints_verified) == (2, 2)
        assert (report.last_verified_log_id, report.unverified_tail) == (20, 0)
        assert report.head_hash == entry_at(records, 20)["entry_hash"]
        assert report.summary().startswith("ok: 20 entries (ids 1–20), 2/2 checkpoints")


@pytest.mark.parametrize(
    ("tamper", "broken_id", "reason"),
    [pytest.param(t, i, r, id=name) for name, t, i, r in TAMPERING],
)
def test_tampering_is_detected(
    log: tuple[Records, list[dict[str, Any]]],
    tamper: Callable[[Records], None],
    broken_id: int,
    reason: str,
) -> None:
    records, published = log
    tampered = copy.deepcopy(records)
    tamper(tampered)
    for public in (published, None):
        report = verify(lines(tampered), public)
        assert not report.ok
        assert (report.first_broken_id, report.reason) == (broken_id, reason), report.problems
        assert report.summary().startswith(f"BROKEN at entry {broken_id}: {reason}")


def test_a_tail_after_the_last_checkpoint_cannot_be_proven_complete(
    log: tuple[Records, list[dict[str, Any]]],
) -> None:
    records, published = log
    # entries 16 to 20 and the checkpoint signing 20 removed: nothing in the file shows it
    cut = [r for r in records if r.get("id", 0) <= 15 or r["type"] == "header"]
    cut = [r for r in cut if r["type"] != "checkpoint" or r["log_id"] <= 15]
    report = verify(lines(cut), published)
    assert report.ok and report.unverified_tail == 5
    assert "cannot be proven complete" in report.summary()
    # a checkpoint kept from an earlier export (or the published feed) proves the tail
    kept = [r for r in records if r["type"] == "checkpoint"]
    proven = verify(lines(cut), published, known_checkpoints=kept)
    assert (proven.ok, proven.first_broken_id, proven.reason) == (False, 20, "truncated")
    assert verify(lines(records), published, known_checkpoints=kept).ok
    # likewise a forged entry added after the last checkpoint is not told from a real one
    last = entry_at(records, 20)
    text = canonical(make_entry(21))
    prev = bytes.fromhex(last["entry_hash"])
    forged = {"type": "entry", "id": 21, "canonical": text, "prev_hash": prev.hex()}
    forged["entry_hash"] = entry_hash(prev, text).hex()
    grown = verify([*lines(records), orjson.dumps(forged).decode()], published)
    assert grown.ok and grown.unverified_tail == 1


def test_keys_from_the_file_prove_nothing_against_a_resigned_rewrite(
    log: tuple[Records, list[dict[str, Any]]],
) -> None:
    records, published = log
    forged = copy.deepcopy(records)
    rewrite_chain(forged)
    own = OKPKey.generate_key("Ed25519", parameters={"kid": "audit-forger"}, private=True)
    signer = own.private_key
    assert isinstance(signer, Ed25519PrivateKey)
    for cp in (r for r in forged if r["type"] == "checkpoint"):
        head = bytes.fromhex(entry_at(forged, cp["log_id"])["entry_hash"])
        cp.update(
            kid="audit-forger",
            head_hash=head.hex(),
            signature=signer.sign(checkpoint_message(cp["log_id"], head)).hex(),
        )
    forged[0]["public_keys"] = [own.as_dict(private=False)]
    assert verify(lines(forged)).ok  # self-consistent: only the published keys tell
    report = verify(lines(forged), published)
    assert (report.first_broken_id, report.reason) == (10, "unknown_key")


async def test_an_incremental_export_verifies_and_names_its_anchor(
    log: tuple[Records, list[dict[str, Any]]], db: asyncpg.Pool
) -> None:
    records, published = log
    later = await exported(db, since_id=12)
    assert later[0]["since_id"] == 12
    assert [r["id"] for r in later if r["type"] == "entry"] == list(range(13, 21))
    report = verify(lines(later), published)
    assert report.ok and report.checkpoints_verified == 1, report.summary()
    assert report.anchor_hash == entry_at(records, 12)["entry_hash"]
    # the first entries of a partial export removed: the anchor changes, the rest still holds
    assert (
        verify(lines([later[0], *later[2:]]), published).anchor_hash
        == (entry_at(records, 13)["entry_hash"])
    )


def test_malformed_exports_are_reported() -> None:
    assert verify([]).reason == "malformed"
    no_header = verify(['{"type":"entry"}'])
    assert not no_header.ok and no_header.reason == "malformed"
    header = orjson.dumps({"type": "header", "format": FORMAT, "public_keys": []}).decode()
    assert verify([header]).ok
    garbage = verify([header, "{not json"])
    assert (garbage.ok, garbage.reason) == (False, "malformed")
    wrong_format = orjson.dumps({"type": "header", "format": "other/9"}).decode()
    assert verify([wrong_format]).reason == "malformed"
