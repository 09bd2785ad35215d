"""Token signing keys: ES256 key pairs kept in `signing_key`, rotated without refusing the
tokens the previous key signed until they expire, published as a JWKS."""

from __future__ import annotations

import datetime as dt
import secrets
import time
from dataclasses import dataclass

import asyncpg
import orjson
from joserfc.jwk import ECKey, KeySet, OctKey, OKPKey, RSAKey

ALGORITHM = "ES256"
PURPOSE = "token"


@dataclass(frozen=True)
class TokenKeys:
    signing: ECKey
    verifying: KeySet
    kids: frozenset[str]

    def jwks(self) -> dict[str, object]:
        return {"keys": [key.as_dict(private=False) for key in self.verifying.keys]}


def _new_key() -> ECKey:
    kid = dt.datetime.now(dt.UTC).strftime("%Y%m%d%H%M%S-") + secrets.token_hex(4)
    return ECKey.generate_key("P-256", parameters={"kid": kid, "use": "sig", "alg": ALGORITHM})


async def _insert(conn: asyncpg.Connection, key: ECKey) -> None:
    await conn.execute(
        """INSERT INTO signing_key (kid, purpose, algorithm, private_jwk, public_jwk)
           VALUES ($1, $2, $3, $4, $5)""",
        key.kid,
        PURPOSE,
        ALGORITHM,
        orjson.dumps(key.as_dict(private=True)).decode(),
        orjson.dumps(key.as_dict(private=False)).decode(),
    )


async def load(conn: asyncpg.Connection, token_ttl: dt.timedelta) -> TokenKeys:
    """The newest active key signs; it and keys retired less than a token lifetime ago verify.

    Creates the first key when there is none (two processes starting together create one).
    """
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext('registry_token_keys'))")
        rows = await conn.fetch(
            """SELECT kid, private_jwk, retired_at FROM signing_key
               WHERE purpose = $1 AND (retired_at IS NULL OR retired_at > now() - $2::interval)
               ORDER BY created_at DESC""",
            PURPOSE,
            token_ttl,
        )
        if not any(row["retired_at"] is None for row in rows):
            await _insert(conn, _new_key())
            return await load(conn, token_ttl)
    keys = [ECKey.import_key(orjson.loads(row["private_jwk"])) for row in rows]
    signing = next(k for k, row in zip(keys, rows, strict=True) if row["retired_at"] is None)
    public: list[OctKey | RSAKey | ECKey | OKPKey] = [
        ECKey.import_key(k.as_dict(private=False)) for k in keys
    ]
    return TokenKeys(signing, KeySet(public), frozenset(k.kid for k in keys if k.kid))


async def rotate(conn: asyncpg.Connection) -> str:
    """A new signing key; the previous ones retire now and verify until their tokens expire."""
    key = _new_key()
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext('registry_token_keys'))")
        await conn.execute(
            "UPDATE signing_key SET retired_at = now() WHERE purpose = $1 AND retired_at IS NULL",
            PURPOSE,
        )
        await _insert(conn, key)
    assert key.kid is not None
    return key.kid


class KeyCache:
    """Keys as a service process sees them, re-read at most every `max_age` seconds, so a
    rotation by another process is picked up without a restart."""

    def __init__(self, pool: asyncpg.Pool, token_ttl: dt.timedelta, max_age: float = 30.0):
        self.pool = pool
        self.token_ttl = token_ttl
        self.max_age = max_age
        self._keys: TokenKeys | None = None
        self._read_at = 0.0

    async def get(self, *, fresh: bool = False) -> TokenKeys:
        stale = time.monotonic() - self._read_at > (1.0 if fresh else self.max_age)
        if self._keys is None or stale:
            async with self.pool.acquire() as conn:
                self._keys = await load(conn, self.token_ttl)
            self._read_at = time.monotonic()
        return self._keys
