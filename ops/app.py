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
from ops.bearer import PRINCIPAL, BearerAuth
from ops.oauth import OAuthEndpoints
from ops.runtime import Runtime
from ops.settings import Settings, get_settings
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
        return Context(
            pool=pool,
            loaders=Loaders(pool),
            page_size_max=self.runtime.settings.page_size_max,
            principal=request.scope.get(PRINCIPAL),
        )

    def encode_json(self, data: object) -> bytes:
        # UTF-8 as is (Chinese names stay readable), and several times faster than json
        return orjson.dumps(data)

    async def process_result(self, request: Any, result: ExecutionResult) -> GraphQLHTTPResponse:
        answer: GraphQLHTTPResponse = {"data": result.data}
        if result.errors:
            answer["errors"] = [format_error(e) for e in result.errors]
        return answer


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or get_settings()
    load_grants()  # a broken policy file stops the start, not the first request
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
        return JSONResponse({"status": "ok"})

    return Starlette(
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            Route("/healthz", healthz),
            *OAuthEndpoints(runtime).routes(),
        ],
        lifespan=lifespan,
    )
