"""The access log's keys, kept in `signing_key`.

- purpose `audit-hmac` (HS256, an `oct` JWK): keys the hashes of subjects and variables. It
  never rotates: a new key would make every earlier entry unsearchable by subject.
- purpose `audit` (EdDSA, an Ed25519 `OKP` JWK): signs checkpoints. It rotates; retired keys
  sign nothing more but stay in the table (and in every export) so what they signed still
  verifies.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from joserfc.jwk import OctKey, OKPKey

from registry.audit.entry import keyed_hash, variables_hash

PURPOSE = "audit"
ALGORITHM = "EdDSA"
HMAC_PURPOSE = "audit-hmac"
HMAC_ALGORITHM = "HS256"
# one lock for creating and rotating both kinds, so concurrent starts end with one key each
_LOCK = "SELECT pg_advisory_xact_lock(hashtext('registry_audit_keys'))"


@dataclass(frozen=True)
class AuditKeys:
    """The HMAC key and the current checkpoint-signing key. Load once and keep it: every
    request hashes with it. Secrets stay out of repr so a logged object leaks nothing."""

    hmac_kid: str
    hmac_key: bytes = field(repr=False)
    signing_kid: str
    signing_key: Ed25519PrivateKey = field(repr=False)
    public_jwk: dict[str, Any]

    def subject(self, value: str) -> str:
        """The keyed hash an entry's `subjects` holds for a subject id or USCC."""
        return keyed_hash(self.hmac_key, value)

    def variables(self, variables: Mapping[str, Any] | None) -> str | None:
        return variables_hash(self.hmac_key, variables)


def _kid(prefix: str) -> str:
    return dt.datetime.now(dt.UTC).strftime(f"{prefix}-%Y%m%d%H%M%S-") + secrets.token_hex(4)


def signing_key_from_jwk(jwk: Mapping[str, Any]) -> Ed25519PrivateKey:
    key = OKPKey.import_key(dict(jwk)).private_key
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("an audit signing key must be a private Ed25519 OKP JWK")
    return key


async def _insert(
    conn: asyncpg.Connection,
    purpose: str,
    algorithm: str,
    private: dict[str, Any],
    public: dict[str, Any],
) -> None:
    await conn.execute(
        """INSERT INTO signing_key (kid, purpose, algorithm, private_jwk, public_jwk)
           VALUES ($1, $2, $3, $4::text::jsonb, $5::text::jsonb)""",
        private["kid"],
        purpose,
        algorithm,
        orjson.dumps(private).decode(),
        orjson.dumps(public).decode(),
    )


async def _create_signing_key(conn: asyncpg.Connection) -> str:
    kid = _kid("audit")
    key = OKPKey.generate_key(
        "Ed25519", parameters={"kid": kid, "alg": ALGORITHM, "use": "sig"}, private=True
    )
    await _insert(conn, PURPOSE, ALGORITHM, key.as_dict(private=True), key.as_dict(private=False))
    return kid


async def _create_hmac_key(conn: asyncpg.Connection) -> None:
    key = OctKey.generate_key(256, parameters={"kid": _kid("audit-hmac"), "alg": HMAC_ALGORITHM})
    private = key.as_dict(private=True)
    # the table wants a public half; for a symmetric key that is the JWK without its secret
    public = {k: v for k, v in private.items() if k != "k"}
    await _insert(conn, HMAC_PURPOSE, HMAC_ALGORITHM, private, public)


async def _current(conn: asyncpg.Connection) -> dict[str, asyncpg.Record]:
    rows = await conn.fetch(
        """SELECT DISTINCT ON (purpose) purpose, kid, private_jwk::text AS private_jwk,
                  public_jwk::text AS public_jwk
           FROM signing_key WHERE purpose = ANY($1::text[]) AND retired_at IS NULL
           ORDER BY purpose, created_at DESC""",
        [PURPOSE, HMAC_PURPOSE],
    )
    return {row["purpose"]: row for row in rows}


async def audit_keys(conn: asyncpg.Connection) -> AuditKeys:
    """The HMAC key and the current signing key, creating whichever is missing.

    Two processes starting together end with one key of each: creation happens under an
    advisory lock and re-reads before it inserts.
    """
    current = await _current(conn)
    if len(current) < 2:
        async with conn.transaction():
            await conn.execute(_LOCK)
            current = await _current(conn)
            if HMAC_PURPOSE not in current:
                await _create_hmac_key(conn)
            if PURPOSE not in current:
                await _create_signing_key(conn)
            current = await _current(conn)
    hmac_row, signing_row = current[HMAC_PURPOSE], current[PURPOSE]
    return AuditKeys(
        hmac_kid=hmac_row["kid"],
        hmac_key=OctKey.import_key(orjson.loads(hmac_row["private_jwk"])).raw_value,
        signing_kid=signing_row["kid"],
        signing_key=signing_key_from_jwk(orjson.loads(signing_row["private_jwk"])),
        public_jwk=orjson.loads(signing_row["public_jwk"]),
    )


async def hmac_key(conn: asyncpg.Connection) -> bytes | None:
    """The HMAC key without creating one: None means no entry can hold a keyed hash yet."""
    text = await conn.fetchval(
        """SELECT private_jwk::text FROM signing_key WHERE purpose = $1 AND retired_at IS NULL
           ORDER BY created_at DESC LIMIT 1""",
        HMAC_PURPOSE,
    )
    return None if text is None else OctKey.import_key(orjson.loads(text)).raw_value


async def rotate_audit_key(conn: asyncpg.Connection) -> str:
    """Retire the checkpoint-signing key and create its successor; returns the new kid.

    Processes holding the old `AuditKeys` keep working: `checkpoint` notices the retirement
    and signs with the new key.
    """
    async with conn.transaction():
        await conn.execute(_LOCK)
        await conn.execute(
            "UPDATE signing_key SET retired_at = now() WHERE purpose = $1 AND retired_at IS NULL",
            PURPOSE,
        )
        return await _create_signing_key(conn)


async def current_signing_key(conn: asyncpg.Connection) -> tuple[str, Ed25519PrivateKey]:
    row = (await _current(conn)).get(PURPOSE)
    if row is None:
        keys = await audit_keys(conn)
        return keys.signing_kid, keys.signing_key
    return row["kid"], signing_key_from_jwk(orjson.loads(row["private_jwk"]))


async def public_keys(conn: asyncpg.Connection) -> list[dict[str, Any]]:
    """Every checkpoint key's public JWK, retired ones included, oldest first: what an
    auditor needs to verify any checkpoint ever signed (publish these)."""
    rows = await conn.fetch(
        """SELECT public_jwk::text AS jwk FROM signing_key WHERE purpose = $1
           ORDER BY created_at, kid""",
        PURPOSE,
    )
    return [orjson.loads(row["jwk"]) for row in rows]
