"""End to end: the dossier over HTTP with a real token."""

from __future__ import annotations

import asyncio

import asyncpg
import httpx

from registry.ingest import ingest
from registry.records import Source
from tests.e2e.conftest import Token
from tests.factories import numbered, uscc
from tests.schema.test_dossier import REGISTRATION


async def test_dossier_over_http(db: asyncpg.Pool, server: str, token: Token) -> None:
    async with db.acquire() as conn:
        await ingest(
            conn, source=Source.REGISTRATION, batch_ref="e2e", lines=numbered(REGISTRATION)
        )
    bearer = {"authorization": f"Bearer {await token('registration')}"}
    async with httpx.AsyncClient(base_url=server, headers=bearer) as client:
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


async def test_many_concurrent_requests_share_the_pool(
    db: asyncpg.Pool, server: str, token: Token
) -> None:
    async with db.acquire() as conn:
        await ingest(
            conn, source=Source.REGISTRATION, batch_ref="e2e-2", lines=numbered(REGISTRATION)
        )
    query = {
        "query": "query ($u: String) { institution(uscc: $u) { name shareholders { interests } } }",
        "variables": {"u": uscc(1)},
    }
    bearer = {"authorization": f"Bearer {await token('banking')}"}
    async with httpx.AsyncClient(base_url=server, headers=bearer) as client:
        answers = await asyncio.gather(*(client.post("/graphql", json=query) for _ in range(40)))
    assert {a.json()["data"]["institution"]["name"] for a in answers} == {"上海甲网络科技有限公司"}


async def test_ready_when_database_schema_and_keys_are(http: httpx.AsyncClient) -> None:
    answer = await http.get("/readyz")
    assert answer.status_code == 200, answer.text
    assert answer.json() == {
        "status": "ready",
        "checks": {"database": "ok", "migrations": "ok", "signing_keys": "ok"},
    }
