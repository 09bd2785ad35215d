"""Where the database is, and bringing its schema to head.

With `REGISTRY_DATABASE_URL` set, that server is used. Without it an embedded PostgreSQL
(the `pgserver` wheel) is started in the data folder and keeps running for later commands.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit, urlunsplit

import asyncpg
from alembic import command
from alembic.config import Config

from ops.settings import Settings

EMBEDDED_DATABASE = "registry"


def start_embedded(data_dir: Path) -> str:
    """Start (or reuse) the embedded server and return a URL for the registry's database."""
    from pgserver import get_server

    data_dir.mkdir(parents=True, exist_ok=True)
    server = get_server(data_dir, cleanup_mode=None)
    exists = server.psql(
        f"SELECT 1 FROM pg_database WHERE datname = '{EMBEDDED_DATABASE}';"
    ).strip()
    if "(1 row)" not in exists:
        server.psql(f"CREATE DATABASE {EMBEDDED_DATABASE};")
    return with_database(server.get_uri(), EMBEDDED_DATABASE)


def with_database(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{database}"))


def resolve_url(settings: Settings) -> str:
    if settings.database_url:
        return settings.database_url
    return start_embedded(settings.data_dir.resolve())


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    config.attributes["database_url"] = url
    return config


def head_revision() -> str:
    """The newest migration this code ships."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config("")).get_current_head()
    assert head is not None
    return head


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


async def _no_reset(conn: asyncpg.Connection) -> None:
    """Connections carry no session state (no SET, LISTEN or cursors outside transactions),
    so the default reset query would be a round trip per request for nothing."""


async def create_pool(
    url: str, size: int, init: Callable[[asyncpg.Connection], Awaitable[None]] | None = None
) -> asyncpg.Pool:
    """A pool of `size` connections; `init` runs on each new connection."""
    pool = await asyncpg.create_pool(
        url,
        min_size=1,
        max_size=size,
        init=init,
        reset=_no_reset,
        statement_cache_size=256,
    )
    assert pool is not None
    return pool


T = TypeVar("T")


def run_on_connection(url: str, work: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
    """Run one piece of async work on its own connection, for a CLI command."""

    async def run() -> T:
        conn = await asyncpg.connect(url)
        try:
            return await work(conn)
        finally:
            await conn.close()

    return asyncio.run(run())
