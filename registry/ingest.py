"""The one entry point through which anything enters the registry.

Two steps. `prepare` checks each record on its own (bad ones go to quarantine with every
reason and never block the good ones) and needs no database, so it can run in a worker
thread while the previous batch is applied. `apply` works in one transaction with set-based
SQL: new records are created from their natural keys together with their golden values;
each record's statement is compared with what the same source said before (unchanged → only
`last_seen` moves; changed → the old statement is closed and a new one opened); a snapshot
closes what its source no longer reports; golden values are refreshed for exactly the
existing records touched. Pushing the same batch twice changes nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import asyncpg
import orjson
from pydantic import ValidationError

from registry import golden, identifiers
from registry.errors import BatchIdReused
from registry.kinds import (
    KINDS,
    KINDS_BY_NAME,
    REFERENCED,
    Kind,
    institutions_named,
    persons_named,
)
from registry.records import RECORD_ADAPTER, PersonRef, Source

BatchKind = Literal["snapshot", "delta"]
RawLine = str | bytes | Mapping[str, Any]

# Valid dates are Chinese civil dates: the day a batch was observed, in Beijing time.
_OBSERVED_DATE = "($4::timestamptz AT TIME ZONE 'Asia/Shanghai')::date"

# How many quarantined records a report lists in full; all are stored and counted.
REPORT_SAMPLE = 100


@dataclass(frozen=True)
class Reason:
    code: str
    field: str | None
    message: str


@dataclass(frozen=True)
class Rejected:
    line: int
    reasons: list[Reason]
    raw: str


@dataclass
class BatchReport:
    batch_id: int
    source: str
    batch_ref: str
    kind: BatchKind
    observed_at: dt.datetime
    received: int = 0
    accepted: int = 0
    unchanged: int = 0
    quarantined: int = 0
    closed: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    rejected: list[Rejected] = field(default_factory=list)
    replayed: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "batch_id": self.batch_id,
            "source": self.source,
            "batch_ref": self.batch_ref,
            "kind": self.kind,
            "observed_at": self.observed_at.isoformat(),
            "received": self.received,
            "accepted": self.accepted,
            "unchanged": self.unchanged,
            "quarantined": self.quarantined,
            "closed": self.closed,
            "reasons": self.reasons,
            "rejected": [
                {"line": r.line, "reasons": [vars(x) for x in r.reasons]} for r in self.rejected
            ],
        }


def _reasons(error: ValidationError) -> list[Reason]:
    reasons: list[Reason] = []
    for item in error.errors(include_url=False):
        where = ".".join(str(part) for part in item["loc"]) or None
        cause = (item.get("ctx") or {}).get("error")
        if isinstance(cause, identifiers.InvalidIdentifier):
            reasons.extend(Reason(e.rule, where, e.message) for e in cause.errors)
        else:
            reasons.append(Reason(item["type"], where, item["msg"]))
    return reasons


@dataclass(frozen=True)
class _Accepted:
    line: int
    record: Any
    raw: str
    kind: Kind
    key: str
    body: str  # canonical JSON, sorted keys: equal content gives an equal hash
    body_hash: bytes


@dataclass(frozen=True)
class Prepared:
    """A batch checked record by record, ready to apply."""

    accepted: list[_Accepted]
    rejected: list[Rejected]
    content_hash: bytes

    @property
    def received(self) -> int:
        return len(self.accepted) + len(self.rejected)


def prepare(lines: Iterable[tuple[int, RawLine]]) -> Prepared:
    """Parse and check each line on its own; needs no database."""
    accepted: list[_Accepted] = []
    rejected: list[Rejected] = []
    first_line: dict[tuple[str, str], int] = {}
    digest = hashlib.blake2b(digest_size=32)
    for line, raw in lines:
        if isinstance(raw, Mapping):
            text = orjson.dumps(raw).decode()
            data: Any = raw
        else:
            text = raw.decode() if isinstance(raw, bytes) else raw
            try:
                data = orjson.loads(text)
            except orjson.JSONDecodeError as exc:
                digest.update(text.encode() + b"\n")
                rejected.append(Rejected(line, [Reason("malformed_json", None, str(exc))], text))
                continue
        digest.update(text.encode() + b"\n")
        if not isinstance(data, dict):
            reason = Reason("not_an_object", None, "each line must be one JSON object")
            rejected.append(Rejected(line, [reason], text))
            continue
        try:
            record = RECORD_ADAPTER.validate_python(data)
        except ValidationError as exc:
            rejected.append(Rejected(line, _reasons(exc), text))
            continue
        kind = KINDS[type(record)]
        key = kind.key(record)
        seen = first_line.setdefault((kind.name, key), line)
        if seen != line:
            message = f"the same {kind.name} as line {seen} (key {key})"
            rejected.append(Rejected(line, [Reason("duplicate_in_batch", None, message)], text))
            continue
        body = orjson.dumps(kind.body(record), option=orjson.OPT_SORT_KEYS)
        body_hash = hashlib.blake2b(body, digest_size=16).digest()
        accepted.append(_Accepted(line, record, text, kind, key, body.decode(), body_hash))
    return Prepared(accepted, rejected, digest.digest())


async def ingest(
    conn: asyncpg.Connection,
    *,
    source: Source,
    batch_ref: str,
    lines: Iterable[tuple[int, RawLine]],
    kind: BatchKind = "delta",
    observed_at: dt.datetime | None = None,
) -> BatchReport:
    """Validate and apply one batch from one source, all or nothing."""
    return await apply(
        conn,
        prepare(lines),
        source=source,
        batch_ref=batch_ref,
        kind=kind,
        observed_at=observed_at,
    )


async def apply(
    conn: asyncpg.Connection,
    prepared: Prepared,
    *,
    source: Source,
    batch_ref: str,
    kind: BatchKind = "delta",
    observed_at: dt.datetime | None = None,
) -> BatchReport:
    """Apply a prepared batch in one transaction; a batch id seen before changes nothing."""
    observed = observed_at or dt.datetime.now(dt.UTC)
    rejected = list(prepared.rejected)
    async with conn.transaction():
        # batches of one source apply one after another, in the order they arrive
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext('ingest:' || $1))", source.value)
        previous = await conn.fetchrow(
            "SELECT id, content_hash, report FROM batch WHERE source = $1 AND batch_ref = $2",
            source.value,
            batch_ref,
        )
        if previous is not None:
            if bytes(previous["content_hash"]) != prepared.content_hash:
                raise BatchIdReused(
                    f"batch {batch_ref!r} from {source.value} was already applied with different "
                    "content; give a changed batch a new batch id",
                    batch_id=previous["id"],
                )
            return _replayed(previous["id"], orjson.loads(previous["report"]), observed)
        batch_id = await conn.fetchval(
            """INSERT INTO batch (source, batch_ref, kind, observed_at, content_hash, received,
                   accepted, unchanged, quarantined, closed, report)
               VALUES ($1, $2, $3, $4, $5, $6, 0, 0, 0, 0, '{}') RETURNING id""",
            source.value, batch_ref, kind, observed, prepared.content_hash, prepared.received,
        )  # fmt: skip
        report = BatchReport(
            batch_id, source.value, batch_ref, kind, observed, received=prepared.received
        )
        applier = _Applier(conn, source, batch_id, observed)
        groups = await applier.known_subjects(prepared.accepted, rejected)
        institution = KINDS_BY_NAME["institution"]
        # institutions first: the batch's other records may refer to them
        if institution in groups:
            inserted, unchanged = await applier.apply_kind(institution, groups[institution])
            report.accepted += inserted
            report.unchanged += unchanged
        await applier.create_referenced(groups)
        for record_kind, items in groups.items():
            if record_kind is not institution:
                inserted, unchanged = await applier.apply_kind(record_kind, items)
                report.accepted += inserted
                report.unchanged += unchanged
        if kind == "snapshot":
            report.closed = await applier.close_unreported({k.name for k in groups})
        await applier.refresh_golden()
        await _store_rejected(conn, batch_id, rejected)
        report.quarantined = len(rejected)
        report.reasons = dict(Counter(r.code for rej in rejected for r in rej.reasons))
        report.rejected = sorted(rejected, key=lambda r: r.line)[:REPORT_SAMPLE]
        await conn.execute(
            """UPDATE batch SET accepted = $2, unchanged = $3, quarantined = $4, closed = $5,
                   report = $6 WHERE id = $1""",
            batch_id, report.accepted, report.unchanged, report.quarantined, report.closed,
            orjson.dumps(report.to_json()).decode(),
        )  # fmt: skip
    return report


def _replayed(batch_id: int, stored: dict[str, Any], observed: dt.datetime) -> BatchReport:
    report = BatchReport(
        batch_id=batch_id,
        source=stored["source"],
        batch_ref=stored["batch_ref"],
        kind=stored["kind"],
        observed_at=dt.datetime.fromisoformat(stored["observed_at"]),
        received=stored["received"],
        accepted=0,
        unchanged=stored["accepted"] + stored["unchanged"],
        quarantined=stored["quarantined"],
        reasons=stored["reasons"],
        replayed=True,
    )
    report.rejected = [
        Rejected(r["line"], [Reason(**x) for x in r["reasons"]], "") for r in stored["rejected"]
    ]
    return report


async def _store_rejected(
    conn: asyncpg.Connection, batch_id: int, rejected: list[Rejected]
) -> None:
    if not rejected:
        return
    await conn.copy_records_to_table(
        "quarantine",
        columns=["batch_id", "line", "raw", "reasons"],
        records=[
            (batch_id, r.line, r.raw, orjson.dumps([vars(x) for x in r.reasons]).decode())
            for r in rejected
        ],
    )


class _Applier:
    """The set-based steps of applying one batch, sharing its connection and touched ids."""

    def __init__(
        self, conn: asyncpg.Connection, source: Source, batch_id: int, observed: dt.datetime
    ) -> None:
        self.conn = conn
        self.source = source
        self.batch_id = batch_id
        self.observed = observed
        self.touched: dict[str, set[int]] = defaultdict(set)

    async def known_subjects(
        self, accepted: list[_Accepted], rejected: list[Rejected]
    ) -> dict[Kind, list[_Accepted]]:
        """Group by kind; quarantine records about institutions neither stored nor sent."""
        own = {a.key for a in accepted if a.kind.name == "institution"}
        subjects = {institutions_named(a.record)[0] for a in accepted} - {None} - own
        unknown = {
            row["uscc"]
            for row in await self.conn.fetch(
                """SELECT u AS uscc FROM unnest($1::text[]) AS u
                   EXCEPT SELECT uscc FROM institution""",
                list(subjects),
            )
        }
        groups: dict[Kind, list[_Accepted]] = defaultdict(list)
        for item in accepted:
            subject = institutions_named(item.record)[0]
            if subject in unknown:
                message = (
                    f"institution {subject} is not in the registry and not in this batch; "
                    "send its registration record first"
                )
                reason = Reason("unknown_institution", "institution", message)
                rejected.append(Rejected(item.line, [reason], item.raw))
                continue
            groups[item.kind].append(item)
        return groups

    async def create_referenced(self, groups: dict[Kind, list[_Accepted]]) -> None:
        """Create the persons the batch names, and the institutions it names only as holders."""
        mentioned: dict[str, str | None] = {}
        persons: dict[str, PersonRef] = {}
        for items in groups.values():
            for item in items:
                for holder in institutions_named(item.record)[1]:
                    assert holder.uscc is not None
                    mentioned.setdefault(holder.uscc, holder.name)
                for person in persons_named(item.record):
                    persons.setdefault(person.key, person)
        usccs = list(mentioned)
        await self.conn.execute(
            """INSERT INTO institution (uscc, pilot_uscc, mentioned_only, name)
               SELECT u, p, true, n FROM unnest($1::text[], $2::bool[], $3::text[]) AS x(u, p, n)
               ON CONFLICT (uscc) DO NOTHING""",
            usccs,
            [identifiers.parse_uscc(u).pilot_check_failure for u in usccs],
            [mentioned[u] for u in usccs],
        )
        await self.conn.execute(
            """INSERT INTO person (key, name, id_type, id_number, id_masked, nationality)
               SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bool[],
                                    $6::text[])
               ON CONFLICT (key) DO NOTHING""",
            list(persons),
            [p.name for p in persons.values()],
            [p.id_type for p in persons.values()],
            [p.id_number for p in persons.values()],
            [p.masked for p in persons.values()],
            [p.nationality for p in persons.values()],
        )

    async def _stage(self, kind: Kind, items: list[_Accepted]) -> str:
        """Copy the batch's records of one kind into a temporary table and resolve their
        references, given by natural keys, to ids — in SQL, with no round trip per key."""
        stage = f"stage_{kind.name}"
        fixed = _fixed_columns(kind)
        plain = [c for c in fixed if c not in kind.references]
        natural = [f"ref_{c}" for c in kind.references]
        await self.conn.execute(
            f"""CREATE TEMP TABLE IF NOT EXISTS {stage} ON COMMIT DROP AS
                SELECT {_columns(fixed)}, {"".join(f"NULL::text AS {n}, " for n in natural)}
                       NULL::jsonb AS body, NULL::bytea AS body_hash, valid_from, valid_to,
                       NULL::bigint AS record_id, false AS created, false AS replaces
                FROM "{kind.table.name}" WITH NO DATA;
                TRUNCATE {stage}"""
        )
        rows = []
        for item in items:
            identity = kind.identity(item.record)
            identity[kind.key_column] = item.key
            rows.append(
                (
                    *(identity[c] for c in plain),
                    *(identity[c] for c in kind.references),
                    item.body,
                    item.body_hash,
                    getattr(item.record, "valid_from", None),
                    getattr(item.record, "valid_to", None),
                )
            )
        await self.conn.copy_records_to_table(
            stage,
            columns=[*plain, *natural, "body", "body_hash", "valid_from", "valid_to"],
            records=rows,
        )
        for column, target in kind.references.items():
            table, natural_key = REFERENCED[target]
            await self.conn.execute(
                f"""UPDATE {stage} s SET "{column}" = x.id FROM "{table}" x
                    WHERE x."{natural_key}" = s.ref_{column}"""
            )
        # a temp table has no statistics: without them the planner scans the record table
        await self.conn.execute(f"ANALYZE {stage}")
        return stage

    async def apply_kind(self, kind: Kind, items: list[_Accepted]) -> tuple[int, int]:
        """Create new records, merge statements; returns (new or changed, unchanged)."""
        stage = await self._stage(kind, items)
        table = f'"{kind.table.name}"'
        key = f'"{kind.key_column}"'
        fixed = _fixed_columns(kind)
        await self.conn.execute(
            f"UPDATE {stage} s SET record_id = t.id FROM {table} t WHERE t.{key} = s.{key}"
        )
        # A record new to the registry has one statement, this one: its golden values are
        # that statement's body, written now instead of by a refresh afterwards.
        await self.conn.execute(
            f"""WITH created AS (
                    INSERT INTO {table} ({_columns(fixed)}, {_columns(kind.golden_columns)})
                    SELECT {_columns(fixed, "s")}, {_columns(kind.golden_columns, "r")}
                    FROM {stage} s, jsonb_populate_record(NULL::{table}, s.body) r
                    WHERE s.record_id IS NULL
                    RETURNING id, {key})
                UPDATE {stage} s SET record_id = c.id, created = true
                FROM created c WHERE c.{key} = s.{key}"""
        )
        params = (kind.name, self.source.value, self.batch_id, self.observed)
        unchanged = await self.conn.fetchval(
            f"""WITH seen AS (
                   UPDATE statement s SET last_seen = greatest(s.last_seen, $4::timestamptz),
                       last_batch_id = $3
                   FROM {stage} t
                   WHERE s.record_kind = $1 AND s.record_id = t.record_id AND s.source = $2
                     AND s.closed_at IS NULL AND s.body_hash = t.body_hash
                   RETURNING 1)
               SELECT count(*) FROM seen""",
            *params,
        )
        await self.conn.execute(
            f"""WITH closed AS (
                   UPDATE statement s SET closed_at = now(), closed_by_batch_id = $3,
                       valid_to = coalesce(s.valid_to, t.valid_from, {_OBSERVED_DATE})
                   FROM {stage} t
                   WHERE s.record_kind = $1 AND s.record_id = t.record_id AND s.source = $2
                     AND s.closed_at IS NULL AND s.body_hash <> t.body_hash
                   RETURNING s.record_id)
               UPDATE {stage} t SET replaces = true FROM closed c
               WHERE c.record_id = t.record_id""",
            *params,
        )
        # a statement about a record that existed before this batch changes its golden values
        counts = await self.conn.fetchrow(
            f"""WITH inserted AS (
                   INSERT INTO statement (record_kind, record_id, source, batch_id, body,
                       body_hash, valid_from, valid_to, first_seen, last_seen, last_batch_id)
                   SELECT $1, t.record_id, $2, $3, t.body, t.body_hash,
                       coalesce(t.valid_from, CASE WHEN t.replaces THEN {_OBSERVED_DATE} END),
                       t.valid_to, $4::timestamptz, $4::timestamptz, $3
                   FROM {stage} t
                   WHERE NOT EXISTS (
                       SELECT 1 FROM statement s WHERE s.record_kind = $1
                       AND s.record_id = t.record_id AND s.source = $2 AND s.closed_at IS NULL)
                   RETURNING record_id)
               SELECT count(*) AS inserted,
                      array_agg(i.record_id) FILTER (WHERE t.created IS NOT TRUE) AS touched
               FROM inserted i JOIN {stage} t USING (record_id)""",
            *params,
        )
        self.touched[kind.name].update(counts["touched"] or [])
        return int(counts["inserted"]), int(unchanged)

    async def close_unreported(self, kinds: set[str]) -> int:
        """A snapshot is complete for the kinds it carries: close what it no longer reports."""
        rows = await self.conn.fetch(
            f"""UPDATE statement SET closed_at = now(), closed_by_batch_id = $2,
                   valid_to = coalesce(valid_to, {_OBSERVED_DATE.replace("$4", "$3")})
               WHERE source = $1 AND record_kind = ANY($4::text[]) AND closed_at IS NULL
                 AND last_batch_id <> $2
               RETURNING record_kind, record_id""",
            self.source.value,
            self.batch_id,
            self.observed,
            sorted(kinds),
        )
        for row in rows:
            self.touched[row["record_kind"]].add(row["record_id"])
        return len(rows)

    async def refresh_golden(self) -> None:
        for kind_name, ids in self.touched.items():
            await golden.refresh(self.conn, kind_name, sorted(ids))


def _fixed_columns(kind: Kind) -> list[str]:
    return list(dict.fromkeys([kind.key_column, *kind.identity_columns]))


def _columns(names: Iterable[str], alias: str | None = None) -> str:
    prefix = f"{alias}." if alias else ""
    return ", ".join(f'{prefix}"{name}"' for name in names)
