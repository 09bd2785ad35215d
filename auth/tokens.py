"""Access tokens (RFC 9068 JWTs, `typ: at+jwt`): issued to authenticated clients for the
client-credentials grant, and validated on every request for issuer, audience, expiry,
algorithm, type and key. All signing and verification is joserfc's."""

from __future__ import annotations

import datetime as dt
import secrets
import time
from dataclasses import dataclass
from typing import Any, cast

import orjson
from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, KeySetSerialization
from joserfc.jwt import JWTClaimsRegistry

from auth.clients import KEY_METHOD, SECRET_METHODS, Client, secret_matches
from auth.keys import ALGORITHM, TokenKeys

ACCESS_TOKEN_TYPES = ("at+jwt", "application/at+jwt")
CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
# what a client may sign its assertion with; never "none" nor HMAC
CLIENT_ASSERTION_ALGORITHMS = ["ES256", "RS256", "PS256", "Ed25519"]
LEEWAY_SECONDS = 30


@dataclass(frozen=True)
class Principal:
    """Who is asking: an authenticated client of one agency, with the scopes of its token."""

    client_id: str
    agency: str
    scopes: frozenset[str]
    token_id: str
    expires_at: dt.datetime


class OAuthError(Exception):
    """An RFC 6749 / RFC 6750 error: `error` is the registered code, `status` the HTTP status."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status


def _invalid_token(description: str) -> OAuthError:
    return OAuthError("invalid_token", description, 401)


def issue(
    keys: TokenKeys,
    client: Client,
    *,
    requested: str | None,
    issuer: str,
    audience: str,
    ttl: dt.timedelta,
) -> dict[str, Any]:
    """The token response for a client: the scopes asked for, within its agency's grant."""
    granted = client.scopes
    wanted = frozenset(requested.split()) if requested else granted
    beyond = sorted(wanted - granted)
    if beyond:
        raise OAuthError(
            "invalid_scope",
            f"client {client.client_id} ({client.agency}) may not hold {', '.join(beyond)}",
        )
    now = int(time.time())
    claims = {
        "iss": issuer,
        "aud": audience,
        "sub": client.client_id,
        "client_id": client.client_id,
        "agency": client.agency,
        "scope": " ".join(sorted(wanted)),
        "iat": now,
        "nbf": now,
        "exp": now + int(ttl.total_seconds()),
        "jti": secrets.token_urlsafe(16),
    }
    header = {"alg": ALGORITHM, "typ": "at+jwt", "kid": keys.signing.kid}
    return {
        "access_token": jwt.encode(header, claims, keys.signing, algorithms=[ALGORITHM]),
        "token_type": "Bearer",
        "expires_in": int(ttl.total_seconds()),
        "scope": claims["scope"],
    }


def validate(token: str, keys: TokenKeys, *, issuer: str, audience: str) -> Principal:
    """Check a bearer token completely, or say precisely why it is refused."""
    try:
        header = jws.extract_compact(token.encode()).protected
    except (JoseError, ValueError) as exc:
        raise _invalid_token("the access token is not a JWS in compact form") from exc
    if str(header.get("typ", "")).lower() not in ACCESS_TOKEN_TYPES:
        raise _invalid_token("the token's typ is not at+jwt (RFC 9068)")
    if header.get("alg") != ALGORITHM:
        raise _invalid_token(f"the token's alg must be {ALGORITHM}")
    if header.get("kid") not in keys.kids:
        raise _invalid_token("the token was signed by a key this service does not know")
    try:
        decoded = jwt.decode(token, keys.verifying, algorithms=[ALGORITHM])
    except JoseError as exc:
        raise _invalid_token("the token's signature does not verify") from exc
    registry = JWTClaimsRegistry(
        leeway=LEEWAY_SECONDS,
        iss={"essential": True, "value": issuer},
        aud={"essential": True, "value": audience},
        exp={"essential": True},
        iat={"essential": True},
        jti={"essential": True},
        client_id={"essential": True},
        agency={"essential": True},
    )
    try:
        registry.validate(decoded.claims)
    except JoseError as exc:
        raise _invalid_token(f"the token's claims are not acceptable: {exc.description}") from exc
    claims = decoded.claims
    return Principal(
        client_id=str(claims["client_id"]),
        agency=str(claims["agency"]),
        scopes=frozenset(str(claims.get("scope", "")).split()),
        token_id=str(claims["jti"]),
        expires_at=dt.datetime.fromtimestamp(int(claims["exp"]), dt.UTC),
    )


def authenticate_secret(client: Client | None, secret: str) -> Client:
    if client is None or client.auth_method not in SECRET_METHODS or client.secret_hash is None:
        raise OAuthError("invalid_client", "unknown client or wrong credentials", 401)
    if not secret_matches(secret, client.secret_hash):
        raise OAuthError("invalid_client", "unknown client or wrong credentials", 401)
    if client.revoked:
        raise OAuthError("invalid_client", "the client has been revoked", 401)
    return client


def assertion_subject(assertion: str) -> str:
    """The client an assertion claims to come from, read before its signature is checked."""
    try:
        claims = jws.extract_compact(assertion.encode()).payload
    except (JoseError, ValueError) as exc:
        raise OAuthError("invalid_client", "client_assertion is not a JWS", 401) from exc
    try:
        issuer = orjson.loads(claims).get("iss")
    except (orjson.JSONDecodeError, AttributeError) as exc:
        raise OAuthError("invalid_client", "client_assertion carries no claims", 401) from exc
    if not isinstance(issuer, str):
        raise OAuthError("invalid_client", "client_assertion has no iss", 401)
    return issuer


def authenticate_assertion(client: Client | None, assertion: str, *, token_endpoint: str) -> Client:
    """private_key_jwt: a JWT signed with the client's registered key (RFC 7523 §3)."""
    if client is None or client.auth_method != KEY_METHOD or not client.jwks:
        raise OAuthError("invalid_client", "unknown client or wrong credentials", 401)
    if client.revoked:
        raise OAuthError("invalid_client", "the client has been revoked", 401)
    try:
        decoded = jwt.decode(
            assertion,
            KeySet.import_key_set(cast(KeySetSerialization, client.jwks)),
            algorithms=CLIENT_ASSERTION_ALGORITHMS,
        )
        JWTClaimsRegistry(
            leeway=LEEWAY_SECONDS,
            iss={"essential": True, "value": client.client_id},
            sub={"essential": True, "value": client.client_id},
            aud={"essential": True, "value": token_endpoint},
            exp={"essential": True},
            jti={"essential": True},
        ).validate(decoded.claims)
    except JoseError as exc:
        raise OAuthError("invalid_client", f"client_assertion refused: {exc}", 401) from exc
    return client
