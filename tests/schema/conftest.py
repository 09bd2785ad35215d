"""Run GraphQL documents against the real schema and the test database."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import pytest

from auth.tokens import Principal
from schema import build_schema
from schema.context import Context
from schema.errors import format_error
from schema.loaders import Loaders

Run = Callable[..., Awaitable[dict[str, Any]]]

SCHEMA = build_schema()


async def execute(
    pool: asyncpg.Pool, document: str, principal: Principal | None = None, **variables: Any
) -> dict[str, Any]:
    context = Context(pool=pool, loaders=Loaders(pool), page_size_max=100, principal=principal)
    result = await SCHEMA.execute(document, variable_values=variables, context_value=context)
    answer: dict[str, Any] = {"data": result.data}
    if result.errors:
        answer["errors"] = [format_error(e) for e in result.errors]
    return answer


@pytest.fixture
def gql(db: asyncpg.Pool) -> Run:
    async def run(
        document: str, principal: Principal | None = None, **variables: Any
    ) -> dict[str, Any]:
        return await execute(db, document, principal, **variables)

    return run
