"""The ASGI application: GraphQL at /graphql (GraphiQL in a browser), the OAuth endpoints,
and health checks."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import AsyncIterator
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from strawberry.asgi import GraphQL
from strawberry.http import GraphQLHTTPResponse
from strawberry.types import ExecutionResult

from auth.grants import load as load_grants
from ops.access_log import outcome, who_asks
from ops.bearer import PRINCIPAL, BearerAuth
from ops.database import head_revision
from ops.oauth import OAuthEndpoints
from ops.runtime import Runtime
from ops.settings import Settings, get_settings, is_loopback
from registry.audit import AccessEntry, AccessLogUnavailable, document_hash
from schema import build_schema
from schema.context import Context
from schema.errors import format_error
from schema.loaders import Loaders


class RegistryGraphQL(GraphQL[Context, None]):
    def __init__(self, runtime: Runtime) -> None:
        super().__init__(
            build_schema(), graphql_ide="graphiql" if runtime.settings.graphiql else None
        )
        self.runtime = runtime

    async def get_context(self, request: Any, response: Any) -> Context:
        pool = self.runtime.pool
        context = Context(
            pool=pool,
            loaders=Loaders(pool),
            page_size_max=self.runtime.settings.page_size_max,
            principal=request.scope.get(PRINCIPAL),
        )
        request.state.registry = (context, response)
        return context

    def encode_json(self, data: object) -> bytes:
        # UTF-8 as is (Chinese names stay readable), and several times faster than json
        return orjson.dumps(data)

    async def process_result(self, request: Any, result: ExecutionResult) -> GraphQLHTTPResponse:
        answer: GraphQLHTTPResponse = {"data": result.data}
        errors = [format_error(e) for e in result.errors or []]
        if errors:
            answer["errors"] = list[object](errors)
        context, response = request.state.registry
        if not self.runtime.access_log.enabled:
            return answer
        codes = [e["extensions"]["code"] for e in errors]
        try:
            await self.runtime.access_log.write(self._entry(request, context, codes))
        except AccessLogUnavailable as exc:
            response.status_code = 503
            return {"data": None, "errors": [{"message": f"{exc.message}; the answer was "
                    "withheld", "extensions": {"code": exc.code}}]}  # fmt: skip
        return answer

    def _entry(self, request: Any, context: Context, codes: list[str]) -> AccessEntry:
        access_log = self.runtime.access_log
        principal = context.principal
        return access_log.entry(
            request_id=context.request_id,
            kind="graphql",
            outcome=outcome(codes),
            status=200,
            client_id=principal.client_id if principal else None,
            agency=principal.agency if principal else None,
            operation_name=context.operation_name,
            document_hash=document_hash(context.document) if context.document else None,
            variables_hash=access_log.keys.variables(context.variables),
            fields_read=context.fields_read,
            fields_denied=context.fields_denied,
            subjects=access_log.subjects(context.loaders.touched),
            legal_basis_id=context.legal_bases[0] if context.legal_bases else None,
            codes=codes,
            row_count=len(context.loaders.touched),
            **who_asks(request.headers),
        )


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or get_settings()
    if not settings.auth and not is_loopback(settings.host):
        raise RuntimeError(
            f"REGISTRY_AUTH is off: the service may only be configured for the loopback "
            f"interface, not {settings.host}"
        )
    load_grants()  # a broken policy file stops the start, not the first request
    head = head_revision()
    runtime = Runtime(settings)
    graphql: Any = RegistryGraphQL(runtime)
    if settings.auth:
        graphql = BearerAuth(graphql, runtime)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await runtime.open()
        # Everything loaded so far lives as long as the process: keep the collector off it,
        # and collect less often; full collections otherwise stall a worker for ~50 ms.
        gc.collect()
        gc.freeze()
        gc.set_threshold(20_000, 50, 100)
        try:
            yield
        finally:
            await runtime.close()

    async def healthz(request: Request) -> Response:
        """The process is up."""
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        """Ready for traffic: database reachable, schema at the code's migration head,
        signing keys loaded. 503 with the failing checks otherwise."""
        checks: dict[str, str] = {}
        try:
            async with runtime.pool.acquire(timeout=2) as conn:
                revision = await conn.fetchval("SELECT version_num FROM alembic_version")
            checks["database"] = "ok"
            checks["migrations"] = (
                "ok" if revision == head else f"at {revision}, code expects {head}"
            )
        except Exception as exc:  # any failure to reach it is the answer itself
            checks["database"] = f"unreachable: {type(exc).__name__}"
        try:
            await runtime.keys.get()
            checks["signing_keys"] = "ok"
        except Exception as exc:
            checks["signing_keys"] = f"not loaded: {type(exc).__name__}"
        ready = all(value == "ok" for value in checks.values())
        return JSONResponse(
            {"status": "ready" if ready else "not ready", "checks": checks},
            status_code=200 if ready else 503,
        )

    return Starlette(
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            *OAuthEndpoints(runtime).routes(),
        ],
        lifespan=lifespan,
    )
