"""The demo generator: valid records, safe order, and the structure it promises."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from decimal import Decimal
from typing import Any

import pytest

from registry.demo import DemoPlan, generate
from registry.identifiers import is_masked_resident_id, parse_uscc
from registry.records import RECORD_ADAPTER, Source

Stream = list[tuple[Source, dict[str, Any]]]

SMALL = DemoPlan(institutions=2_000)
ICP_BY_PROVINCE = {
    "11": "京",
    "22": "吉",
    "31": "沪",
    "33": "浙",
    "41": "豫",
    "44": "粤",
    "50": "渝",
}


@pytest.fixture(scope="module")
def small() -> Stream:
    return list(generate(SMALL))


@pytest.fixture(scope="module")
def default() -> Stream:
    return list(generate(DemoPlan()))


def of_type(stream: Stream, kind: str) -> list[dict[str, Any]]:
    return [record for _, record in stream if record["type"] == kind]


def holdings_graph(stream: Stream) -> dict[str, list[str]]:
    """held uscc -> the institutions that hold it."""
    graph: dict[str, list[str]] = defaultdict(list)
    for record in of_type(stream, "shareholding"):
        if record["holder"]["kind"] == "institution":
            graph[record["institution"]].append(record["holder"]["uscc"])
    return graph


def depths(graph: dict[str, list[str]]) -> dict[str, int]:
    """Levels of institutions above each one, walking holder edges; a cycle stops a walk."""
    depth: dict[str, int] = {}
    for start in list(graph):
        stack: list[tuple[str, int]] = [(start, 0)]
        on_path: list[str] = []
        while stack:
            node, state = stack.pop()
            if state == 1:
                on_path.pop()
                above = [depth[h] + 1 for h in graph.get(node, ()) if h in depth]
                depth[node] = max(above, default=0)
                continue
            if node in depth or node in on_path:
                continue
            on_path.append(node)
            stack.append((node, 1))
            stack.extend((h, 0) for h in graph.get(node, ()))
    return depth


def test_every_record_is_valid_json_and_validates(small: Stream) -> None:
    for source, record in small:
        assert isinstance(source, Source)
        assert json.loads(json.dumps(record, ensure_ascii=False)) == record
        RECORD_ADAPTER.validate_python(record)


def test_counts_match_the_plan(small: Stream) -> None:
    assert len(of_type(small, "institution")) == SMALL.institutions
    kinds = Counter((source, record["type"]) for source, record in small)
    for expected in [
        (Source.REGISTRATION, "shareholding"),
        (Source.REGISTRATION, "position"),
        (Source.REGISTRATION, "list_entry"),
        (Source.REGISTRATION, "branch"),
        (Source.CENTRAL_BANK, "licence"),
        (Source.BANKING, "classification"),
        (Source.SECURITIES, "licence"),
        (Source.TELECOM, "website"),
    ]:
        assert kinds[expected] > 0, expected
    assert not {Source.PUBLIC_SECURITY, Source.LEADING_GROUP} & {s for s, _ in small}


def test_usccs_are_unique_and_valid(small: Stream) -> None:
    codes = [r["uscc"] for r in of_type(small, "institution")]
    codes += [r["branch_uscc"] for r in of_type(small, "branch")]
    assert len(set(codes)) == len(codes)
    for record in of_type(small, "institution"):
        parsed = parse_uscc(record["uscc"])
        assert parsed.code == record["uscc"]
        assert not parsed.pilot_check_failure
        assert parsed.division == record["division"]
        assert parsed.code[:2] == "91"


def test_names_are_unique(small: Stream) -> None:
    names = [r["name"] for r in of_type(small, "institution")]
    names += [former for r in of_type(small, "institution") for former in r.get("former_names", [])]
    assert len(set(names)) == len(names)


def test_institutions_come_first_and_everything_else_names_them(small: Stream) -> None:
    seen: set[str] = set()
    past_institutions = False
    for source, record in small:
        if record["type"] == "institution":
            assert not past_institutions, "an institution record after other records"
            assert source is Source.REGISTRATION
            seen.add(record["uscc"])
            continue
        past_institutions = True
        assert record["institution"] in seen
        if record["type"] == "shareholding" and record["holder"]["kind"] == "institution":
            assert record["holder"]["uscc"] in seen


def test_shares_add_up(small: Stream) -> None:
    exact: dict[str, list[Decimal]] = defaultdict(list)
    low: dict[str, Decimal] = defaultdict(Decimal)
    banded: set[str] = set()
    for record in of_type(small, "shareholding"):
        share = record["share"]
        if "exact" in share:
            exact[record["institution"]].append(Decimal(share["exact"]))
            low[record["institution"]] += Decimal(share["exact"])
        else:
            banded.add(record["institution"])
            low[record["institution"]] += Decimal(share["min"])
            assert Decimal(share["min"]) < Decimal(share["max"])
    assert banded, "some holdings should be published as bands"
    for institution, total in low.items():
        assert total <= 100, institution
        if institution not in banded:
            assert sum(exact[institution]) == 100, institution


def test_amounts_follow_capital_and_share(small: Stream) -> None:
    capital = {
        r["uscc"]: Decimal(r["registered_capital"]["amount"]) for r in of_type(small, "institution")
    }
    for record in of_type(small, "shareholding"):
        if "subscribed" not in record:
            continue
        subscribed = Decimal(record["subscribed"]["amount"])
        expected = capital[record["institution"]] * Decimal(record["share"]["exact"]) / 100
        assert subscribed == expected
        if "paid_in" in record:
            assert Decimal(record["paid_in"]["amount"]) <= subscribed


def test_a_chain_ten_deep_exists(small: Stream) -> None:
    assert max(depths(holdings_graph(small)).values()) >= 10


def test_deep_chains_reach_half_a_percent(default: Stream) -> None:
    deep = sum(1 for d in depths(holdings_graph(default)).values() if d >= 10)
    assert deep >= 0.005 * DemoPlan().institutions


def test_most_ownership_is_shallow(default: Stream) -> None:
    found = depths(holdings_graph(default))
    shallow = sum(1 for d in found.values() if d <= 2) + DemoPlan().institutions - len(found)
    assert shallow >= 0.9 * DemoPlan().institutions


def test_cycles_exist(small: Stream) -> None:
    graph = holdings_graph(small)
    edges = {(holder, held) for held, holders in graph.items() for holder in holders}
    two = {(a, b) for a, b in edges if (b, a) in edges}
    three = {
        (a, b, c)
        for a, b in edges
        for c in graph.get(a, ())
        if (b, c) in edges and len({a, b, c}) == 3
    }
    assert two or three


def test_a_few_institutions_hold_many(default: Stream) -> None:
    held = Counter(
        r["holder"]["uscc"]
        for r in of_type(default, "shareholding")
        if r["holder"]["kind"] == "institution"
    )
    counts = sorted(held.values(), reverse=True)
    assert counts[0] >= 50
    assert counts[len(counts) // 2] <= 3


def test_holders_are_mostly_persons(small: Stream) -> None:
    kinds = Counter(r["holder"]["kind"] for r in of_type(small, "shareholding"))
    share = kinds["person"] / sum(kinds.values())
    assert 0.5 < share < 0.7
    assert kinds["state_body"] > 0


def test_persons_recur_across_companies(small: Stream) -> None:
    companies: dict[str, set[str]] = defaultdict(set)
    masked = 0
    for record in of_type(small, "position") + of_type(small, "shareholding"):
        person = record.get("person") or record["holder"].get("person")
        if person is None:
            continue
        if is_masked_resident_id(person["id_number"]):
            masked += 1
        else:
            companies[person["id_number"]].add(record["institution"])
    spread = Counter(len(c) for c in companies.values())
    assert max(spread) >= 10
    assert sum(v for k, v in spread.items() if k >= 2) > len(companies) / 2
    assert masked > 0


def test_each_institution_has_one_legal_representative(small: Stream) -> None:
    legal = Counter(
        r["institution"] for r in of_type(small, "position") if r["role"] == "legal_representative"
    )
    assert set(legal) == {r["uscc"] for r in of_type(small, "institution")}
    assert set(legal.values()) == {1}
    keys = [
        (r["institution"], r["person"]["id_number"], r["role"]) for r in of_type(small, "position")
    ]
    unmasked = [k for k in keys if not is_masked_resident_id(k[1])]
    assert len(set(unmasked)) == len(unmasked)


def test_partnerships_have_a_managing_partner_with_one_percent(small: Stream) -> None:
    partnerships = {
        r["uscc"] for r in of_type(small, "institution") if r["enterprise_type"] == "有限合伙企业"
    }
    assert partnerships
    managing = {
        r["institution"]: r
        for r in of_type(small, "shareholding")
        if r.get("interests") == ["managing_partner"]
    }
    assert set(managing) == partnerships
    assert all(r["share"].get("exact", "1.00") == "1.00" for r in managing.values())


def test_state_owned_companies_are_held_by_a_state_body(small: Stream) -> None:
    state_owned = {
        r["uscc"] for r in of_type(small, "institution") if "国有独资" in r["enterprise_type"]
    }
    assert state_owned
    holders = defaultdict(list)
    for r in of_type(small, "shareholding"):
        if r["institution"] in state_owned:
            holders[r["institution"]].append(r)
    for records in holders.values():
        assert len(records) == 1
        assert records[0]["holder"]["kind"] == "state_body"
        assert records[0]["share"] == {"exact": "100.00"}


def test_sources_disagree_on_some_p2p_platforms(default: Stream) -> None:
    by_source: dict[str, dict[Source, str]] = defaultdict(dict)
    for source, record in default:
        if record["type"] == "classification":
            by_source[record["institution"]][source] = record["domain"]
    disputed = [
        u
        for u, domains in by_source.items()
        if domains.get(Source.BANKING) == "p2p_lending"
        and domains.get(Source.CENTRAL_BANK) == "internet_asset_management"
    ]
    assert 10 <= len(disputed) <= 40


def test_icp_filings_match_the_division(small: Stream) -> None:
    division = {r["uscc"]: r["division"] for r in of_type(small, "institution")}
    filings = [r for r in of_type(small, "website") if r.get("filing_number")]
    assert filings
    for record in filings:
        assert record["filing_number"][0] == ICP_BY_PROVINCE[division[record["institution"]][:2]]


def test_some_scopes_trip_the_entry_screening(default: Stream) -> None:
    words = ("金融", "资产管理", "投资管理", "网络借贷", "支付", "股权众筹", "基金", "财富管理")
    institutions = of_type(default, "institution")
    flagged = sum(
        1 for r in institutions if any(w in r["name"] + r["business_scope"] for w in words)
    )
    assert 0.03 < flagged / len(institutions) < 0.08


def test_same_seed_same_stream_other_seed_other_stream(small: Stream) -> None:
    assert list(generate(SMALL)) == small
    other = list(generate(DemoPlan(institutions=SMALL.institutions, seed=SMALL.seed + 1)))
    assert other != small
    assert of_type(other, "institution")[0] != of_type(small, "institution")[0]


def test_tiny_plans_work() -> None:
    for n in (0, 1, 2, 15):
        stream = list(generate(DemoPlan(institutions=n)))
        assert len(of_type(stream, "institution")) == n
        for _, record in stream:
            RECORD_ADAPTER.validate_python(record)
