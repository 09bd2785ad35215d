"""One access-log entry, the exact text that is hashed and stored for it, and the hashes that
stand in for values an entry must not hold."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, Literal, cast

import orjson

Outcome = Literal["ok", "refused", "error"]
OUTCOMES: frozenset[str] = frozenset(("ok", "refused", "error"))


@dataclass(frozen=True, kw_only=True)
class AccessEntry:
    """Who asked (client, agency, end user, case), what (operation, fields read and denied,
    subjects touched), why (legal basis, purpose) and how it ended — never the values read.

    `subjects` and `variables_hash` are keyed hashes (`keyed_hash`): identifiers have so few
    possible values that a plain hash would give them away.
    """

    at: dt.datetime
    request_id: str
    kind: str  # graphql | token | ingest | legal_basis | ...
    outcome: Outcome
    status: int  # the HTTP status answered
    trace_id: str | None = None
    client_id: str | None = None
    agency: str | None = None
    end_user: str | None = None
    case_reference: str | None = None
    operation_name: str | None = None
    document_hash: str | None = None
    variables_hash: str | None = None
    fields_read: list[str] = field(default_factory=list)  # GraphQL coordinates: Type.field
    fields_denied: list[str] = field(default_factory=list)
    subjects: list[str] = field(default_factory=list)
    legal_basis_id: int | None = None
    purpose: str | None = None
    codes: list[str] = field(default_factory=list)  # error codes answered
    row_count: int | None = None

    def __post_init__(self) -> None:
        if self.at.utcoffset() is None:
            raise ValueError("AccessEntry.at must be an aware datetime")
        if self.outcome not in OUTCOMES:
            raise ValueError(f"AccessEntry.outcome must be one of {sorted(OUTCOMES)}")

    @classmethod
    def from_canonical(cls, text: str) -> AccessEntry:
        data = orjson.loads(text)
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["at"] = dt.datetime.fromisoformat(values["at"])
        return cls(**values)


def _utc(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _text(value: str) -> str:
    # PostgreSQL's jsonb refuses \u0000: one stray NUL in a request id must not make the
    # entry unwritable, which would refuse the answer (callers fail closed)
    return value.replace("\x00", "\ufffd")


def canonical(entry: AccessEntry) -> str:
    """The entry as deterministic JSON: every key present, keys sorted, lists sorted and
    without repeats (the order resolvers finished in means nothing), `at` in UTC with
    microseconds. This exact text is hashed and stored; verifiers hash it as it is."""
    data: dict[str, Any] = {}
    for f in fields(entry):
        value = getattr(entry, f.name)
        if isinstance(value, dt.datetime):
            value = _utc(value)
        elif isinstance(value, str):
            value = _text(value)
        elif isinstance(value, list):
            value = sorted({_text(cast(str, item)) for item in value})
        data[f.name] = value
    return orjson.dumps(data, option=orjson.OPT_SORT_KEYS).decode()


def keyed_hash(key: bytes, value: str) -> str:
    """HMAC-SHA256 of the UTF-8 text, in hex: the same value gives the same hash for whoever
    holds the key (so auditors can search by it) and nothing to anyone else."""
    return hmac.new(key, value.encode("utf-8"), hashlib.sha256).hexdigest()


def variables_hash(key: bytes, variables: Mapping[str, Any] | None) -> str | None:
    """The keyed hash of the variables as sorted-key JSON; None when there are none."""
    if not variables:
        return None
    return keyed_hash(key, orjson.dumps(dict(variables), option=orjson.OPT_SORT_KEYS).decode())


def document_hash(document: str) -> str:
    """Plain SHA-256 of the GraphQL document, so a known (persisted) query can be matched.
    Values written inline in a document are only as hidden as the document is guessable:
    clients should pass identifiers as variables, which are keyed."""
    return hashlib.sha256(document.encode("utf-8")).hexdigest()
