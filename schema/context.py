"""What every resolver can reach: the request's loaders, the pool and the settings it needs."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from strawberry.types import Info as StrawberryInfo

from auth.tokens import Principal
from schema.loaders import Loaders


@dataclass
class Context:
    pool: asyncpg.Pool
    loaders: Loaders
    page_size_max: int
    # None only where the service runs without authentication (development, benchmarks)
    principal: Principal | None = None
    # what the operation read and was refused, for the access log
    fields_read: list[str] = field(default_factory=list)
    fields_denied: list[str] = field(default_factory=list)
    legal_bases: list[int] = field(default_factory=list)
    request_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    # the operation as received, for the access log (which keeps only hashes of it)
    document: str | None = None
    variables: dict[str, Any] | None = None
    operation_name: str | None = None

    @property
    def scopes(self) -> frozenset[str] | None:
        return None if self.principal is None else self.principal.scopes


Info = StrawberryInfo[Context, None]
