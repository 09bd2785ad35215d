"""Account data only under a recorded legal basis: the right client, institution, time, uses."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import asyncpg
import pytest

from registry.ingest import ingest
from registry.records import Source
from tests.factories import numbered, uscc
from tests.schema.conftest import Run
from tests.schema.test_dossier import load
from tests.schema.test_scopes import principal

ACCOUNTS = [
    {"type": "account", "institution": uscc(1), "kind": "reserve", "bank": "中国银行股份有限公司",
     "number": "4563510100891234567", "balance": {"amount": "12000000"},
     "balance_date": "2016-09-30"},
    {"type": "account", "institution": uscc(1), "kind": "custody", "bank": "徽商银行股份有限公司",
     "number": "1102001809000012345"},
]  # fmt: skip

RECORD = """mutation ($input: LegalBasisInput!) { recordLegalBasis(input: $input) {
  id reference recordedBy } }"""
READ = """query ($u: String!, $basis: ID!) { institution(uscc: $u) { name
  accounts(legalBasisId: $basis) { kind bank number balance { amount } } } }"""
NOW = dt.datetime.now(dt.UTC)


async def _setup(db: asyncpg.Pool, gql: Run, **overrides: object) -> str:
    await load(db)
    async with db.acquire() as conn:
        await ingest(conn, source=Source.CENTRAL_BANK, batch_ref="acc", lines=numbered(ACCOUNTS))
    basis = {
        "reference": "沪公(经)调证字[2016]0123号",
        "issuingAuthority": "上海市公安局经济犯罪侦查总队",
        "clientId": "central_bank-test",
        "institutionUscc": uscc(1),
        "purpose": "非法集资案件资金查询",
        "validFrom": (NOW - dt.timedelta(days=1)).isoformat(),
        "validTo": (NOW + dt.timedelta(days=30)).isoformat(),
        "maxUses": 2,
        **overrides,
    }
    answer = await gql(RECORD, principal("leading_group"), input=basis)
    assert "errors" not in answer, answer
    assert answer["data"]["recordLegalBasis"]["recordedBy"] == "leading_group-test"
    return str(answer["data"]["recordLegalBasis"]["id"])


async def test_accounts_under_a_covering_basis(db: asyncpg.Pool, gql: Run) -> None:
    basis = await _setup(db, gql)
    answer = await gql(READ, principal("central_bank"), u=uscc(1), basis=basis)
    assert "errors" not in answer, answer
    accounts = answer["data"]["institution"]["accounts"]
    assert [(a["kind"], a["number"]) for a in accounts] == [
        ("RESERVE", "4563510100891234567"),
        ("CUSTODY", "1102001809000012345"),
    ]
    assert await db.fetchval("SELECT count(*) FROM legal_basis_use") == 1


def _refusal(answer: dict[str, Any], reason: str) -> None:
    institution = answer["data"]["institution"]
    assert institution["accounts"] is None
    assert institution["name"]  # only the account field is refused
    (error,) = answer["errors"]
    assert error["path"] == ["institution", "accounts"]
    assert error["extensions"]["code"] == "LEGAL_BASIS_REQUIRED"
    assert reason in error["message"], error["message"]


async def test_another_client_may_not_use_it(db: asyncpg.Pool, gql: Run) -> None:
    basis = await _setup(db, gql)
    someone = dataclasses.replace(principal("public_security"), client_id="public_security-x")
    _refusal(await gql(READ, someone, u=uscc(1), basis=basis), "issued to another client")


async def test_another_institution_is_not_covered(db: asyncpg.Pool, gql: Run) -> None:
    basis = await _setup(db, gql)
    _refusal(
        await gql(READ, principal("central_bank"), u=uscc(2), basis=basis),
        "covers another institution",
    )


async def test_outside_its_window(db: asyncpg.Pool, gql: Run) -> None:
    basis = await _setup(
        db, gql,
        validFrom=(NOW - dt.timedelta(days=30)).isoformat(),
        validTo=(NOW - dt.timedelta(days=1)).isoformat(),
    )  # fmt: skip
    _refusal(await gql(READ, principal("central_bank"), u=uscc(1), basis=basis), "not now")


async def test_uses_run_out(db: asyncpg.Pool, gql: Run) -> None:
    basis = await _setup(db, gql)
    for _ in range(2):
        assert "errors" not in await gql(READ, principal("central_bank"), u=uscc(1), basis=basis)
    _refusal(
        await gql(READ, principal("central_bank"), u=uscc(1), basis=basis), "used 2 of 2 times"
    )


async def test_unknown_basis(db: asyncpg.Pool, gql: Run) -> None:
    await _setup(db, gql)
    _refusal(await gql(READ, principal("central_bank"), u=uscc(1), basis="999"), "no legal basis")


async def test_scope_still_comes_first(db: asyncpg.Pool, gql: Run) -> None:
    basis = await _setup(db, gql)
    answer = await gql(READ, principal("banking"), u=uscc(1), basis=basis)
    assert answer["errors"][0]["extensions"]["code"] == "INSUFFICIENT_SCOPE"


async def test_no_client_authorises_itself(db: asyncpg.Pool, gql: Run) -> None:
    await _setup(db, gql)
    basis = {
        "reference": "自批[2016]1号", "issuingAuthority": "本机构", "clientId": "central_bank-test",
        "institutionUscc": uscc(1), "purpose": "自查", "maxUses": 1,
        "validFrom": NOW.isoformat(), "validTo": (NOW + dt.timedelta(days=1)).isoformat(),
    }  # fmt: skip
    answer = await gql(RECORD, principal("central_bank"), input=basis)
    assert answer["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert await db.fetchval("SELECT count(*) FROM legal_basis") == 1


async def test_records_are_append_only(db: asyncpg.Pool, gql: Run) -> None:
    await _setup(db, gql)
    for statement in ("UPDATE legal_basis SET max_uses = 99", "DELETE FROM legal_basis"):
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
            await db.execute(statement)
