"""Bad input gets a GraphQL error with a stable code and a message a person can act on."""

from __future__ import annotations

import asyncpg

from registry.ingest import ingest
from registry.records import Source
from tests.factories import institution, numbered, uscc
from tests.schema.conftest import Run


async def test_unknown_uscc_is_not_found(db: asyncpg.Pool, gql: Run) -> None:
    answer = await gql("query ($u: String) { institution(uscc: $u) { name } }", u=uscc(404))
    assert answer["data"] == {"institution": None}
    (error,) = answer["errors"]
    assert error["extensions"]["code"] == "NOT_FOUND"
    assert uscc(404) in error["message"]
    assert error["path"] == ["institution"]


async def test_malformed_uscc_names_the_rule_and_position(db: asyncpg.Pool, gql: Run) -> None:
    answer = await gql('{ institution(uscc: "91350100M000100Y4Z") { name } }')
    (error,) = answer["errors"]
    assert error["extensions"]["code"] == "INVALID_IDENTIFIER"
    assert error["extensions"]["rules"] == ["uscc.check"]
    assert "character 18" in error["message"] and "'3'" in error["message"]


async def test_uscc_and_id_together_are_refused(db: asyncpg.Pool, gql: Run) -> None:
    answer = await gql('query ($u: String) { institution(uscc: $u, id: "1") { name } }', u=uscc(1))
    assert answer["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_page_size_over_the_cap(db: asyncpg.Pool, gql: Run) -> None:
    answer = await gql("{ institutions(first: 101) { edges { cursor } } }")
    (error,) = answer["errors"]
    assert error["extensions"] == {"code": "PAGE_SIZE_TOO_LARGE", "maximum": 100}
    assert "between 1 and 100" in error["message"]


async def test_bad_cursor(db: asyncpg.Pool, gql: Run) -> None:
    for cursor in ["not-a-cursor", "WyJuYW1lIiwgMV0"]:  # garbage; a name cursor for an id search
        answer = await gql(
            "query ($a: String) { institutions(after: $a) { edges { cursor } } }", a=cursor
        )
        assert answer["errors"][0]["extensions"]["code"] == "INVALID_CURSOR", cursor


async def test_invalid_document_is_a_validation_error(db: asyncpg.Pool, gql: Run) -> None:
    answer = await gql("{ institution(uscc: 1) { nonsense } }")
    assert {e["extensions"]["code"] for e in answer["errors"]} == {"GRAPHQL_VALIDATION_FAILED"}


async def test_bad_division_filter(db: asyncpg.Pool, gql: Run) -> None:
    async with db.acquire() as conn:
        await ingest(
            conn,
            source=Source.REGISTRATION,
            batch_ref="b",
            lines=numbered([institution(1, "上海甲网络科技有限公司")]),
        )
    answer = await gql('{ institutions(filter: {division: "31x"}) { edges { cursor } } }')
    assert answer["errors"][0]["extensions"]["code"] == "INVALID_IDENTIFIER"
