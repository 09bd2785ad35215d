"""The real app served by uvicorn on a loopback port, with tokens from its own token endpoint
obtained by a real OAuth client library."""

from __future__ import annotations

import socket
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

import asyncpg
import httpx
import pytest
import uvicorn
from authlib.integrations.httpx_client import AsyncOAuth2Client

from auth import clients
from ops.app import create_app
from ops.settings import Settings

Token = Callable[..., Awaitable[str]]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def server(database_url: str) -> Iterator[str]:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    settings = Settings(
        database_url=database_url,
        host="127.0.0.1",
        port=port,
        pool_size=4,
        issuer=base,
        revocation_check_seconds=0,
    )
    config = uvicorn.Config(
        create_app(settings), host="127.0.0.1", port=port, log_level="warning", lifespan="on"
    )
    served = uvicorn.Server(config)
    thread = threading.Thread(target=served.run, daemon=True)
    thread.start()
    for _ in range(200):
        if served.started:
            break
        threading.Event().wait(0.05)
    assert served.started, "the app did not start"
    yield base
    served.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
async def http(server: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=server) as client:
        yield client


@pytest.fixture
def token(db: asyncpg.Pool, server: str) -> Token:
    """A token for a new client of `agency`, from the token endpoint, via authlib."""

    async def fetch(agency: str, scope: str | None = None) -> str:
        async with db.acquire() as conn:
            client, secret = await clients.add(conn, agency=agency, name=f"{agency} test system")
        async with AsyncOAuth2Client(
            client.client_id, secret, token_endpoint_auth_method="client_secret_basic"
        ) as oauth:
            answer = await oauth.fetch_token(
                f"{server}/oauth/token", grant_type="client_credentials", scope=scope
            )
        return str(answer["access_token"])

    return fetch
