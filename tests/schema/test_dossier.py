"""The dossier over GraphQL: every part of one institution's file, and its provenance."""

from __future__ import annotations

import datetime as dt
from typing import Any

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

T0 = dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC)
T1 = dt.datetime(2026, 5, 1, 12, tzinfo=dt.UTC)

REGISTRATION: list[dict[str, Any]] = [
    institution(
        1,
        "上海甲网络科技有限公司",
        former_names=["上海甲信息技术有限公司"],
        enterprise_type="有限责任公司（自然人投资或控股）",
        registered_capital={"amount": "50000000", "currency": "CNY"},
        established="2014-06-18",
        term_start="2014-06-18",
        registration_authority="上海市浦东新区市场监督管理局",
        status="存续",
        address="上海市浦东新区张江路1号",
        business_scope="网络科技、金融信息服务（除金融业务）",
    ),
    institution(2, "上海乙投资管理有限公司", status="吊销", status_date="2019-05-01"),
    holding(
        1,
        held_by_institution(2),
        "60",
        subscribed={"amount": "30000000"},
        paid_in={"amount": "10000000"},
        subscribed_date="2034-12-31",
        interests=["shareholding", "board_appointment"],
    ),
    holding(1, held_by_person(7, "王小明"), None),
    holding(1, {"kind": "unknown"}, None),
    position(
        1, {"name": "王小明", "id_number": resident_id(7)}, "legal_representative", "执行董事"
    ),
    position(2, {"name": "王小明", "id_number": resident_id(7)}, "supervisor", "监事"),
    {
        "type": "list_entry",
        "institution": uscc(1),
        "list": "abnormal_operation",
        "reason": "通过登记的住所或者经营场所无法联系",
        "listed_on": "2020-01-02",
    },
    {"type": "branch", "institution": uscc(1), "branch_name": "上海甲网络科技有限公司杭州分公司"},
]
# shares in bands, as the registry publishes them for some holders
REGISTRATION[3]["share"] = {"min": "25", "max": "50", "max_inclusive": False}

CENTRAL_BANK: list[dict[str, Any]] = [
    {
        "type": "licence",
        "institution": uscc(1),
        "issuer": "central_bank",
        "licence_type": "payment",
        "number": "Z2000133000019",
        "business_types": ["互联网支付", "移动电话支付"],
        "valid_from": "2016-08-29",
        "valid_to": "2026-08-28",
    },
    {
        "type": "classification",
        "institution": uscc(1),
        "domain": "p2p_lending",
        "nature": "信用中介",
    },
]
BANKING: list[dict[str, Any]] = [
    {
        "type": "classification",
        "institution": uscc(1),
        "domain": "p2p_lending",
        "nature": "信息中介",
        "remediation_class": "rectify",
    },
]
TELECOM: list[dict[str, Any]] = [
    {
        "type": "website",
        "institution": uscc(1),
        "kind": "website",
        "filing_number": "沪ICP备12345678号-1",
        "domain": "jia.example.cn",
    },
]

DOSSIER = """
query ($uscc: String!) {
  institution(uscc: $uscc) {
    uscc name formerNames enterpriseType status statusDate
    registeredCapital { amount currency }
    established businessTerm { start end indefinite }
    registrationAuthority address businessScope
    division { code province prefecture }
    legalRepresentative { role title person { name idNumberMasked } }
    personnel { role title }
    shareholders {
      share { exact min max minInclusive maxInclusive }
      subscribed { amount } paidIn { amount } subscribedDate interests
      holder {
        __typename
        ... on Institution { uscc name status }
        ... on Person { name idNumberMasked maskedAtSource }
        ... on UnknownParty { kind }
      }
    }
    licences { licenceType number issuer businessTypes validFrom validTo }
    websites { kind filingNumber domain }
    classifications {
      domain nature remediationClass
      provenance(fields: ["nature"]) {
        field value disputed sources { source value governing batchRef }
      }
    }
    listEntries { list reason listedOn }
    branches { branchName }
  }
}
"""


async def load(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        feeds: list[tuple[Source, list[dict[str, Any]]]] = [
            (Source.REGISTRATION, REGISTRATION),
            (Source.CENTRAL_BANK, CENTRAL_BANK),
            (Source.BANKING, BANKING),
            (Source.TELECOM, TELECOM),
        ]
        for source, records in feeds:
            report = await ingest(
                conn,
                source=source,
                batch_ref=f"{source.value}-1",
                lines=numbered(records),
                observed_at=T0,
            )
            assert report.quarantined == 0, report.rejected


async def test_the_whole_file_of_one_institution(db: asyncpg.Pool, gql: Run) -> None:
    await load(db)
    answer = await gql(DOSSIER, uscc=uscc(1))
    assert "errors" not in answer, answer
    file: dict[str, Any] = answer["data"]["institution"]
    assert file["name"] == "上海甲网络科技有限公司"
    assert file["formerNames"] == ["上海甲信息技术有限公司"]
    assert file["status"] == "ACTIVE"
    assert file["registeredCapital"] == {"amount": "50000000.0000", "currency": "CNY"}
    assert file["businessTerm"] == {"start": "2014-06-18", "end": None, "indefinite": True}
    assert file["division"] == {"code": "310115", "province": "310000", "prefecture": "310100"}
    assert file["legalRepresentative"] == {
        "role": "LEGAL_REPRESENTATIVE",
        "title": "执行董事",
        "person": {
            "name": "王小明",
            "idNumberMasked": resident_id(7)[:6] + "********" + resident_id(7)[-4:],
        },
    }
    holders = {h["holder"]["__typename"]: h for h in file["shareholders"]}
    assert holders["Institution"]["holder"] == {
        "__typename": "Institution",
        "uscc": uscc(2),
        "name": "上海乙投资管理有限公司",
        "status": "REVOKED",
    }
    assert holders["Institution"]["share"]["exact"] == "60.00000000"
    assert holders["Institution"]["subscribed"] == {"amount": "30000000.0000"}
    assert holders["Institution"]["interests"] == ["SHAREHOLDING", "BOARD_APPOINTMENT"]
    assert holders["Person"]["share"] == {
        "exact": None,
        "min": "25.00000000",
        "max": "50.00000000",
        "minInclusive": True,
        "maxInclusive": False,
    }
    assert holders["UnknownParty"]["holder"] == {"__typename": "UnknownParty", "kind": "UNKNOWN"}
    assert file["licences"] == [
        {
            "licenceType": "PAYMENT",
            "number": "Z2000133000019",
            "issuer": "CENTRAL_BANK",
            "businessTypes": ["互联网支付", "移动电话支付"],
            "validFrom": "2016-08-29",
            "validTo": "2026-08-28",
        }
    ]
    assert file["websites"] == [
        {"kind": "WEBSITE", "filingNumber": "沪ICP备12345678号-1", "domain": "jia.example.cn"}
    ]
    assert file["listEntries"][0]["list"] == "ABNORMAL_OPERATION"
    assert file["branches"] == [{"branchName": "上海甲网络科技有限公司杭州分公司"}]


async def test_disagreeing_characterisations_show_governing_and_other(
    db: asyncpg.Pool, gql: Run
) -> None:
    await load(db)
    answer = await gql(DOSSIER, uscc=uscc(1))
    (classification,) = answer["data"]["institution"]["classifications"]
    # the banking regulator leads P2P, so its determination governs
    assert classification["nature"] == "信息中介"
    assert classification["remediationClass"] == "RECTIFY"
    (nature,) = classification["provenance"]
    assert nature["disputed"] is True
    assert nature["sources"] == [
        {"source": "BANKING", "value": "信息中介", "governing": True, "batchRef": "banking-1"},
        {
            "source": "CENTRAL_BANK",
            "value": "信用中介",
            "governing": False,
            "batchRef": "central_bank-1",
        },
    ]


async def test_person_with_every_post_and_holding(db: asyncpg.Pool, gql: Run) -> None:
    await load(db)
    person_id = await db.fetchval("SELECT id FROM person")
    answer = await gql(
        """query ($id: ID!) { person(id: $id) {
             name idNumber positions { role institution { name } }
             holdings { institution { name } } } }""",
        id=str(person_id),
    )
    person = answer["data"]["person"]
    assert person["idNumber"] == resident_id(7)
    assert sorted((p["role"], p["institution"]["name"]) for p in person["positions"]) == [
        ("LEGAL_REPRESENTATIVE", "上海甲网络科技有限公司"),
        ("SUPERVISOR", "上海乙投资管理有限公司"),
    ]
    assert person["holdings"] == [{"institution": {"name": "上海甲网络科技有限公司"}}]


async def test_provenance_says_where_each_field_came_from(db: asyncpg.Pool, gql: Run) -> None:
    await load(db)
    async with db.acquire() as conn:
        await ingest(
            conn,
            source=Source.REGISTRATION,
            batch_ref="registration-2",
            lines=numbered(REGISTRATION),
            observed_at=T1,
        )
    answer = await gql(
        """query ($uscc: String!) { institution(uscc: $uscc) {
             provenance(fields: ["name"]) { field value disputed
               sources { source governing batchRef firstSeen lastSeen } } } }""",
        uscc=uscc(1),
    )
    (name,) = answer["data"]["institution"]["provenance"]
    assert name["value"] == "上海甲网络科技有限公司" and name["disputed"] is False
    (source,) = name["sources"]
    assert source["source"] == "REGISTRATION" and source["governing"] is True
    assert source["batchRef"] == "registration-1"
    assert dt.datetime.fromisoformat(source["firstSeen"]) == T0
    assert dt.datetime.fromisoformat(source["lastSeen"]) == T1


async def test_as_of_answers_what_was_true_then(db: asyncpg.Pool, gql: Run) -> None:
    await load(db)
    between = await db.fetchval("SELECT clock_timestamp()")
    renamed = [dict(REGISTRATION[0], name="上海甲金融信息服务有限公司"), *REGISTRATION[1:3]]
    async with db.acquire() as conn:
        await ingest(
            conn,
            source=Source.REGISTRATION,
            batch_ref="registration-2",
            lines=numbered(renamed),
            kind="snapshot",
            observed_at=T1,
        )
    query = """query ($uscc: String!, $asOf: Date, $knownAt: DateTime) {
      institution(uscc: $uscc, asOf: $asOf, knownAt: $knownAt) {
        name shareholders { holder { __typename } } legalRepresentative { title } } }"""
    now = (await gql(query, uscc=uscc(1)))["data"]["institution"]
    before = (await gql(query, uscc=uscc(1), asOf="2026-04-01"))["data"]["institution"]
    after = (await gql(query, uscc=uscc(1), asOf="2026-05-02"))["data"]["institution"]
    known_then = (await gql(query, uscc=uscc(1), asOf="2026-06-01", knownAt=between.isoformat()))[
        "data"
    ]["institution"]
    assert now["name"] == after["name"] == "上海甲金融信息服务有限公司"
    assert len(now["shareholders"]) == 1
    # a snapshot is complete only for the kinds it carries: this one carried no posts
    assert now["legalRepresentative"] == {"title": "执行董事"}
    assert before["name"] == "上海甲网络科技有限公司"
    assert len(before["shareholders"]) == 3
    assert before["legalRepresentative"] == {"title": "执行董事"}
    # before the second batch the registry did not know of the rename or the departures
    assert known_then["name"] == "上海甲网络科技有限公司"
    assert len(known_then["shareholders"]) == 3


async def test_the_one_statement_file_matches_the_loaders(db: asyncpg.Pool, gql: Run) -> None:
    """`institution` reads the current file in one statement; a search result reads the same
    parts through the per-kind loaders. Both must give the same answer."""
    await load(db)
    opening = "institution(uscc: $uscc)"
    fields = DOSSIER[DOSSIER.index(opening) + len(opening) :].rstrip()[: -len("}")]
    direct = await gql(DOSSIER, uscc=uscc(1))
    searched = await gql(
        "query ($uscc: String!) { institutions(filter: {uscc: $uscc}) { edges { node "
        + fields
        + " } } }",
        uscc=uscc(1),
    )
    assert "errors" not in searched, searched
    (edge,) = searched["data"]["institutions"]["edges"]
    assert edge["node"] == direct["data"]["institution"]
