"""What a service process opens at start-up and shares between requests."""

from __future__ import annotations

import datetime as dt

import asyncpg

from auth.keys import KeyCache
from ops.access_log import AccessLog
from ops.database import create_pool, resolve_url
from ops.settings import Settings


class Runtime:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._pool: asyncpg.Pool | None = None
        self._keys: KeyCache | None = None
        self._access_log: AccessLog | None = None

    @property
    def pool(self) -> asyncpg.Pool:
        assert self._pool is not None, "the pool opens with the application"
        return self._pool

    @property
    def keys(self) -> KeyCache:
        assert self._keys is not None, "the keys load with the application"
        return self._keys

    @property
    def access_log(self) -> AccessLog:
        assert self._access_log is not None, "the access log opens with the application"
        return self._access_log

    async def open(self) -> None:
        self._pool = await create_pool(resolve_url(self.settings), self.settings.pool_size)
        self._keys = KeyCache(self._pool, dt.timedelta(seconds=self.settings.token_ttl_seconds))
        await self._keys.get()
        self._access_log = AccessLog(self._pool, enabled=self.settings.access_log)
        await self._access_log.open()

    async def close(self) -> None:
        if self._access_log is not None:
            await self._access_log.close()
        if self._pool is not None:
            await self._pool.close()
