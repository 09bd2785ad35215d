"""Look-through over GraphQL: the registry's answers, mapped field for field."""

from __future__ import annotations

import asyncpg

from registry.ingest import ingest
from registry.records import Source
from tests.factories import (
    held_by_institution,
    held_by_person,
    holding,
    institution,
    numbered,
    position,
    resident_id,
    uscc,
)
from tests.schema.conftest import Run
from tests.schema.test_scopes import principal

# A (1) is held 60 % by B (2) and 40 % by 李四; B is held 100 % by 王五, who chairs A.
GRAPH = [
    institution(1, "上海甲网络借贷信息中介有限公司"),
    institution(2, "上海乙投资管理有限公司"),
    holding(1, held_by_institution(2, "上海乙投资管理有限公司"), "60"),
    holding(1, held_by_person(4, "李四"), "40"),
    holding(2, held_by_person(5, "王五"), "100"),
    position(1, {"name": "王五", "id_number": resident_id(5)}, "legal_representative", "董事长"),
]

OWNERS = """query ($u: String!, $depth: Int!) { institution(uscc: $u) {
  ultimateOwners(maxDepth: $depth) {
    owners { party { kind name } end share { low high exact }
             paths { hops { holder { name } held { name } statedShare { exact } } } }
    truncated reasons }
  actualController { controller { name kind } chains { steps { rules controller { name } } end } }
  holderCount { count exceeds200 byKind { kind holders } }
  extendedSupervision { institution { name } links { via { name } roleAtSubject relation } }
} }"""


async def _load(db: asyncpg.Pool) -> None:
    async with db.acquire() as conn:
        report = await ingest(
            conn, source=Source.REGISTRATION, batch_ref="g", lines=numbered(GRAPH)
        )
    assert report.quarantined == 0, report.rejected


async def test_owners_controller_count_and_links(db: asyncpg.Pool, gql: Run) -> None:
    await _load(db)
    answer = await gql(OWNERS, principal("banking"), u=uscc(1), depth=20)
    assert "errors" not in answer, answer
    file = answer["data"]["institution"]
    owners = {o["party"]["name"]: o for o in file["ultimateOwners"]["owners"]}
    assert owners["王五"]["share"] == {"low": "60", "high": "60", "exact": True}
    assert owners["李四"]["share"]["low"] == "40"
    assert owners["王五"]["end"] == "NATURAL_PERSON"
    assert [h["holder"]["name"] for h in owners["王五"]["paths"][0]["hops"]] == [
        "上海乙投资管理有限公司",
        "王五",
    ]
    assert file["ultimateOwners"]["truncated"] is False
    control = file["actualController"]
    assert control["controller"] == {"name": "王五", "kind": "PERSON"}
    assert [s["rules"] for s in control["chains"][0]["steps"]] == [["MAJORITY"], ["MAJORITY"]]
    assert file["holderCount"]["count"] == 2 and file["holderCount"]["exceeds200"] is False
    linked = {i["institution"]["name"] for i in file["extendedSupervision"]}
    assert linked == {"上海乙投资管理有限公司"}


async def test_cut_short_says_why(db: asyncpg.Pool, gql: Run) -> None:
    await _load(db)
    answer = await gql(OWNERS, principal("banking"), u=uscc(1), depth=1)
    owners = answer["data"]["institution"]["ultimateOwners"]
    assert owners["truncated"] is True and owners["reasons"] == ["DEPTH_LIMIT"]


async def test_holdings_connections_and_groups(db: asyncpg.Pool, gql: Run) -> None:
    await _load(db)
    wang = await db.fetchval("SELECT id FROM person WHERE name = '王五'")
    li = await db.fetchval("SELECT id FROM person WHERE name = '李四'")
    answer = await gql(
        """query ($wang: ID!, $li: ID!) {
          person(id: $wang) { holdingsLookThrough {
            held { institution { name } share { low } }
            controlled { members { institution { name } } } } }
          connections(a: {kind: PERSON, id: $li}, b: {kind: PERSON, id: $wang}) {
            length chains { parties { name } links { relation } } }
          group(controller: {kind: PERSON, id: $wang}) { members { institution { name } } }
        }""",
        principal("leading_group"),
        wang=str(wang),
        li=str(li),
    )
    assert "errors" not in answer, answer
    held = {h["institution"]["name"]: h["share"]["low"]
            for h in answer["data"]["person"]["holdingsLookThrough"]["held"]}  # fmt: skip
    assert held == {"上海乙投资管理有限公司": "100", "上海甲网络借贷信息中介有限公司": "60"}
    connected = answer["data"]["connections"]
    assert connected["length"] == 2
    assert connected["chains"][0]["parties"][1]["name"] == "上海甲网络借贷信息中介有限公司"
    members = {m["institution"]["name"] for m in answer["data"]["group"]["members"]}
    assert members == {"上海甲网络借贷信息中介有限公司", "上海乙投资管理有限公司"}


async def test_look_through_needs_the_shareholders_scope(db: asyncpg.Pool, gql: Run) -> None:
    await _load(db)
    answer = await gql(OWNERS, principal("telecom"), u=uscc(1), depth=20)
    assert answer["errors"][0]["extensions"]["code"] == "INSUFFICIENT_SCOPE"
    assert "Institution.ultimateOwners" in answer["errors"][0]["extensions"]["denied"]
