"""The hashing rules shared by the database, the export and the offline verifier.

An entry's hash is `sha256(prev_hash || utf8(canonical))`, where `prev_hash` is the previous
entry's hash (empty bytes for the first entry); `registry_append_access_log` (migration 0002)
computes it the same way. A checkpoint signs `checkpoint_message(log_id, head_hash)`: the
UTF-8 bytes of the JSON object `{"head_hash":"<64 hex digits, lower case>","log_id":<int>}`
with exactly those two keys, in that order, and no whitespace, so anyone can rebuild it.
"""

from __future__ import annotations

import hashlib

import orjson

FORMAT = "registry-access-log/1"


def entry_hash(prev_hash: bytes | None, canonical: str) -> bytes:
    return hashlib.sha256((prev_hash or b"") + canonical.encode("utf-8")).digest()


def checkpoint_message(log_id: int, head_hash: bytes) -> bytes:
    return orjson.dumps(
        {"head_hash": head_hash.hex(), "log_id": log_id}, option=orjson.OPT_SORT_KEYS
    )
