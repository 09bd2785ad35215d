"""The ingest: validation and quarantine, idempotence, changes, snapshots, precedence."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import asyncpg
import pytest

from registry.errors import BatchIdReused
from registry.ingest import BatchKind, BatchReport, ingest
from registry.records import Source
from tests.factories import (
    held_by_institution,
    held_by_person,
    holding,
    institution,
    numbered,
    position,
    uscc,
)

T0 = dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC)
T1 = dt.datetime(2026, 4, 1, 12, tzinfo=dt.UTC)


def _base() -> list[dict[str, Any]]:
    return [
        institution(1, "上海甲网络科技有限公司", registered_capital={"amount": "10000000"}),
        institution(2, "上海乙投资管理有限公司"),
        holding(1, held_by_institution(2), "60"),
        holding(1, held_by_person(7, "王小明"), "40"),
        position(
            1,
            {"name": "王小明", "id_number": held_by_person(7, "王小明")["person"]["id_number"]},
            "legal_representative",
            "执行董事",
        ),
    ]


async def _push(
    conn: asyncpg.Connection,
    records: Sequence[Any],
    ref: str,
    *,
    source: Source = Source.REGISTRATION,
    kind: BatchKind = "delta",
    observed_at: dt.datetime | None = None,
) -> BatchReport:
    return await ingest(
        conn,
        source=source,
        batch_ref=ref,
        lines=numbered(records),
        kind=kind,
        observed_at=observed_at,
    )


async def test_report_counts_every_record_and_quarantines_with_reasons(db: asyncpg.Pool) -> None:
    records = [
        *_base(),
        {"type": "institution", "uscc": "91350100M000100Y4Z", "name": "坏代码有限公司"},
        "{not json",
        {
            "type": "shareholding",
            "institution": uscc(99),
            "holder": held_by_institution(1),
            "share": {"exact": "10"},
        },
        {
            "type": "licence",
            "institution": uscc(1),
            "issuer": "central_bank",
            "licence_type": "payment",
            "number": "Z20001",
        },
        {"type": "unheard_of"},
    ]
    async with db.acquire() as conn:
        report = await _push(conn, records, "b1", observed_at=T0)
    assert report.received == 10
    assert (report.accepted, report.unchanged, report.quarantined) == (5, 0, 5)
    by_line = {r.line: r.reasons for r in report.rejected}
    assert [(x.code, x.field) for x in by_line[6]] == [("uscc.check", "institution.uscc")]
    assert "should be '3'" in by_line[6][0].message
    assert by_line[7][0].code == "malformed_json"
    assert [(x.code, x.field) for x in by_line[8]] == [("unknown_institution", "institution")]
    assert by_line[9][0].code.startswith("payment_licence.")
    assert by_line[9][0].field == "licence"
    assert by_line[10][0].code == "union_tag_invalid"
    stored = await db.fetch("SELECT line, raw FROM quarantine ORDER BY line")
    assert [r["line"] for r in stored] == [6, 7, 8, 9, 10]
    assert stored[1]["raw"] == "{not json"


async def test_same_batch_twice_changes_nothing(db: asyncpg.Pool) -> None:
    async with db.acquire() as conn:
        first = await _push(conn, _base(), "b1", observed_at=T0)
        before = await conn.fetch("SELECT * FROM statement ORDER BY id")
        again = await _push(conn, _base(), "b1", observed_at=T1)
        after = await conn.fetch("SELECT * FROM statement ORDER BY id")
    assert first.accepted == 5 and not first.replayed
    assert again.replayed and again.accepted == 0 and again.unchanged == 5
    assert before == after


async def test_batch_id_reused_with_other_content_is_refused(db: asyncpg.Pool) -> None:
    async with db.acquire() as conn:
        await _push(conn, _base(), "b1")
        with pytest.raises(BatchIdReused, match="new batch id"):
            await _push(conn, _base()[:2], "b1")


async def test_unchanged_value_moves_only_last_seen(db: asyncpg.Pool) -> None:
    async with db.acquire() as conn:
        await _push(conn, _base(), "b1", observed_at=T0)
        report = await _push(conn, _base(), "b2", observed_at=T1)
        rows = await conn.fetch("SELECT first_seen, last_seen, closed_at FROM statement")
    assert (report.accepted, report.unchanged) == (0, 5)
    assert all(r["first_seen"] == T0 and r["last_seen"] == T1 for r in rows)
    assert all(r["closed_at"] is None for r in rows)


async def test_changed_value_closes_the_old_statement_and_keeps_it(db: asyncpg.Pool) -> None:
    changed = _base()
    changed[0] = {**changed[0], "name": "上海甲金融信息服务有限公司"}
    async with db.acquire() as conn:
        await _push(conn, _base(), "b1", observed_at=T0)
        report = await _push(conn, changed, "b2", observed_at=T1)
        history = await conn.fetch(
            """SELECT body->>'name' AS name, valid_from, valid_to, closed_at IS NOT NULL AS closed
               FROM statement WHERE record_kind = 'institution'
               AND record_id = (SELECT id FROM institution WHERE uscc = $1) ORDER BY id""",
            uscc(1),
        )
        golden = await conn.fetchval("SELECT name FROM institution WHERE uscc = $1", uscc(1))
    assert (report.accepted, report.unchanged) == (1, 4)
    assert [(h["name"], h["closed"]) for h in history] == [
        ("上海甲网络科技有限公司", True),
        ("上海甲金融信息服务有限公司", False),
    ]
    # the change is dated by the day it was observed, in Beijing time
    assert history[0]["valid_to"] == history[1]["valid_from"] == dt.date(2026, 4, 1)
    assert golden == "上海甲金融信息服务有限公司"


async def test_snapshot_closes_what_its_source_no_longer_reports(db: asyncpg.Pool) -> None:
    without_person = [r for r in _base() if r.get("holder") != held_by_person(7, "王小明")]
    async with db.acquire() as conn:
        await _push(conn, _base(), "b1", observed_at=T0)
        delta = await _push(conn, without_person, "b2", observed_at=T1)
        assert delta.closed == 0
        snapshot = await _push(conn, without_person, "b3", kind="snapshot", observed_at=T1)
        holders = await conn.fetch("SELECT holder_kind, active FROM holding ORDER BY id")
        kept = await conn.fetchval("SELECT count(*) FROM statement")
    assert snapshot.closed == 1
    assert [(h["holder_kind"], h["active"]) for h in holders] == [
        ("institution", True),
        ("person", False),
    ]
    assert kept == 5  # closed, never deleted


async def test_duplicates_in_one_batch_are_quarantined(db: asyncpg.Pool) -> None:
    records = [*_base(), _base()[2]]
    async with db.acquire() as conn:
        report = await _push(conn, records, "b1")
    assert report.quarantined == 1
    assert report.rejected[0].line == 6
    assert report.rejected[0].reasons[0].code == "duplicate_in_batch"
    assert "line 3" in report.rejected[0].reasons[0].message


async def test_golden_value_follows_source_precedence_and_others_stay(db: asyncpg.Pool) -> None:
    async with db.acquire() as conn:
        await _push(conn, [institution(1, "上海甲网络科技有限公司")], "r1")
        await _push(
            conn,
            [institution(1, "上海甲网贷平台", address="上海市浦东新区某路1号")],
            "t1",
            source=Source.TELECOM,
        )
        row = await conn.fetchrow("SELECT name, address FROM institution WHERE uscc = $1", uscc(1))
        sources = await conn.fetchval("SELECT count(*) FROM statement WHERE closed_at IS NULL")
    # registration governs the name; telecom alone states the address, so it fills it
    assert row["name"] == "上海甲网络科技有限公司"
    assert row["address"] == "上海市浦东新区某路1号"
    assert sources == 2


async def test_holder_institution_outside_the_registry_is_kept_as_mentioned(
    db: asyncpg.Pool,
) -> None:
    records = [
        institution(1, "上海甲网络科技有限公司"),
        holding(
            1,
            {"kind": "institution", "uscc": uscc(50, "440300"), "name": "深圳某控股有限公司"},
            "100",
        ),
    ]
    async with db.acquire() as conn:
        report = await _push(conn, records, "b1")
        stub = await conn.fetchrow(
            "SELECT name, mentioned_only FROM institution WHERE uscc = $1", uscc(50, "440300")
        )
    assert report.quarantined == 0
    assert (stub["name"], stub["mentioned_only"]) == ("深圳某控股有限公司", True)


async def test_masked_person_numbers_are_kept_as_given(db: asyncpg.Pool) -> None:
    records = [
        institution(1, "上海甲网络科技有限公司"),
        holding(1, {"kind": "person", "person": {"name": "李四", "id_number": "非公示项"}}, "100"),
    ]
    async with db.acquire() as conn:
        await _push(conn, records, "b1")
        row = await conn.fetchrow("SELECT name, id_number, id_masked FROM person")
    assert (row["name"], row["id_number"], row["id_masked"]) == ("李四", "非公示项", True)
