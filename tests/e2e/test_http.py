"""End to end: the real app served by uvicorn on a loopback port, spoken to over HTTP."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator

import asyncpg
import httpx
import pytest
import uvicorn

from ops.app import create_app
from ops.settings import Settings
from registry.ingest import ingest
from registry.records import Source
from tests.factories import numbered, uscc
from tests.schema.test_dossier import REGISTRATION


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(database_url: str) -> Iterator[str]:
    port = _free_port()
    settings = Settings(database_url=database_url, host="127.0.0.1", port=port, pool_size=2)
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
    yield f"http://127.0.0.1:{port}"
    served.should_exit = True
    thread.join(timeout=10)


async def test_dossier_over_http(db: asyncpg.Pool, server: str) -> None:
    async with db.acquire() as conn:
        await ingest(
            conn, source=Source.REGISTRATION, batch_ref="e2e", lines=numbered(REGISTRATION)
        )
    async with httpx.AsyncClient(base_url=server) as client:
        health = await client.get("/healthz")
        answer = await client.post(
            "/graphql",
            json={
                "query": "query ($u: String!) { institution(uscc: $u) { name "
                "legalRepresentative { person { name } } shareholders { share { exact } } } }",
                "variables": {"u": uscc(1)},
            },
        )
        missing = await client.post(
            "/graphql",
            json={
                "query": "query ($u: String) { institution(uscc: $u) { name } }",
                "variables": {"u": uscc(9)},
            },
        )
        ide = await client.get("/graphql", headers={"accept": "text/html"})
    assert health.json() == {"status": "ok"}
    assert answer.status_code == 200
    assert "上海甲网络科技有限公司" in answer.text  # UTF-8 as is, not \u escapes
    file = answer.json()["data"]["institution"]
    assert file["name"] == "上海甲网络科技有限公司"
    assert file["legalRepresentative"] == {"person": {"name": "王小明"}}
    assert len(file["shareholders"]) == 3
    assert missing.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    assert "graphiql" in ide.text.lower()


async def test_many_concurrent_requests_share_the_pool(db: asyncpg.Pool, server: str) -> None:
    async with db.acquire() as conn:
        await ingest(
            conn, source=Source.REGISTRATION, batch_ref="e2e-2", lines=numbered(REGISTRATION)
        )
    query = {
        "query": "query ($u: String) { institution(uscc: $u) { name shareholders { interests } } }",
        "variables": {"u": uscc(1)},
    }
    async with httpx.AsyncClient(base_url=server) as client:
        answers = await asyncio.gather(*(client.post("/graphql", json=query) for _ in range(40)))
    assert {a.json()["data"]["institution"]["name"] for a in answers} == {"上海甲网络科技有限公司"}
