"""The OAuth flow over HTTP: tokens from the token endpoint, and every way a bearer token can
be wrong, each refused with 401 and an RFC 6750 challenge."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Any, cast

import asyncpg
import httpx
import pytest
from authlib.integrations.httpx_client import AsyncOAuth2Client
from authlib.oauth2.rfc7523 import PrivateKeyJWT
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet, KeySetSerialization

from auth import clients, keys
from tests.e2e.conftest import Token
from tests.factories import uscc

QUERY = {"query": "query ($u: String!) { institution(uscc: $u) { name } }",
         "variables": {"u": uscc(1)}}  # fmt: skip


async def _graphql(http: httpx.AsyncClient, token: str | None) -> httpx.Response:
    headers = {} if token is None else {"authorization": f"Bearer {token}"}
    return await http.post("/graphql", json=QUERY, headers=headers)


async def test_published_metadata_and_keys(http: httpx.AsyncClient, server: str) -> None:
    metadata = (await http.get("/.well-known/oauth-authorization-server")).json()
    assert metadata["issuer"] == server
    assert metadata["token_endpoint"] == f"{server}/oauth/token"
    assert metadata["grant_types_supported"] == ["client_credentials"]
    assert "private_key_jwt" in metadata["token_endpoint_auth_methods_supported"]
    jwks = (await http.get("/.well-known/jwks.json")).json()
    assert jwks["keys"] and all("d" not in key for key in jwks["keys"])  # public parts only


async def test_a_token_from_the_endpoint_opens_the_api(
    http: httpx.AsyncClient, token: Token
) -> None:
    answer = await _graphql(http, await token("registration"))
    assert answer.status_code == 200
    assert answer.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"  # empty registry


async def test_client_secret_post_and_narrower_scope(
    db: asyncpg.Pool, http: httpx.AsyncClient
) -> None:
    async with db.acquire() as conn:
        client, secret = await clients.add(conn, agency="telecom", name="ICP system")
    answer = await http.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "client_id": client.client_id,
              "client_secret": secret, "scope": "institution:read"},
    )  # fmt: skip
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    assert answer.json()["scope"] == "institution:read"
    claims = jwt.decode(answer.json()["access_token"], _server_keys(await _jwks(http))).claims
    assert claims["agency"] == "telecom" and claims["client_id"] == client.client_id


async def test_private_key_jwt(db: asyncpg.Pool, server: str) -> None:
    key = ECKey.generate_key("P-256", parameters={"kid": "agency-key-1"})
    async with db.acquire() as conn:
        client, _ = await clients.add(
            conn, agency="banking", name="P2P system", auth_method="private_key_jwt",
            jwks={"keys": [key.as_dict(private=False)]},
        )  # fmt: skip
    endpoint = f"{server}/oauth/token"
    async with AsyncOAuth2Client(
        client.client_id,
        key,  # authlib reads a PEM as RSA; an EC key goes in as a key object
        token_endpoint_auth_method="private_key_jwt",
    ) as oauth:
        oauth.register_client_auth_method(PrivateKeyJWT(endpoint, alg="ES256"))
        answer = await oauth.fetch_token(endpoint, grant_type="client_credentials")
    assert answer["token_type"] == "Bearer" and answer["access_token"]


async def test_token_endpoint_refusals(db: asyncpg.Pool, http: httpx.AsyncClient) -> None:
    async with db.acquire() as conn:
        client, secret = await clients.add(conn, agency="telecom", name="ICP system")
    basic = base64.b64encode(f"{client.client_id}:wrong".encode()).decode()
    wrong_secret = await http.post(
        "/oauth/token", data={"grant_type": "client_credentials"},
        headers={"authorization": f"Basic {basic}"},
    )  # fmt: skip
    assert wrong_secret.status_code == 401
    assert wrong_secret.json()["error"] == "invalid_client"
    assert wrong_secret.headers["www-authenticate"].startswith("Basic")
    too_much = await http.post(
        "/oauth/token",
        data={"grant_type": "client_credentials", "client_id": client.client_id,
              "client_secret": secret, "scope": "institution:read account:read"},
    )  # fmt: skip
    assert too_much.status_code == 400 and too_much.json()["error"] == "invalid_scope"
    assert "account:read" in too_much.json()["error_description"]
    wrong_grant = await http.post(
        "/oauth/token", data={"grant_type": "password", "client_id": client.client_id,
                              "client_secret": secret},
    )  # fmt: skip
    assert wrong_grant.json()["error"] == "unsupported_grant_type"


async def _jwks(http: httpx.AsyncClient) -> dict[str, Any]:
    return dict((await http.get("/.well-known/jwks.json")).json())


def _server_keys(jwks: dict[str, Any]) -> KeySet:
    return KeySet.import_key_set(cast(KeySetSerialization, jwks))


async def _signing_key(db: asyncpg.Pool) -> ECKey:
    import datetime as dt

    async with db.acquire() as conn:
        return (await keys.load(conn, dt.timedelta(minutes=5))).signing


def _claims(server: str, **changes: Any) -> dict[str, Any]:
    now = int(time.time())
    claims: dict[str, Any] = {"iss": server, "aud": "registry", "sub": "c", "client_id": "c"}
    claims |= {"agency": "banking", "scope": "institution:read", "jti": "j"}
    claims |= {"iat": now, "nbf": now, "exp": now + 300, **changes}
    return {k: v for k, v in claims.items() if v is not None}


def _unsigned(header: dict[str, Any], claims: dict[str, Any]) -> str:
    def part(value: dict[str, Any]) -> str:
        import orjson

        return base64.urlsafe_b64encode(orjson.dumps(value)).rstrip(b"=").decode()

    return f"{part(header)}.{part(claims)}."


@pytest.mark.parametrize(
    ("case", "description"),
    [
        ("no token", "an access token is required"),
        ("not a jwt", "not a JWS"),
        ("alg none", "alg must be ES256"),
        ("hmac with the public key", "alg must be ES256"),
        ("another key's signature", "does not know"),
        ("forged signature", "does not verify"),
        ("expired", "claims are not acceptable"),
        ("not yet valid", "claims are not acceptable"),
        ("wrong issuer", "claims are not acceptable"),
        ("wrong audience", "claims are not acceptable"),
        ("no typ", "typ is not at+jwt"),
        ("wrong typ", "typ is not at+jwt"),
        ("revoked client", "revoked"),
    ],
)
async def test_bad_bearer_tokens_are_refused(
    db: asyncpg.Pool, http: httpx.AsyncClient, server: str, token: Token, case: str,
    description: str,
) -> None:  # fmt: skip
    key = await _signing_key(db)
    header = {"alg": "ES256", "typ": "at+jwt", "kid": key.kid}

    def signed(claims: dict[str, Any], head: dict[str, Any] = header, by: Any = key) -> str:
        return jwt.encode(head, claims, by, algorithms=["ES256"])

    if case == "no token":
        bad = None
    elif case == "not a jwt":
        bad = "abc.def"
    elif case == "alg none":
        bad = _unsigned({"alg": "none", "typ": "at+jwt", "kid": key.kid}, _claims(server))
    elif case == "hmac with the public key":
        # the classic confusion attack, forged by hand: HS256 keyed with the public PEM
        signing_input = _unsigned({**header, "alg": "HS256"}, _claims(server))[:-1]
        mac = hmac.new(key.as_pem(private=False), signing_input.encode(), hashlib.sha256)
        bad = signing_input + "." + base64.urlsafe_b64encode(mac.digest()).rstrip(b"=").decode()
    elif case == "another key's signature":
        stranger = ECKey.generate_key("P-256", parameters={"kid": "stranger"})
        bad = signed(_claims(server), {**header, "kid": "stranger"}, stranger)
    elif case == "forged signature":
        stranger = ECKey.generate_key("P-256", parameters={"kid": str(key.kid)})
        bad = signed(_claims(server), header, stranger)
    elif case == "expired":
        bad = signed(_claims(server, exp=int(time.time()) - 3600))
    elif case == "not yet valid":
        bad = signed(_claims(server, nbf=int(time.time()) + 3600))
    elif case == "wrong issuer":
        bad = signed(_claims(server, iss="https://elsewhere.example"))
    elif case == "wrong audience":
        bad = signed(_claims(server, aud="someone-else"))
    elif case == "no typ":
        bad = signed(_claims(server), {"alg": "ES256", "kid": key.kid})
    elif case == "wrong typ":
        bad = signed(_claims(server), {**header, "typ": "JWT"})
    else:
        bad = await token("telecom")
        client_id = jwt.decode(bad, key).claims["client_id"]
        async with db.acquire() as conn:
            assert await clients.revoke(conn, client_id)
    answer = await _graphql(http, bad)
    assert answer.status_code == 401, (case, answer.text)
    challenge = answer.headers["www-authenticate"]
    assert challenge.startswith('Bearer realm="registry"')
    if bad is not None:
        assert 'error="invalid_token"' in challenge
    assert description in answer.json()["errors"][0]["message"], answer.json()
    assert answer.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_rotation_keeps_earlier_tokens_valid(
    db: asyncpg.Pool, http: httpx.AsyncClient, token: Token
) -> None:
    before = await token("banking")
    async with db.acquire() as conn:
        new_kid = await keys.rotate(conn)
    after = await token("banking")  # the server may still sign with the key it has cached
    import datetime as dt

    async with db.acquire() as conn:
        fresh = await keys.load(conn, dt.timedelta(minutes=5))
    assert fresh.signing.kid == new_kid and len(fresh.kids) >= 2
    for each in (before, after):
        assert (await _graphql(http, each)).status_code == 200


async def test_insufficient_scope_over_http(http: httpx.AsyncClient, token: Token) -> None:
    telecom = await token("telecom")
    answer = await http.post(
        "/graphql",
        json={
            "query": "query ($u: String!) { institution(uscc: $u) { shareholders { id } } }",
            "variables": {"u": uscc(1)},
        },
        headers={"authorization": f"Bearer {telecom}"},
    )  # fmt: skip
    (error,) = answer.json()["errors"]
    assert error["extensions"]["code"] == "INSUFFICIENT_SCOPE"
    assert "Institution.shareholders" in error["extensions"]["denied"]


async def test_an_operation_sent_by_get_needs_a_token_whatever_it_accepts(
    http: httpx.AsyncClient,
) -> None:
    page = await http.get("/graphql", headers={"accept": "text/html"})
    assert page.status_code == 200 and "graphiql" in page.text.lower()
    sneaky = await http.get(
        "/graphql",
        params={"query": "{ institutions { edges { node { name } } } }"},
        headers={"accept": "text/html"},
    )
    assert sneaky.status_code == 401
