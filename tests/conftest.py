"""A real PostgreSQL for the whole test session.

With REGISTRY_DATABASE_URL set, a fresh database is created on that server for the session
and dropped after it; otherwise an embedded PostgreSQL runs in a temporary data folder.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest

from ops import database
from registry.tables import metadata

SERVER_URL = os.environ.get("REGISTRY_DATABASE_URL")


def _create_scratch_database(server_url: str) -> tuple[str, str]:
    name = f"registry_test_{os.getpid()}_{secrets.token_hex(3)}"

    async def create() -> None:
        conn = await asyncpg.connect(server_url)
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    asyncio.run(create())
    return name, database.with_database(server_url, name)


def _drop_scratch_database(server_url: str, name: str) -> None:
    async def drop() -> None:
        conn = await asyncpg.connect(server_url)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()

    asyncio.run(drop())


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    if SERVER_URL:
        name, url = _create_scratch_database(SERVER_URL)
        database.upgrade(url)
        yield url
        _drop_scratch_database(SERVER_URL, name)
        return
    from pgserver import get_server

    with tempfile.TemporaryDirectory(prefix="registry-pg-") as folder:
        server = get_server(Path(folder), cleanup_mode="stop")
        server.psql("CREATE DATABASE registry_test;")
        url = database.with_database(server.get_uri(), "registry_test")
        database.upgrade(url)
        yield url
        server.cleanup()


@pytest.fixture(scope="session")
async def pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await database.create_pool(database_url, 4)
    yield pool
    await pool.close()


@pytest.fixture
async def db(pool: asyncpg.Pool) -> asyncpg.Pool:
    """The session's pool over an emptied store: each test starts from nothing."""
    # signing keys stay, as in production: a running test server keeps using its keys
    names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables if t.name != "signing_key")
    async with pool.acquire() as conn, conn.transaction():
        # the append-only tables refuse TRUNCATE by trigger; a test run may start over
        await conn.execute("SET LOCAL session_replication_role = replica")
        await conn.execute(f"TRUNCATE {names} RESTART IDENTITY")
    return pool
