"""Bearer tokens on the API (RFC 6750): a request without a valid token is answered 401
with a WWW-Authenticate challenge before it reaches GraphQL."""

from __future__ import annotations

import datetime as dt
import time
import uuid
from urllib.parse import parse_qs

import asyncpg
import orjson
from starlette.types import ASGIApp, Receive, Scope, Send

from auth import clients
from auth.tokens import OAuthError, Principal, validate
from ops.access_log import who_asks
from ops.runtime import Runtime
from registry.audit import AccessLogUnavailable

PRINCIPAL = "registry.principal"


class Revocations:
    """Revoked clients, re-read every few seconds: a revocation takes effect within that."""

    def __init__(self, pool: asyncpg.Pool, max_age: float = 5.0) -> None:
        self.pool = pool
        self.max_age = max_age
        self._ids: frozenset[str] = frozenset()
        self._read_at = 0.0

    async def revoked(self, client_id: str) -> bool:
        if time.monotonic() - self._read_at > self.max_age:
            async with self.pool.acquire() as conn:
                self._ids = await clients.revoked_ids(conn)
            self._read_at = time.monotonic()
        return client_id in self._ids


class BearerAuth:
    VALIDATED_MAX = 10_000

    def __init__(self, app: ASGIApp, runtime: Runtime) -> None:
        self.app = app
        self.runtime = runtime
        self.settings = runtime.settings
        self._revocations: Revocations | None = None
        self._validated: dict[str, Principal] = {}

    @property
    def revocations(self) -> Revocations:
        if self._revocations is None:
            self._revocations = Revocations(
                self.runtime.pool, self.settings.revocation_check_seconds
            )
        return self._revocations

    async def principal(self, authorization: str) -> Principal:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise OAuthError("invalid_request", "send the access token as: Bearer <token>", 401)
        token = token.strip()
        # A client sends the same token for minutes: its signature is checked once, its
        # expiry and its client's revocation on every request.
        known = self._validated.get(token)
        if known is not None and known.expires_at > dt.datetime.now(dt.UTC):
            if await self.revocations.revoked(known.client_id):
                raise OAuthError("invalid_token", "the client of this token has been revoked", 401)
            return known
        found = await self._validate(token)
        if len(self._validated) >= self.VALIDATED_MAX:
            self._validated.clear()
        self._validated[token] = found
        return found

    async def _validate(self, token: str) -> Principal:
        keys = await self.runtime.keys.get()
        try:
            found = validate(
                token, keys, issuer=self.settings.issuer, audience=self.settings.audience
            )
        except OAuthError as exc:
            if "does not know" not in exc.description:
                raise
            # signed by a key rotated in by another process since we last looked
            found = validate(
                token,
                await self.runtime.keys.get(fresh=True),
                issuer=self.settings.issuer,
                audience=self.settings.audience,
            )
        if await self.revocations.revoked(found.client_id):
            raise OAuthError("invalid_token", "the client of this token has been revoked", 401)
        return found

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or _is_ide_page(scope):
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        authorization = headers.get(b"authorization", b"").decode("latin-1")
        try:
            if not authorization:
                raise OAuthError("", "an access token is required", 401)
            scope[PRINCIPAL] = await self.principal(authorization)
        except OAuthError as exc:
            await self._refuse(scope, send, exc)
            return
        await self.app(scope, receive, send)

    async def _refuse(self, scope: Scope, send: Send, error: OAuthError) -> None:
        access_log = self.runtime.access_log
        if access_log.enabled:
            headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
            entry = access_log.entry(
                request_id=uuid.uuid4().hex,
                kind="graphql",
                outcome="refused",
                status=401,
                codes=["UNAUTHENTICATED", *([error.error] if error.error else [])],
                **who_asks(headers),
            )
            try:
                await access_log.write(entry)
            except AccessLogUnavailable as exc:
                error_body = {"message": exc.message, "extensions": {"code": exc.code}}
                await _answer(send, 503, {"errors": [error_body]})
                return
        await _challenge(send, error)


def _is_ide_page(scope: Scope) -> bool:
    """The GraphiQL page itself, which carries no data. A GET with a `query` parameter is an
    operation whatever it accepts, so it needs a token like any other."""
    if scope["method"] != "GET" or "query" in parse_qs(scope.get("query_string", b"").decode()):
        return False
    return b"text/html" in dict(scope["headers"]).get(b"accept", b"")


async def _challenge(send: Send, error: OAuthError) -> None:
    challenge = 'Bearer realm="registry"'
    if error.error:  # RFC 6750 §3.1: no error code when the request had no credentials
        description = error.description.replace('"', "'")
        challenge += f', error="{error.error}", error_description="{description}"'
    body = {"errors": [{"message": error.description, "extensions": {"code": "UNAUTHENTICATED"}}]}
    await _answer(send, 401, body, [(b"www-authenticate", challenge.encode())])


async def _answer(
    send: Send, status: int, body: object, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    encoded = orjson.dumps(body)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(encoded)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": encoded})
