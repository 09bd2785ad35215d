"""Search by Chinese name (partial, fuzzy, former names), filters, and keyset pagination."""

from __future__ import annotations

import asyncpg

from registry import search
from registry.ingest import ingest
from registry.records import Source
from tests.factories import institution, numbered, uscc
from tests.schema.conftest import Run

NAMES = [
    "上海招财宝网络科技有限公司",
    "上海招商金融信息服务有限公司",
    "杭州蚂蚁网络借贷信息中介有限公司",
    "北京乐融多源投资管理有限公司",
    "重庆江津区鑫源资产管理有限公司",
]

SEARCH = """query ($filter: InstitutionFilter, $first: Int!, $after: String) {
  institutions(filter: $filter, first: $first, after: $after) {
    edges { cursor score node { name uscc } }
    pageInfo { hasNextPage endCursor }
  } }"""


async def load(pool: asyncpg.Pool) -> None:
    records = [
        institution(i + 1, name, status="吊销" if i == 3 else "存续")
        for i, name in enumerate(NAMES)
    ]
    records[4]["uscc"] = uscc(5, "500116")
    records[0]["former_names"] = ["上海余额宝科技有限公司"]
    records += [
        {
            "type": "licence",
            "institution": uscc(2),
            "issuer": "central_bank",
            "licence_type": "payment",
            "number": "Z2000133000019",
        },
    ]
    async with pool.acquire() as conn:
        report = await ingest(
            conn, source=Source.REGISTRATION, batch_ref="b", lines=numbered(records)
        )
        assert report.quarantined == 0


async def names(gql: Run, **filter: object) -> list[str]:
    answer = await gql(SEARCH, filter=filter, first=10)
    assert "errors" not in answer, answer
    return [e["node"]["name"] for e in answer["data"]["institutions"]["edges"]]


async def test_partial_name(db: asyncpg.Pool, gql: Run) -> None:
    await load(db)
    assert await names(gql, name="招财宝") == ["上海招财宝网络科技有限公司"]
    assert await names(gql, name="网络借贷") == ["杭州蚂蚁网络借贷信息中介有限公司"]
    assert sorted(await names(gql, name="上海招")) == sorted(NAMES[:2])


async def test_fuzzy_name_finds_a_typo(db: asyncpg.Pool, gql: Run) -> None:
    await load(db)
    # 乐融多原 for 乐融多源: no exact bigram match for 多原, the others still rank it first
    assert (await names(gql, name="乐融多原投资"))[0] == "北京乐融多源投资管理有限公司"


async def test_former_names_count(db: asyncpg.Pool, gql: Run) -> None:
    await load(db)
    assert await names(gql, name="余额宝") == ["上海招财宝网络科技有限公司"]


async def test_filters(db: asyncpg.Pool, gql: Run) -> None:
    await load(db)
    assert await names(gql, division="500116") == ["重庆江津区鑫源资产管理有限公司"]
    assert await names(gql, division="50") == ["重庆江津区鑫源资产管理有限公司"]
    assert await names(gql, status=["REVOKED"]) == ["北京乐融多源投资管理有限公司"]
    assert await names(gql, licenceType="PAYMENT") == ["上海招商金融信息服务有限公司"]
    assert await names(gql, uscc=uscc(3)) == ["杭州蚂蚁网络借贷信息中介有限公司"]
    assert await names(gql, name="上海", licenceType="PAYMENT") == ["上海招商金融信息服务有限公司"]


async def test_keyset_pages_cover_everything_once(db: asyncpg.Pool, gql: Run) -> None:
    await load(db)
    for filter in ({}, {"name": "有限公司"}):
        seen: list[str] = []
        after = None
        while True:
            answer = await gql(SEARCH, filter=filter, first=2, after=after)
            page = answer["data"]["institutions"]
            seen += [e["node"]["uscc"] for e in page["edges"]]
            if not page["pageInfo"]["hasNextPage"]:
                break
            after = page["pageInfo"]["endCursor"]
        assert sorted(seen) == sorted({*seen}) and len(seen) == len(NAMES), filter


async def test_python_bigrams_match_the_index(db: asyncpg.Pool) -> None:
    for name in [*NAMES, "Ａ股 （上海）·投资，有限公司", "x"]:
        indexed = await db.fetchval(
            "SELECT array(SELECT unnest(tsvector_to_array(registry_name_bigrams($1, '{}'))))",
            name,
        )
        assert sorted(indexed) == search.bigrams(name), name
