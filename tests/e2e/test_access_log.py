"""Every request leaves one access-log entry before its answer, refused ones included; the
entries say who, what and why but never the values; no entry, no answer."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import asyncpg
import httpx

from registry import audit
from registry.ingest import ingest
from registry.records import Source
from tests.e2e.conftest import Token
from tests.factories import numbered, uscc
from tests.schema.test_dossier import REGISTRATION

DOSSIER = {
    "query": "query File($u: String!) { institution(uscc: $u) { name shareholders { id } } }",
    "operationName": "File",
    "variables": {"u": uscc(1)},
}
MIGRATION = Path(__file__).parents[2] / "ops/migrations/versions/0005_access_log_batches.py"


async def _entries(db: asyncpg.Pool) -> list[audit.AccessEntry]:
    rows = await db.fetch("SELECT canonical FROM access_log ORDER BY id")
    return [audit.AccessEntry.from_canonical(r["canonical"]) for r in rows]


async def test_one_entry_per_request_saying_who_what_why(
    db: asyncpg.Pool, http: httpx.AsyncClient, token: Token
) -> None:
    async with db.acquire() as conn:
        await ingest(
            conn, source=Source.REGISTRATION, batch_ref="log", lines=numbered(REGISTRATION)
        )
    registration = await token("registration")
    telecom = await token("telecom")
    before = len(await _entries(db))
    headers = {"x-end-user": "officer-0421", "x-case-reference": "SH-ECON-2016-123",
               "x-purpose": "illegal fund-raising investigation"}  # fmt: skip
    headers["authorization"] = f"Bearer {registration}"
    ok = await http.post("/graphql", json=DOSSIER, headers=headers)
    refused = await http.post(
        "/graphql", json=DOSSIER, headers={"authorization": f"Bearer {telecom}"}
    )
    unauthenticated = await http.post("/graphql", json=DOSSIER)
    entries = (await _entries(db))[before:]
    assert [ok.status_code, refused.status_code, unauthenticated.status_code] == [200, 200, 401]
    assert [(e.kind, e.outcome, e.status) for e in entries] == [
        ("graphql", "ok", 200),
        ("graphql", "refused", 200),
        ("graphql", "refused", 401),
    ]
    read, denied, anonymous = entries
    assert read.agency == "registration" and read.client_id
    assert (read.end_user, read.case_reference) == ("officer-0421", "SH-ECON-2016-123")
    assert read.purpose == "illegal fund-raising investigation"
    assert read.operation_name == "File" and read.document_hash and read.variables_hash
    assert "Institution.shareholders" in read.fields_read and not read.fields_denied
    async with db.acquire() as conn:
        keys = await audit.audit_keys(conn)
    assert keys.subject(uscc(1)) in read.subjects
    assert denied.agency == "telecom" and denied.codes == ["INSUFFICIENT_SCOPE"]
    assert "Institution.shareholders" in denied.fields_denied
    assert anonymous.client_id is None and "UNAUTHENTICATED" in anonymous.codes
    stored = " ".join(r["canonical"] for r in await db.fetch("SELECT canonical FROM access_log"))
    for value in (uscc(1), "上海甲网络科技有限公司", registration):
        assert value not in stored  # identifiers hashed, values and tokens never written


async def test_token_requests_are_logged(db: asyncpg.Pool, http: httpx.AsyncClient) -> None:
    before = len(await _entries(db))
    await http.post("/oauth/token", data={"grant_type": "client_credentials",
                                          "client_id": "nobody", "client_secret": "x"})  # fmt: skip
    (entry,) = (await _entries(db))[before:]
    assert (entry.kind, entry.outcome, entry.status, entry.codes) == (
        "token",
        "refused",
        401,
        ["invalid_client"],
    )


async def test_auditors_search_who_looked_at_a_company(
    db: asyncpg.Pool, http: httpx.AsyncClient, token: Token
) -> None:
    async with db.acquire() as conn:
        await ingest(
            conn, source=Source.REGISTRATION, batch_ref="log", lines=numbered(REGISTRATION)
        )
    await http.post("/graphql", json=DOSSIER,
                    headers={"authorization": f"Bearer {await token('banking')}"})  # fmt: skip
    auditor = await token("auditor")
    answer = await http.post(
        "/graphql",
        json={"query": """query ($s: String!) { accessLog(subject: $s, first: 10) {
                entries { agency outcome fieldsRead } hasNextPage } }""",
              "variables": {"s": uscc(1)}},
        headers={"authorization": f"Bearer {auditor}"},
    )  # fmt: skip
    page = answer.json()["data"]["accessLog"]
    assert [e["agency"] for e in page["entries"]] == ["banking"]
    assert "Institution.shareholders" in page["entries"][0]["fieldsRead"]
    nosy = await http.post(
        "/graphql", json={"query": "{ accessLog { entries { agency } } }"},
        headers={"authorization": f"Bearer {await token('banking')}"},
    )  # fmt: skip
    assert nosy.json()["errors"][0]["extensions"]["code"] == "INSUFFICIENT_SCOPE"


async def test_no_entry_no_answer(db: asyncpg.Pool, http: httpx.AsyncClient, token: Token) -> None:
    async with db.acquire() as conn:
        await ingest(
            conn, source=Source.REGISTRATION, batch_ref="log", lines=numbered(REGISTRATION)
        )
    registration = await token("registration")
    await db.execute(
        """CREATE OR REPLACE FUNCTION registry_append_access_log_batch(canonicals text[])
           RETURNS bigint[] LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'disk full'; END $$"""
    )
    try:
        answer = await http.post(
            "/graphql", json=DOSSIER, headers={"authorization": f"Bearer {registration}"}
        )
        token_answer = await http.post("/oauth/token", data={"grant_type": "client_credentials"})
    finally:
        spec = importlib.util.spec_from_file_location("access_migration", MIGRATION)
        assert spec is not None and spec.loader is not None
        migration = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(migration)
        await db.execute(
            migration.APPEND_BATCH.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION")
        )
    assert answer.status_code == 503
    assert answer.json() == {
        "data": None,
        "errors": [{"message": answer.json()["errors"][0]["message"],
                    "extensions": {"code": "ACCESS_LOG_UNAVAILABLE"}}],
    }  # fmt: skip
    assert "上海甲" not in answer.text
    assert token_answer.status_code == 503
    assert token_answer.json()["error"] == "temporarily_unavailable"


async def test_concurrent_requests_share_commits_and_keep_the_chain(
    db: asyncpg.Pool, http: httpx.AsyncClient, token: Token
) -> None:
    import asyncio

    registration = await token("registration")
    before = await db.fetchval("SELECT count(*) FROM access_log")
    answers = await asyncio.gather(
        *(http.post("/graphql", json=DOSSIER, headers={"authorization": f"Bearer {registration}"})
          for _ in range(60))
    )  # fmt: skip
    assert {a.status_code for a in answers} == {200}
    assert await db.fetchval("SELECT count(*) FROM access_log") == before + 60
    rows = await db.fetch("SELECT canonical, prev_hash, entry_hash FROM access_log ORDER BY id")
    previous = b""
    for row in rows:
        assert bytes(row["prev_hash"] or b"") == previous
        assert bytes(row["entry_hash"]) == audit.entry_hash(previous, row["canonical"])
        previous = bytes(row["entry_hash"])
