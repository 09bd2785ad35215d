"""Look-through on tiny hand-worked graphs, each loaded through the ingest."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import asyncpg
import pytest

from registry.dossier import Moment
from registry.errors import InvalidArgument, NotFound
from registry.ingest import BatchKind, ingest
from registry.lookthrough import (
    ControlRule,
    EndKind,
    HolderKind,
    Interval,
    OwnershipAnswer,
    Party,
    Relation,
    actual_controller,
    connections,
    extended_supervision,
    group_of,
    holder_count,
    holdings_of,
    ultimate_owners,
)
from registry.records import PartyKind, Source
from tests.factories import (
    held_by_institution,
    held_by_person,
    holding,
    institution,
    numbered,
    person,
    position,
    resident_id,
    uscc,
)

T0 = dt.datetime(2026, 3, 1, 4, tzinfo=dt.UTC)
T1 = dt.datetime(2026, 4, 1, 4, tzinfo=dt.UTC)


async def _load(
    conn: asyncpg.Connection,
    records: list[dict[str, Any]],
    ref: str = "b1",
    *,
    source: Source = Source.REGISTRATION,
    kind: BatchKind = "delta",
    observed_at: dt.datetime = T0,
) -> None:
    report = await ingest(
        conn,
        source=source,
        batch_ref=ref,
        lines=numbered(records),
        kind=kind,
        observed_at=observed_at,
    )
    assert report.quarantined == 0, report.rejected


async def _inst(conn: asyncpg.Connection, n: int) -> int:
    found: int = await conn.fetchval("SELECT id FROM institution WHERE uscc = $1", uscc(n))
    return found


async def _person(conn: asyncpg.Connection, n: int) -> int:
    key = f"resident_id:{resident_id(n)}"
    found: int = await conn.fetchval("SELECT id FROM person WHERE key = $1", key)
    return found


def _holding(of: int, holder: dict[str, Any], share: dict[str, Any]) -> dict[str, Any]:
    return {"type": "shareholding", "institution": uscc(of), "holder": holder, "share": share}


def _band(
    low: str | None = None,
    high: str | None = None,
    *,
    min_inclusive: bool = True,
    max_inclusive: bool = True,
) -> dict[str, Any]:
    share: dict[str, Any] = {"min_inclusive": min_inclusive, "max_inclusive": max_inclusive}
    if low is not None:
        share["min"] = low
    if high is not None:
        share["max"] = high
    return share


def _shares(answer: OwnershipAnswer) -> dict[str | None, tuple[Interval, EndKind]]:
    return {o.party.name: (o.share, o.end) for o in answer.owners}


def _iv(low: str, high: str | None = None) -> Interval:
    return Interval(Decimal(low), Decimal(high if high is not None else low))


STATE = {"kind": "state_body", "name": "国务院国有资产监督管理委员会"}


# --- ultimate owners ---------------------------------------------------------------------


async def test_paths_to_the_same_person_add_up_and_all_owners_make_the_whole(
    db: asyncpg.Pool,
) -> None:
    records = [
        institution(1, "上海甲网络科技有限公司"),
        institution(2, "上海乙投资管理有限公司"),
        holding(1, held_by_institution(2, "上海乙投资管理有限公司"), "60"),
        holding(1, held_by_person(7, "王小明"), "40"),
        holding(2, held_by_person(7, "王小明"), "50"),
        holding(2, held_by_person(8, "李四"), "50"),
    ]
    async with db.acquire() as conn:
        await _load(conn, records)
        answer = await ultimate_owners(conn, await _inst(conn, 1))
    assert _shares(answer) == {
        "王小明": (_iv("70"), EndKind.NATURAL_PERSON),
        "李四": (_iv("30"), EndKind.NATURAL_PERSON),
    }
    assert sum(o.share.low for o in answer.owners) == 100
    assert not answer.truncated and answer.reasons == frozenset() and answer.cut == ()
    wang = answer.owners[0]
    assert [len(p.hops) for p in wang.paths] == [1, 2]
    assert [p.share for p in wang.paths] == [_iv("40"), _iv("30")]
    via = wang.paths[1].hops
    assert (via[0].holder.name, via[0].held.name) == (
        "上海乙投资管理有限公司",
        "上海甲网络科技有限公司",
    )
    assert (via[1].holder.name, via[1].held.name) == ("王小明", "上海乙投资管理有限公司")
    assert via[0].share is not None and via[0].share.exact == Decimal(60)
    assert via[0].interests == ("shareholding",) and via[0].source == "registration"


async def test_a_leading_group_decision_governs_the_share_and_is_named_as_source(
    db: asyncpg.Pool,
) -> None:
    records = [
        institution(1, "上海甲网络科技有限公司"),
        holding(1, held_by_person(7, "王小明"), "40"),
        holding(1, held_by_person(8, "李四"), "60"),
    ]
    async with db.acquire() as conn:
        await _load(conn, records)
        await _load(
            conn,
            [holding(1, held_by_person(7, "王小明"), "90")],
            "lg1",
            source=Source.LEADING_GROUP,
        )
        answer = await ultimate_owners(conn, await _inst(conn, 1))
    wang = next(o for o in answer.owners if o.party.name == "王小明")
    assert wang.share == _iv("90")
    assert wang.paths[0].hops[0].source == "leading_group"


async def test_bands_multiply_as_intervals_and_a_missing_share_is_anything(
    db: asyncpg.Pool,
) -> None:
    records = [
        institution(1, "上海甲网络科技有限公司"),
        institution(2, "上海乙投资管理有限公司"),
        _holding(1, held_by_institution(2), _band("25", "50")),
        holding(2, held_by_person(7, "王小明"), "50"),
        holding(2, held_by_person(8, "李四"), None),
    ]
    async with db.acquire() as conn:
        await _load(conn, records)
        answer = await ultimate_owners(conn, await _inst(conn, 1))
    # [25, 50] × [50, 50] = [12.5, 25];  [25, 50] × [0, 100] = [0, 50]
    assert _shares(answer) == {
        "王小明": (_iv("12.5", "25"), EndKind.NATURAL_PERSON),
        "李四": (_iv("0", "50"), EndKind.NATURAL_PERSON),
    }
    band = answer.owners[0].paths[0].hops[0].share
    assert band is not None and (band.exact, band.min, band.max) == (None, Decimal(25), Decimal(50))


async def test_open_band_ends_bound_the_interval_and_more_than_half_is_a_majority(
    db: asyncpg.Pool,
) -> None:
    records = [
        institution(1, "上海甲网络科技有限公司"),
        _holding(1, held_by_person(7, "王小明"), _band("50", min_inclusive=False)),
        _holding(1, held_by_person(8, "李四"), _band(high="50", max_inclusive=False)),
    ]
    async with db.acquire() as conn:
        await _load(conn, records)
        root = await _inst(conn, 1)
        owners = await ultimate_owners(conn, root)
        control = await actual_controller(conn, root)
    # "more than 50 %" is [50, 100] as an interval, but it is a majority
    assert _shares(owners) == {
        "王小明": (_iv("50", "100"), EndKind.NATURAL_PERSON),
        "李四": (_iv("0", "50"), EndKind.NATURAL_PERSON),
    }
    assert control.controller is not None and control.controller.name == "王小明"
    assert control.chains[0].links[0].rules == (ControlRule.MAJORITY,)


async def test_a_two_company_cycle_ends_as_a_cycle_with_the_share_that_went_round(
    db: asyncpg.Pool,
) -> None:
    records = [
        institution(1, "上海甲网络科技有限公司"),
        institution(2, "上海乙投资管理有限公司"),
        institution(3, "上海丙实业有限公司"),
        holding(1, held_by_institution(2), "50"),
        holding(1, held_by_person(7, "王小明"), "50"),
        holding(2, held_by_institution(3), "60"),
        holding(2, held_by_person(8, "李四"), "40"),
        holding(3, held_by_institution(2), "30"),
        holding(3, held_by_person(9, "赵六"), "70"),
    ]
    async with db.acquire() as conn:
        await _load(conn, records)
        answer = await ultimate_owners(conn, await _inst(conn, 1))
        b = await _inst(conn, 2)
    assert _shares(answer) == {
        "王小明": (_iv("50"), EndKind.NATURAL_PERSON),
        "赵六": (_iv("21"), EndKind.NATURAL_PERSON),  # 50 % × 60 % × 70 %
        "李四": (_iv("20"), EndKind.NATURAL_PERSON),
    }
    assert answer.truncated and answer.reasons == {EndKind.CYCLE}
    (cycle,) = answer.cut
    assert cycle.end is EndKind.CYCLE and cycle.party.id == b
    assert len(cycle.hops) == 3 and cycle.share == _iv("9")  # 50 % × 60 % × 30 %


async def test_a_control_cycle_has_no_controller(db: asyncpg.Pool) -> None:
    records = [
        institution(1, "上海甲网络科技有限公司"),
        institution(2, "上海乙投资管理有限公司"),
        institution(3, "上海丙实业有限公司"),
        holding(1, held_by_institution(2), "60"),
        holding(2, held_by_institution(3), "60"),
        holding(3, held_by_institution(2), "60"),
    ]
    async with db.acquire() as conn:
        await _load(conn, records)
        answer = await actual_controller(conn, await _inst(conn, 1))
    assert answer.controller is None and answer.truncated
    assert [c.end for c in answer.chains] == [EndKind.CYCLE]
    assert len(answer.chains[0].links) == 3
    assert answer.reason is not None and "cycle" in answer.reason


async def test_masked_unknown_and_exempt_holders_end_as_unknown_owners(
    db: asyncpg.Pool,
) -> None:
    records = [
        institution(1, "上海甲网络科技有限公司"),
        holding(1, {"kind": "person", "person": {"name": "隐名", "id_number": "非公示项"}}, "30"),
        holding(1, {"kind": "unknown", "name": "未知股东"}, "20"),
        holding(1, {"kind": "exempt"}, "10"),
        holding(1, held_by_person(7, "王小明"), "40"),
    ]
    async with db.acquire() as conn:
        await _load(conn, records)
        answer = await ultimate_owners(conn, await _inst(conn, 1))
    ends = {(o.party.kind, o.party.masked, o.end, o.share.low) for o in answer.owners}
    assert ends == {
        (PartyKind.PERSON, False, EndKind.NATURAL_PERSON, Decimal(40)),
        (PartyKind.PERSON, True, EndKind.UNKNOWN_OWNER, Decimal(30)),
        (PartyKind.UNKNOWN, False, EndKind.UNKNOWN_OWNER, Decimal(20)),
        (PartyKind.EXEMPT, False, EndKind.UNKNOWN_OWNER, Decimal(10)),
    }
    assert not answer.truncated


async def test_an_institution_with_no_known_holders_is_an_ultimate_owner(
    db: asyncpg.Pool,
) -> None:
    listed = {"kind": "institution", "uscc": uscc(50, "440300"), "name": "深圳某上市股份有限公司"}
    records = [institution(1, "上海甲网络科技有限公司"), holding(1, listed, "100")]
    async with db.acquire() as conn:
        await _load(conn, records)
        answer = await ultimate_owners(conn, await _inst(conn, 1))
    assert _shares(answer) == {
        "深圳某上市股份有限公司": (_iv("100"), EndKind.INSTITUTION_WITHOUT_HOLDERS)
    }


async def test_depth_fanout_path_and_min_share_limits_are_reported(db: asyncpg.Pool) -> None:
    records = [
        *(institution(n, f"上海第{n}层投资有限公司") for n in (1, 2, 3, 4)),
        holding(1, held_by_institution(2), "97"),
        holding(1, held_by_person(7, "王小明"), "3"),
        holding(2, held_by_institution(3), "100"),
        holding(3, held_by_institution(4), "100"),
        holding(4, held_by_person(8, "李四"), "100"),
    ]
    async with db.acquire() as conn:
        await _load(conn, records)
        root, second = await _inst(conn, 1), await _inst(conn, 3)
        full = await ultimate_owners(conn, root)
        shallow = await ultimate_owners(conn, root, max_depth=2)
        large = await ultimate_owners(conn, root, min_share=Decimal(5))
        narrow = await ultimate_owners(conn, root, max_fanout=1)
        short = await ultimate_owners(conn, root, max_paths=2)
    assert _shares(full) == {
        "李四": (_iv("97"), EndKind.NATURAL_PERSON),
        "王小明": (_iv("3"), EndKind.NATURAL_PERSON),
    }
    assert not full.truncated

    assert _shares(shallow) == {"王小明": (_iv("3"), EndKind.NATURAL_PERSON)}
    assert shallow.truncated and shallow.reasons == {EndKind.DEPTH_LIMIT}
    (deep,) = shallow.cut
    assert (deep.party.id, len(deep.hops), deep.share) == (second, 2, _iv("97"))

    assert _shares(large) == {"李四": (_iv("97"), EndKind.NATURAL_PERSON)}
    assert large.reasons == {EndKind.BELOW_MIN_SHARE}
    assert [(p.party.name, p.share) for p in large.cut] == [("王小明", _iv("3"))]

    assert narrow.owners == () and narrow.reasons == {EndKind.FANOUT_LIMIT}
    assert narrow.cut[0].hops == () and narrow.cut[0].party.id == root

    assert short.reasons == {EndKind.PATH_LIMIT} and short.truncated


async def test_a_ladder_of_many_paths_sums_exactly_and_stops_at_max_paths(
    db: asyncpg.Pool,
) -> None:
    # ten levels of two companies, each held half by each of the two above: 2¹⁰ paths
    records: list[dict[str, Any]] = [institution(1, "上海底层科技有限公司")]
    below = [1]
    for level in range(10):
        above = [10 + 2 * level, 11 + 2 * level]
        records += [institution(n, f"上海第{n}号控股有限公司") for n in above]
        records += [holding(n, held_by_institution(m), "50") for n in below for m in above]
        below = above
    records += [holding(n, held_by_person(7, "王小明"), "100") for n in below]
    async with db.acquire() as conn:
        await _load(conn, records)
        root = await _inst(conn, 1)
        full = await ultimate_owners(conn, root)
        capped = await ultimate_owners(conn, root, max_paths=100)
    (owner,) = full.owners
    assert owner.share == _iv("100") and len(owner.paths) == 2**10 and not full.truncated
    assert capped.truncated and capped.reasons == {EndKind.PATH_LIMIT}
    assert capped.owners == ()  # 100 rows reach only the sixth level


async def test_at_a_moment_the_holdings_then_in_force_answer(db: asyncpg.Pool) -> None:
    before = [
        institution(1, "上海甲网络科技有限公司"),
        holding(1, held_by_person(7, "王小明"), "60"),
        holding(1, held_by_person(8, "李四"), "40"),
    ]
    after = [
        institution(1, "上海甲网络科技有限公司"),
        holding(1, held_by_person(7, "王小明"), "20"),
        # a new holder is dated by the feed: undated, it would count as holding since ever
        holding(1, held_by_person(9, "赵六"), "80", valid_from="2026-04-01"),
    ]
    async with db.acquire() as conn:
        await _load(conn, before, observed_at=T0)
        between = await conn.fetchval("SELECT clock_timestamp()")
        await _load(conn, after, "b2", kind="snapshot", observed_at=T1)
        root = await _inst(conn, 1)
        now = await ultimate_owners(conn, root)
        then = Moment(dt.date(2026, 3, 15), dt.datetime.now(dt.UTC))
        in_march = await ultimate_owners(conn, root, at=then)
        # true in April, but asked with what the registry knew before the snapshot
        known_before = Moment(dt.date(2026, 4, 15), between)
        as_known = await ultimate_owners(conn, root, at=known_before)
        control_then = await actual_controller(conn, root, at=then)
        control_now = await actual_controller(conn, root)
    assert {k: v[0].low for k, v in _shares(now).items()} == {"王小明": 20, "赵六": 80}
    assert {k: v[0].low for k, v in _shares(in_march).items()} == {"王小明": 60, "李四": 40}
    assert {k: v[0].low for k, v in _shares(as_known).items()} == {"王小明": 60, "李四": 40}
    assert in_march.at == then
    assert control_then.controller is not None and control_then.controller.name == "王小明"
    assert control_now.controller is not None and control_now.controller.name == "赵六"


# --- control ------------------------------------------------------------------------------


async def test_a_state_body_controls_through_a_ministry_owned_company_with_no_share_stated(
    db: asyncpg.Pool,
) -> None:
    records = [
        institution(1, "上海甲网络科技有限公司"),
        institution(2, "中国某部属控股有限公司", enterprise_type="有限责任公司（国有独资）"),
        holding(1, held_by_institution(2, "中国某部属控股有限公司"), "70"),
        holding(1, held_by_person(7, "王小明"), "30"),
        holding(2, STATE, None),
    ]
    async with db.acquire() as conn:
        await _load(conn, records)
        root, ministry = await _inst(conn, 1), await _inst(conn, 2)
        owners = await ultimate_owners(conn, root)
        control = await actual_controller(conn, root)
        group = await group_of(conn, Party.state_body(STATE["name"]))
    # the share sums know only that the state holds somewhere between nothing and 70 %
    assert _shares(owners)[STATE["name"]] == (_iv("0", "70"), EndKind.STATE_BODY)
    # the control rule: the state body is the ministry company's only holder, so it holds
    # all of it (residual inference), and the company holds a majority
    assert control.controller == Party.state_body(STATE["name"])
    (chain,) = control.chains
    assert chain.end is EndKind.STATE_BODY
    assert [(link.controlled.id, link.rules) for link in chain.links] == [
        (root, (ControlRule.MAJORITY,)),
        (ministry, (ControlRule.MAJORITY,)),
    ]
    assert chain.links[1].share == _iv("100")
    assert not control.ambiguous and control.reason is None
    assert [m.institution.id for m in group.members] == [ministry, root]


async def test_the_managing_partner_controls_a_partnership_with_one_percent(
    db: asyncpg.Pool,
) -> None:
    partnership = "杭州汇盈股权投资合伙企业（有限合伙）"
    records = [
        institution(1, partnership, enterprise_type="有限合伙企业"),
        institution(2, "杭州汇盈投资管理有限公司"),
        institution(3, "上海甲网络科技有限公司"),
        holding(1, held_by_institution(2), "1", interests=["shareholding", "managing_partner"]),
        *(holding(1, held_by_person(10 + i, f"有限合伙人{i}"), "33") for i in range(3)),
        holding(2, held_by_person(7, "王小明"), "100"),
        holding(3, held_by_institution(1, partnership), "60"),
        holding(3, held_by_person(8, "李四"), "40"),
    ]
    async with db.acquire() as conn:
        await _load(conn, records)
        fund, manager, company = await _inst(conn, 1), await _inst(conn, 2), await _inst(conn, 3)
        wang = await _person(conn, 7)
        control = await actual_controller(conn, company)
        group = await group_of(conn, Party.person(wang))
        held = await holdings_of(conn, Party.person(wang), min_share=Decimal(5))
    assert control.controller == Party.person(wang, "王小明")
    assert [(link.controlled.id, link.rules) for link in control.chains[0].links] == [
        (company, (ControlRule.MAJORITY,)),
        (fund, (ControlRule.MANAGING_PARTNER,)),
        (manager, (ControlRule.MAJORITY,)),
    ]
    assert [(m.institution.id, len(m.chain)) for m in group.members] == [
        (manager, 1),
        (fund, 2),
        (company, 3),
    ]
    # the 1 % is pruned from the shares by min_share, but control is not
    assert [h.institution.id for h in held.held] == [manager]
    assert {p.end for p in held.cut} == {EndKind.BELOW_MIN_SHARE}
    assert [m.institution.id for m in held.controlled.members] == [manager, fund, company]


async def test_two_qualifying_holders_are_both_reported_as_ambiguous(db: asyncpg.Pool) -> None:
    records = [
        institution(1, "上海甲网络科技有限公司"),
        holding(1, held_by_person(7, "王小明"), "10", interests=["board_appointment"]),
        holding(1, held_by_person(8, "李四"), "60"),
        holding(1, held_by_person(9, "赵六"), "30"),
    ]
    async with db.acquire() as conn:
        await _load(conn, records)
        answer = await actual_controller(conn, await _inst(conn, 1))
    assert answer.controller is None and answer.ambiguous
    assert {(ch.party.name, ch.links[0].rules) for ch in answer.chains} == {
        ("王小明", (ControlRule.BOARD_APPOINTMENT,)),
        ("李四", (ControlRule.MAJORITY,)),
    }
    assert {c.name for c in answer.candidates} == {"王小明", "李四"}
    assert answer.reason is not None and answer.reason.startswith("ambiguous")


async def test_holders_acting_in_concert_control_jointly(db: asyncpg.Pool) -> None:
    concert = ["shareholding", "acting_in_concert"]
    records = [
        institution(1, "上海甲网络科技有限公司"),
        holding(1, held_by_person(7, "王小明"), "30", interests=concert),
        holding(1, held_by_person(8, "李四"), "25", interests=concert),
        holding(1, held_by_person(9, "赵六"), "45"),
    ]
    async with db.acquire() as conn:
        await _load(conn, records)
        answer = await actual_controller(conn, await _inst(conn, 1))
    assert answer.controller is None and answer.joint and not answer.ambiguous
    assert {c.name for c in answer.candidates} == {"王小明", "李四"}
    assert all(ch.links[0].rules == (ControlRule.ACTING_IN_CONCERT,) for ch in answer.chains)


async def test_when_no_one_controls_the_answer_says_so(db: asyncpg.Pool) -> None:
    records = [
        institution(1, "上海甲网络科技有限公司"),
        holding(1, held_by_person(7, "王小明"), "40"),
        holding(1, held_by_person(8, "李四"), "40"),
        holding(1, held_by_person(9, "赵六"), None),
    ]
    async with db.acquire() as conn:
        await _load(conn, records)
        answer = await actual_controller(conn, await _inst(conn, 1))
    assert answer.controller is None and answer.chains == () and not answer.truncated
    assert answer.reason is not None and answer.reason.startswith("no holder")


# --- holder count ---------------------------------------------------------------------------


async def test_the_holder_count_crosses_200_only_through_a_partnership(db: asyncpg.Pool) -> None:
    partnership = "上海众筹一号投资合伙企业（有限合伙）"
    records = [
        institution(1, "上海甲股权众筹平台有限公司"),
        institution(2, partnership, enterprise_type="有限合伙企业"),
        institution(3, "上海乙实业有限公司"),
        *(holding(1, held_by_person(100 + i, f"投资人{i}"), None) for i in range(150)),
        holding(1, held_by_institution(2, partnership), "10"),
        holding(1, held_by_institution(3), "5"),
        *(holding(2, held_by_person(300 + i, f"合伙人{i}"), None) for i in range(60)),
        *(holding(3, held_by_person(400 + i, f"乙股东{i}"), None) for i in range(5)),
    ]
    async with db.acquire() as conn:
        await _load(conn, records)
        count = await holder_count(conn, await _inst(conn, 1))
        vehicle = await _inst(conn, 2)
    # 152 direct holders; 150 + 60 looked through + 1 company that is not a vehicle
    assert count.count == 211 and count.exceeds_200 is True and not count.truncated
    assert count.by_kind == {
        HolderKind.NATURAL_PERSON: 210,
        HolderKind.STATE_BODY: 0,
        HolderKind.INSTITUTION: 1,
        HolderKind.UNKNOWN: 0,
    }
    assert [(v.vehicle.id, v.holders) for v in count.by_vehicle] == [(vehicle, 60)]


async def test_a_holder_count_cut_short_is_a_lower_bound(db: asyncpg.Pool) -> None:
    records = [
        institution(1, "上海甲股权众筹平台有限公司"),
        institution(2, "上海一号资产管理计划"),
        holding(1, held_by_person(7, "王小明"), None),
        holding(1, held_by_institution(2, "上海一号资产管理计划"), None),
        *(holding(2, held_by_person(100 + i, f"委托人{i}"), None) for i in range(3)),
    ]
    async with db.acquire() as conn:
        await _load(conn, records)
        count = await holder_count(conn, await _inst(conn, 1), max_fanout=2)
    assert count.count == 1 and count.exceeds_200 is None
    assert count.truncated and count.reasons == {EndKind.FANOUT_LIMIT}


# --- downward and around ------------------------------------------------------------------


async def test_holdings_of_a_person_sum_paths_downward_and_list_what_it_controls(
    db: asyncpg.Pool,
) -> None:
    records = [
        *(institution(n, f"上海{n}号投资有限公司") for n in (1, 2, 3)),
        holding(1, held_by_person(7, "王小明"), "60"),
        holding(2, held_by_institution(1), "50"),
        holding(2, held_by_person(7, "王小明"), "10"),
        holding(3, held_by_institution(2), "100"),
    ]
    async with db.acquire() as conn:
        await _load(conn, records)
        a, b, c = [await _inst(conn, n) for n in (1, 2, 3)]
        answer = await holdings_of(conn, Party.person(await _person(conn, 7)))
    assert [(h.institution.id, h.share) for h in answer.held] == [
        (a, _iv("60")),
        (b, _iv("40")),  # 10 % directly + 60 % × 50 %
        (c, _iv("40")),
    ]
    assert [len(p.hops) for p in answer.held[1].paths] == [1, 2]
    assert answer.held[2].paths[0].end is EndKind.HOLDS_NOTHING
    # 王小明 controls A; A's 50 % of B is no majority, and B's holders are split
    assert [m.institution.id for m in answer.controlled.members] == [a]
    assert not answer.truncated


async def test_connections_are_the_shortest_chains_through_posts_and_shares(
    db: asyncpg.Pool,
) -> None:
    wang, li = person(7, "王小明"), person(8, "李四")
    records = [
        *(institution(n, f"上海{n}号科技有限公司") for n in (1, 2, 3, 4)),
        position(1, wang, "legal_representative"),
        position(1, li, "director"),
        holding(2, {"kind": "person", "person": wang}, "10"),
        holding(2, {"kind": "person", "person": li}, "20"),
        holding(3, held_by_institution(2), "60"),
    ]
    async with db.acquire() as conn:
        await _load(conn, records)
        a, c, d = await _inst(conn, 1), await _inst(conn, 3), await _inst(conn, 4)
        found = await connections(conn, Party.institution(a), Party.institution(c))
        near = await connections(conn, Party.institution(a), Party.institution(c), max_depth=2)
        none = await connections(conn, Party.institution(a), Party.institution(d))
    assert found.length == 3 and len(found.chains) == 2 and not found.truncated
    chain = found.chains[0]
    assert [p.name for p in chain.parties] == [
        "上海1号科技有限公司",
        "王小明",
        "上海2号科技有限公司",
        "上海3号科技有限公司",
    ]
    assert [(link.relation, link.role) for link in chain.links] == [
        (Relation.POSITION, "legal_representative"),
        (Relation.HOLDING, None),
        (Relation.HOLDING, None),
    ]
    assert chain.links[0].source.name == "王小明"  # a post runs person → institution
    assert {ch.parties[1].name for ch in found.chains} == {"王小明", "李四"}
    assert near.length is None and near.reasons == {EndKind.DEPTH_LIMIT}
    assert none.length is None and none.chains == () and not none.truncated


async def test_extended_supervision_gathers_the_other_firms_of_its_people_and_holders(
    db: asyncpg.Pool,
) -> None:
    wang, li, zhao = person(7, "王小明"), person(8, "李四"), person(9, "赵六")
    records = [
        institution(1, "上海甲网贷信息服务有限公司"),
        institution(2, "上海乙网络科技有限公司"),
        institution(3, "上海丙投资有限公司"),
        institution(4, "上海丁控股有限公司"),
        institution(5, "上海戊实业有限公司"),
        position(1, wang, "legal_representative"),
        position(1, li, "director"),
        holding(1, {"kind": "person", "person": zhao}, "40"),
        holding(1, held_by_institution(4), "60"),
        position(2, wang, "legal_representative"),
        holding(3, {"kind": "person", "person": zhao}, "20"),
        holding(5, held_by_institution(4), "55"),
    ]
    async with db.acquire() as conn:
        await _load(conn, records)
        answer = await extended_supervision(conn, await _inst(conn, 1))
    found = {
        linked.institution.name: [
            (s.via.name, s.role_at_subject, s.relation, s.role) for s in linked.links
        ]
        for linked in answer.linked
    }
    assert found == {
        "上海乙网络科技有限公司": [
            ("王小明", "legal_representative", Relation.POSITION, "legal_representative")
        ],
        "上海丙投资有限公司": [("赵六", "shareholder", Relation.HOLDING, None)],
        "上海戊实业有限公司": [("上海丁控股有限公司", "shareholder", Relation.HOLDING, None)],
    }
    share = answer.linked[-1].links[0].share
    assert share is not None and share.exact == Decimal(55)


async def test_posts_and_connections_at_a_moment_before_a_post_ended(db: asyncpg.Pool) -> None:
    wang = person(7, "王小明")
    firms = [institution(1, "上海甲网贷信息服务有限公司"), institution(2, "上海乙网络科技有限公司")]
    async with db.acquire() as conn:
        await _load(
            conn,
            [
                *firms,
                position(1, wang, "legal_representative"),
                position(2, wang, "legal_representative"),
            ],
        )
        await _load(
            conn,
            [*firms, position(1, wang, "legal_representative")],
            "b2",
            kind="snapshot",
            observed_at=T1,
        )
        a, b = Party.institution(await _inst(conn, 1)), Party.institution(await _inst(conn, 2))
        then = Moment(dt.date(2026, 3, 15), dt.datetime.now(dt.UTC))
        now_linked = await extended_supervision(conn, a.id or 0)
        then_linked = await extended_supervision(conn, a.id or 0, at=then)
        now_chain = await connections(conn, a, b)
        then_chain = await connections(conn, a, b, at=then)
    assert now_linked.linked == ()
    assert [x.institution.id for x in then_linked.linked] == [b.id]
    assert now_chain.length is None and not now_chain.truncated
    assert then_chain.length == 2 and then_chain.chains[0].parties[1].name == "王小明"


async def test_unknown_parties_and_bad_limits_are_refused(db: asyncpg.Pool) -> None:
    async with db.acquire() as conn:
        with pytest.raises(NotFound):
            await ultimate_owners(conn, 999)
        with pytest.raises(NotFound):
            await actual_controller(conn, 999)
        with pytest.raises(NotFound):
            await extended_supervision(conn, 999)
        with pytest.raises(NotFound):
            await connections(conn, Party.institution(998), Party.institution(999))
        with pytest.raises(InvalidArgument):
            await ultimate_owners(conn, 1, max_depth=0)
        with pytest.raises(InvalidArgument):
            await holdings_of(conn, Party.unknown(PartyKind.UNKNOWN, 1, None))
