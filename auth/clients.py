"""OAuth clients: one per agency system, authenticated by a client secret or by a JWT
signed with its own key (private_key_jwt, RFC 7523)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

import asyncpg
import orjson

from auth.grants import load as load_grants

SECRET_METHODS = ("client_secret_basic", "client_secret_post")
KEY_METHOD = "private_key_jwt"


@dataclass(frozen=True)
class Client:
    client_id: str
    agency: str
    name: str
    auth_method: str
    secret_hash: str | None
    jwks: dict[str, Any] | None
    revoked: bool

    @property
    def scopes(self) -> frozenset[str]:
        return load_grants().agency(self.agency).scopes


def hash_secret(secret: str) -> str:
    # Secrets are 256 random bits made here, never chosen by people: a salted SHA-256 is
    # enough against guessing, and keeps the token endpoint fast (a slow KDF would not).
    salt = secrets.token_bytes(16)
    digest = hashlib.sha256(salt + secret.encode()).digest()
    return "sha256$" + base64.b64encode(salt).decode() + "$" + base64.b64encode(digest).decode()


def secret_matches(secret: str, stored: str) -> bool:
    scheme, salt, digest = stored.split("$")
    if scheme != "sha256":
        return False
    computed = hashlib.sha256(base64.b64decode(salt) + secret.encode()).digest()
    return hmac.compare_digest(computed, base64.b64decode(digest))


def _client(row: asyncpg.Record) -> Client:
    return Client(
        client_id=row["client_id"],
        agency=row["agency"],
        name=row["name"],
        auth_method=row["auth_method"],
        secret_hash=row["secret_hash"],
        jwks=orjson.loads(row["jwks"]) if row["jwks"] else None,
        revoked=row["revoked_at"] is not None,
    )


async def add(
    conn: asyncpg.Connection,
    *,
    agency: str,
    name: str,
    auth_method: str = "client_secret_basic",
    jwks: dict[str, Any] | None = None,
) -> tuple[Client, str | None]:
    """Register a client; returns it and, for secret methods, the secret (shown once)."""
    load_grants().agency(agency)  # an unknown agency is refused here, with the known ones
    if auth_method not in (*SECRET_METHODS, KEY_METHOD):
        raise ValueError(f"auth_method must be one of {[*SECRET_METHODS, KEY_METHOD]}")
    if auth_method == KEY_METHOD and not (jwks and jwks.get("keys")):
        raise ValueError("private_key_jwt needs the client's public keys as a JWKS")
    secret = secrets.token_urlsafe(32) if auth_method in SECRET_METHODS else None
    client_id = f"{agency}-{secrets.token_hex(6)}"
    row = await conn.fetchrow(
        """INSERT INTO oauth_client (client_id, agency, name, auth_method, secret_hash, jwks)
           VALUES ($1, $2, $3, $4, $5, $6) RETURNING *""",
        client_id,
        agency,
        name,
        auth_method,
        hash_secret(secret) if secret else None,
        orjson.dumps(jwks).decode() if jwks else None,
    )
    return _client(row), secret


async def get(conn: asyncpg.Connection, client_id: str) -> Client | None:
    row = await conn.fetchrow("SELECT * FROM oauth_client WHERE client_id = $1", client_id)
    return None if row is None else _client(row)


async def all_clients(conn: asyncpg.Connection) -> list[Client]:
    return [_client(r) for r in await conn.fetch("SELECT * FROM oauth_client ORDER BY id")]


async def revoke(conn: asyncpg.Connection, client_id: str) -> bool:
    status = await conn.execute(
        "UPDATE oauth_client SET revoked_at = now() WHERE client_id = $1 AND revoked_at IS NULL",
        client_id,
    )
    return bool(status.endswith(" 1"))


async def rotate_secret(conn: asyncpg.Connection, client_id: str) -> str:
    secret = secrets.token_urlsafe(32)
    status = await conn.execute(
        """UPDATE oauth_client SET secret_hash = $2, secret_rotated_at = now()
           WHERE client_id = $1 AND revoked_at IS NULL AND auth_method = ANY($3::text[])""",
        client_id,
        hash_secret(secret),
        list(SECRET_METHODS),
    )
    if not status.endswith(" 1"):
        raise ValueError(f"no active client {client_id!r} that authenticates with a secret")
    return secret


async def revoked_ids(conn: asyncpg.Connection) -> frozenset[str]:
    rows = await conn.fetch("SELECT client_id FROM oauth_client WHERE revoked_at IS NOT NULL")
    return frozenset(r["client_id"] for r in rows)
