"""What every resolver can reach: the request's loaders, the pool and the settings it needs."""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg
from strawberry.types import Info as StrawberryInfo

from schema.loaders import Loaders


@dataclass
class Context:
    pool: asyncpg.Pool
    loaders: Loaders
    page_size_max: int


Info = StrawberryInfo[Context, None]
