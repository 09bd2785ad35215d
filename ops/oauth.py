"""The OAuth 2.0 endpoints: the token endpoint (client-credentials grant), the JWKS and the
authorization-server metadata (RFC 8414)."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import uuid
from typing import Any
from urllib.parse import unquote_plus

import asyncpg
import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from auth import clients
from auth.grants import load as load_grants
from auth.keys import ALGORITHM
from auth.tokens import (
    CLIENT_ASSERTION_ALGORITHMS,
    CLIENT_ASSERTION_TYPE,
    OAuthError,
    assertion_subject,
    authenticate_assertion,
    authenticate_secret,
    issue,
)
from ops.access_log import who_asks
from ops.runtime import Runtime
from registry.audit import AccessLogUnavailable

TOKEN_PATH = "/oauth/token"
JWKS_PATH = "/.well-known/jwks.json"
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _basic_credentials(request: Request) -> tuple[str, str] | None:
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise OAuthError("invalid_client", "malformed Basic credentials", 401) from exc
    client_id, _, secret = decoded.partition(":")
    # RFC 6749 §2.3.1: both parts are form-urlencoded before the Basic encoding
    return unquote_plus(client_id), unquote_plus(secret)


class OAuthEndpoints:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.settings = runtime.settings

    @property
    def token_endpoint(self) -> str:
        return self.settings.issuer.rstrip("/") + TOKEN_PATH

    async def token(self, request: Request) -> Response:
        """The token endpoint; every request, granted or refused, goes to the access log."""
        response, client = await self._token(request)
        access_log = self.runtime.access_log
        if access_log.enabled:
            refused = response.status_code != 200
            entry = access_log.entry(
                request_id=uuid.uuid4().hex,
                kind="token",
                outcome="refused" if refused else "ok",
                status=response.status_code,
                client_id=client.client_id if client else None,
                agency=client.agency if client else None,
                codes=[orjson.loads(bytes(response.body))["error"]] if refused else [],
                **who_asks(request.headers),
            )
            try:
                await access_log.write(entry)
            except AccessLogUnavailable:
                return JSONResponse(
                    {"error": "temporarily_unavailable",
                     "error_description": "the access log is unavailable; no token was issued"},
                    status_code=503, headers=NO_STORE,
                )  # fmt: skip
        return response

    async def _token(self, request: Request) -> tuple[Response, clients.Client | None]:
        client = None
        try:
            form = await request.form()
            if form.get("grant_type") != "client_credentials":
                raise OAuthError(
                    "unsupported_grant_type", "only grant_type=client_credentials is offered"
                )
            async with self.runtime.pool.acquire() as conn:
                client = await self._authenticate(conn, request, form)
            answer = issue(
                await self.runtime.keys.get(),
                client,
                requested=str(form.get("scope") or "") or None,
                issuer=self.settings.issuer,
                audience=self.settings.audience,
                ttl=dt.timedelta(seconds=self.settings.token_ttl_seconds),
            )
        except OAuthError as exc:
            headers = dict(NO_STORE)
            if exc.status == 401 and request.headers.get("authorization", "").lower().startswith(
                "basic"
            ):
                headers["WWW-Authenticate"] = 'Basic realm="registry"'
            refusal = {"error": exc.error, "error_description": exc.description}
            return JSONResponse(refusal, status_code=exc.status, headers=headers), client
        return JSONResponse(answer, headers=NO_STORE), client

    async def _authenticate(
        self, conn: asyncpg.Connection, request: Request, form: Any
    ) -> clients.Client:
        basic = _basic_credentials(request)
        if basic is not None:
            client_id, secret = basic
            return authenticate_secret(await clients.get(conn, client_id), secret)
        if form.get("client_assertion_type") == CLIENT_ASSERTION_TYPE:
            assertion = str(form.get("client_assertion") or "")
            client_id = assertion_subject(assertion)
            return authenticate_assertion(
                await clients.get(conn, client_id), assertion, token_endpoint=self.token_endpoint
            )
        if form.get("client_id") and form.get("client_secret"):
            client = await clients.get(conn, str(form["client_id"]))
            return authenticate_secret(client, str(form["client_secret"]))
        raise OAuthError(
            "invalid_client",
            "authenticate with HTTP Basic, client_id and client_secret, or a client_assertion",
            401,
        )

    async def jwks(self, request: Request) -> Response:
        return JSONResponse((await self.runtime.keys.get()).jwks())

    async def metadata(self, request: Request) -> Response:
        issuer = self.settings.issuer.rstrip("/")
        return JSONResponse(
            {
                "issuer": self.settings.issuer,
                "token_endpoint": self.token_endpoint,
                "jwks_uri": issuer + JWKS_PATH,
                "grant_types_supported": ["client_credentials"],
                "response_types_supported": [],
                "token_endpoint_auth_methods_supported": [
                    *clients.SECRET_METHODS,
                    clients.KEY_METHOD,
                ],
                "token_endpoint_auth_signing_alg_values_supported": CLIENT_ASSERTION_ALGORITHMS,
                "scopes_supported": sorted(load_grants().scopes),
                "access_token_signing_alg_values_supported": [ALGORITHM],
            }
        )

    def routes(self) -> list[Route]:
        return [
            Route(TOKEN_PATH, self.token, methods=["POST"]),
            Route(JWKS_PATH, self.jwks),
            Route("/.well-known/oauth-authorization-server", self.metadata),
        ]
