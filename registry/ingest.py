"""The one entry point through which anything enters the registry.

A batch is validated record by record (bad ones go to quarantine with every reason and never
block the good ones), then applied in one transaction with set-based SQL: stable records are
created from natural keys, each record's statement is compared with what the same source said
before (unchanged → only `last_seen` moves; changed → the old statement is closed and a new
one opened), a snapshot closes what its source no longer reports, and golden values are
refreshed for exactly the records touched. Pushing the same batch twice changes nothing.
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
from registry.kinds import KINDS, Kind, Refs, institutions_named, persons_named
from registry.records import RECORD_ADAPTER, InstitutionRecord, PersonRef, Source

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


@dataclass
class _Accepted:
    line: int
    record: Any
    raw: str


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


def validate(lines: Iterable[tuple[int, RawLine]]) -> tuple[list[_Accepted], list[Rejected], bytes]:
    """Parse and check each line on its own; returns the good, the bad and the content hash."""
    accepted: list[_Accepted] = []
    rejected: list[Rejected] = []
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
            accepted.append(_Accepted(line, RECORD_ADAPTER.validate_python(data), text))
        except ValidationError as exc:
            rejected.append(Rejected(line, _reasons(exc), text))
    return accepted, rejected, digest.digest()


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
    observed = observed_at or dt.datetime.now(dt.UTC)
    accepted, rejected, content_hash = validate(lines)
    received = len(accepted) + len(rejected)
    async with conn.transaction():
        # batches of one source apply one after another, in the order they arrive
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext('ingest:' || $1))", source.value)
        previous = await conn.fetchrow(
            "SELECT id, content_hash, report FROM batch WHERE source = $1 AND batch_ref = $2",
            source.value,
            batch_ref,
        )
        if previous is not None:
            if bytes(previous["content_hash"]) != content_hash:
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
            source.value, batch_ref, kind, observed, content_hash, received,
        )  # fmt: skip
        report = BatchReport(batch_id, source.value, batch_ref, kind, observed, received=received)
        applier = _Applier(conn, source, batch_id, observed)
        accepted = await applier.resolve_references(accepted, rejected)
        for record_kind, items in _by_kind(accepted, rejected).items():
            inserted, unchanged = await applier.apply_kind(record_kind, items)
            report.accepted += inserted
            report.unchanged += unchanged
        if kind == "snapshot":
            present = {KINDS[type(a.record)].name for a in accepted}
            report.closed = await applier.close_unreported(present)
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


def _by_kind(accepted: list[_Accepted], rejected: list[Rejected]) -> dict[Kind, list[_Accepted]]:
    """Group by kind; a second record with the same key in one batch is quarantined."""
    groups: dict[Kind, list[_Accepted]] = defaultdict(list)
    first_line: dict[tuple[str, str], int] = {}
    for item in accepted:
        kind = KINDS[type(item.record)]
        key = (kind.name, kind.key(item.record))
        if key in first_line:
            message = f"the same {kind.name} as line {first_line[key]} (key {key[1]})"
            rejected.append(
                Rejected(item.line, [Reason("duplicate_in_batch", None, message)], item.raw)
            )
            continue
        first_line[key] = item.line
        groups[kind].append(item)
    return groups


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
        self.refs = Refs({}, {})

    async def resolve_references(
        self, accepted: list[_Accepted], rejected: list[Rejected]
    ) -> list[_Accepted]:
        """Create the institutions and persons the batch names; quarantine unknown subjects."""
        own = {a.record.uscc for a in accepted if isinstance(a.record, InstitutionRecord)}
        subjects = {institutions_named(a.record)[0] for a in accepted} - {None} - own
        known = {
            row["uscc"]
            for row in await self.conn.fetch(
                "SELECT uscc FROM institution WHERE uscc = ANY($1::text[])", list(subjects)
            )
        }
        kept: list[_Accepted] = []
        mentioned: dict[str, str | None] = {}
        persons: dict[str, PersonRef] = {}
        for item in accepted:
            subject, holders = institutions_named(item.record)
            if subject is not None and subject not in own and subject not in known:
                message = (
                    f"institution {subject} is not in the registry and not in this batch; "
                    "send its registration record first"
                )
                reason = Reason("unknown_institution", "institution", message)
                rejected.append(Rejected(item.line, [reason], item.raw))
                continue
            kept.append(item)
            for holder in holders:
                assert holder.uscc is not None
                mentioned.setdefault(holder.uscc, holder.name)
            for person in persons_named(item.record):
                persons.setdefault(person.key, person)
        institution_ids = await self._upsert_institutions(own, mentioned, known)
        person_ids = await self._upsert_persons(persons)
        self.refs = Refs(institution_ids, person_ids)
        return kept

    async def _upsert_institutions(
        self, own: set[str], mentioned: dict[str, str | None], known: set[str]
    ) -> dict[str, int]:
        rows: list[tuple[str, bool, bool, str | None]] = [
            (u, identifiers.parse_uscc(u).pilot_check_failure, False, None) for u in own
        ]
        rows += [
            (u, identifiers.parse_uscc(u).pilot_check_failure, True, name)
            for u, name in mentioned.items()
            if u not in own
        ]
        await self.conn.execute(
            """INSERT INTO institution (uscc, pilot_uscc, mentioned_only, name)
               SELECT * FROM unnest($1::text[], $2::bool[], $3::bool[], $4::text[])
               ON CONFLICT (uscc) DO NOTHING""",
            *map(list, zip(*rows, strict=True)) if rows else ([], [], [], []),
        )
        ids = await self.conn.fetch(
            "SELECT uscc, id FROM institution WHERE uscc = ANY($1::text[])",
            [r[0] for r in rows] + sorted(known),
        )
        return {row["uscc"]: row["id"] for row in ids}

    async def _upsert_persons(self, persons: dict[str, PersonRef]) -> dict[str, int]:
        if not persons:
            return {}
        keys = list(persons)
        await self.conn.execute(
            """INSERT INTO person (key, name, id_type, id_number, id_masked, nationality)
               SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bool[],
                                    $6::text[])
               ON CONFLICT (key) DO NOTHING""",
            keys,
            [p.name for p in persons.values()],
            [p.id_type for p in persons.values()],
            [p.id_number for p in persons.values()],
            [p.masked for p in persons.values()],
            [p.nationality for p in persons.values()],
        )
        rows = await self.conn.fetch("SELECT key, id FROM person WHERE key = ANY($1::text[])", keys)
        return {row["key"]: row["id"] for row in rows}

    async def _record_ids(self, kind: Kind, items: list[_Accepted]) -> list[int]:
        if kind.name == "institution":
            return [self.refs.institutions[a.record.uscc] for a in items]
        table, columns = kind.table.name, ["key", *kind.identity_columns]
        stage = f"stage_{table}"
        names = ", ".join(f'"{c}"' for c in columns)
        await self.conn.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS {stage} ON COMMIT DROP AS "
            f'SELECT {names} FROM "{table}" WITH NO DATA; TRUNCATE {stage}'
        )
        await self.conn.copy_records_to_table(
            stage,
            columns=columns,
            records=[
                (kind.key(a.record), *kind.identity(a.record, self.refs).values()) for a in items
            ],
        )
        await self.conn.execute(
            f'INSERT INTO "{table}" ({names}) SELECT {names} FROM {stage} '
            "ON CONFLICT (key) DO NOTHING"
        )
        rows = await self.conn.fetch(
            f'SELECT t.key, t.id FROM "{table}" t JOIN {stage} s USING (key)'
        )
        ids = {row["key"]: row["id"] for row in rows}
        return [ids[kind.key(a.record)] for a in items]

    async def apply_kind(self, kind: Kind, items: list[_Accepted]) -> tuple[int, int]:
        """Merge one kind's statements; returns (new or changed, unchanged)."""
        record_ids = await self._record_ids(kind, items)
        await self.conn.execute(
            """CREATE TEMP TABLE IF NOT EXISTS stage_statement (
                   record_id bigint, body jsonb, body_hash bytea, valid_from date, valid_to date
               ) ON COMMIT DROP; TRUNCATE stage_statement"""
        )
        staged = []
        for record_id, item in zip(record_ids, items, strict=True):
            body = kind.body(item.record)
            text = orjson.dumps(body, option=orjson.OPT_SORT_KEYS)
            staged.append(
                (
                    record_id,
                    text.decode(),
                    hashlib.blake2b(text, digest_size=16).digest(),
                    getattr(item.record, "valid_from", None),
                    getattr(item.record, "valid_to", None),
                )
            )
        await self.conn.copy_records_to_table(
            "stage_statement",
            columns=["record_id", "body", "body_hash", "valid_from", "valid_to"],
            records=staged,
        )
        params = (kind.name, self.source.value, self.batch_id, self.observed)
        unchanged = await self.conn.fetchval(
            """WITH seen AS (
                   UPDATE statement s SET last_seen = greatest(s.last_seen, $4::timestamptz),
                       last_batch_id = $3
                   FROM stage_statement t
                   WHERE s.record_kind = $1 AND s.record_id = t.record_id AND s.source = $2
                     AND s.closed_at IS NULL AND s.body_hash = t.body_hash
                   RETURNING 1)
               SELECT count(*) FROM seen""",
            *params,
        )
        changed = await self.conn.fetch(
            f"""UPDATE statement s SET closed_at = now(), closed_by_batch_id = $3,
                   valid_to = coalesce(s.valid_to, t.valid_from, {_OBSERVED_DATE})
               FROM stage_statement t
               WHERE s.record_kind = $1 AND s.record_id = t.record_id AND s.source = $2
                 AND s.closed_at IS NULL AND s.body_hash <> t.body_hash
               RETURNING s.record_id""",
            *params,
        )
        succeeded = {row["record_id"] for row in changed}
        inserted = await self.conn.fetch(
            f"""INSERT INTO statement (record_kind, record_id, source, batch_id, body, body_hash,
                   valid_from, valid_to, first_seen, last_seen, last_batch_id)
               SELECT $1, t.record_id, $2, $3, t.body, t.body_hash,
                   coalesce(t.valid_from,
                            CASE WHEN t.record_id = ANY($5::bigint[]) THEN {_OBSERVED_DATE} END),
                   t.valid_to, $4::timestamptz, $4::timestamptz, $3
               FROM stage_statement t
               WHERE NOT EXISTS (
                   SELECT 1 FROM statement s WHERE s.record_kind = $1
                   AND s.record_id = t.record_id AND s.source = $2 AND s.closed_at IS NULL)
               RETURNING record_id""",
            *params,
            list(succeeded),
        )
        self.touched[kind.name].update(row["record_id"] for row in inserted)
        return len(inserted), int(unchanged)

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
