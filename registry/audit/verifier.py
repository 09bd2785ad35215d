"""Verifying an access-log export offline: pure Python, no database, one pass over the lines.

Rules, for the entry lines in file order:
- each entry's `entry_hash` must be `sha256(prev_hash || utf8(canonical))` of its own text
  (otherwise: `edited`);
- each entry's `prev_hash` must be the previous entry's hash, and the first entry of a full
  export must have none. A link to an entry further back means the lines between were
  `inserted`; a link to an entry that shows up later means `reordered`; a link to an entry
  that never shows up means `deleted` — or `edited`, when no id lies between the two
  entries, since then nothing can be missing and the previous entry was rewritten with a
  recomputed hash;
- ids strictly increase (gaps are normal: an append rolled back keeps its id unused);
  otherwise `reordered`;
- each checkpoint's signature must verify with the public key its `kid` names (otherwise
  `bad_signature` or `unknown_key`), and its `head_hash` must equal the hash of the entry at
  its `log_id` (otherwise `rewritten`: the chain up to there was recomputed). A checkpoint
  signing an id beyond the last entry means the tail was cut off (`truncated`); one signing
  an id the export skipped means `deleted`.

What cannot be proven: entries after the last valid checkpoint (`unverified_tail`) could
have been removed without trace, and a wholesale rewrite signed with a new key passes when
the keys come from the file itself. Verify with the registry's published keys, and pass
checkpoints kept from earlier exports (`known_checkpoints`) to prove the tail they cover.

`first_broken_id` is the id of the first entry, in file order, at which verification
fails: for a deletion the entry after the gap, for an insertion the inserted entry, for a
checkpoint problem the entry the checkpoint signs.
"""

from __future__ import annotations

import heapq
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from joserfc.errors import JoseError
from joserfc.jwk import OKPKey

from registry.audit.chain import FORMAT, checkpoint_message, entry_hash

Reason = Literal[
    "malformed",
    "reordered",
    "edited",
    "inserted",
    "deleted",
    "rewritten",
    "bad_signature",
    "unknown_key",
    "truncated",
]
# several findings on one line: the most specific explains the others
_RANK: dict[str, int] = {
    "malformed": 0,
    "reordered": 1,
    "edited": 2,
    "inserted": 3,
    "deleted": 4,
    "rewritten": 5,
    "bad_signature": 6,
    "unknown_key": 7,
    "truncated": 8,
}
# how many recent entries are remembered to tell insertions and reorderings apart; past
# this a problem is still detected, only named less precisely
WINDOW = 100_000
MAX_PROBLEMS = 1000


@dataclass(frozen=True)
class Problem:
    reason: Reason
    entry_id: int | None
    detail: str
    line: int  # line of the export it concerns; 0: a known checkpoint given separately


@dataclass(frozen=True)
class VerifyReport:
    ok: bool
    first_broken_id: int | None
    reason: Reason | None
    detail: str | None
    problems: list[Problem]  # in file order, at most MAX_PROBLEMS
    problem_count: int
    entries: int
    first_id: int | None
    last_id: int | None
    checkpoints: int
    checkpoints_verified: int
    last_verified_log_id: int | None
    unverified_tail: int  # entries after the last valid checkpoint: not provably complete
    since_id: int | None
    anchor_hash: str | None  # prev_hash of the first entry of a partial export
    head_hash: str | None
    keys_from_file: bool
    notes: list[str] = field(default_factory=list)

    def summary(self) -> str:
        span = f"{self.entries} entries" + (
            f" (ids {self.first_id}–{self.last_id})" if self.first_id is not None else ""
        )
        signed = f"{self.checkpoints_verified}/{self.checkpoints} checkpoints verified"
        if not self.ok:
            at = f" at entry {self.first_broken_id}" if self.first_broken_id is not None else ""
            return (
                f"BROKEN{at}: {self.reason} — {self.detail} "
                f"[{span}, {signed}, {self.problem_count} problem(s)]"
            )
        tail = (
            f"; the last {self.unverified_tail} entries follow the last checkpoint and "
            "cannot be proven complete"
            if self.unverified_tail
            else ""
        )
        return f"ok: {span}, {signed}{tail}"


class _Malformed(Exception):
    pass


@dataclass(frozen=True, slots=True)
class _Seen:
    ordinal: int
    id: int
    line: int
    hash: bytes


@dataclass(frozen=True)
class _Checkpoint:
    id: int | None
    log_id: int
    head_hash: bytes
    kid: str
    signature: bytes
    line: int

    @property
    def name(self) -> str:
        return "a known checkpoint" if self.line == 0 else f"checkpoint {self.id}"


def _int(obj: Mapping[str, Any], key: str, *, nullable: bool = False) -> int | None:
    value = obj.get(key)
    if value is None and nullable:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise _Malformed(f"{key!r} must be an integer")
    return value


def _str(obj: Mapping[str, Any], key: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str):
        raise _Malformed(f"{key!r} must be a string")
    return value


def _hex(obj: Mapping[str, Any], key: str, size: int | None = None) -> bytes:
    try:
        value = bytes.fromhex(_str(obj, key))
    except ValueError as exc:
        raise _Malformed(f"{key!r} must be hex") from exc
    if size is not None and len(value) != size:
        raise _Malformed(f"{key!r} must be {size} bytes")
    return value


def _checkpoint_from(obj: Mapping[str, Any], line: int) -> _Checkpoint:
    log_id = _int(obj, "log_id")
    assert log_id is not None
    return _Checkpoint(
        id=_int(obj, "id", nullable=True),
        log_id=log_id,
        head_hash=_hex(obj, "head_hash", 32),
        kid=_str(obj, "kid"),
        signature=_hex(obj, "signature"),
        line=line,
    )


def public_key_map(jwks: Iterable[Any]) -> tuple[dict[str, Ed25519PublicKey], list[str]]:
    """Ed25519 public keys by kid, and a note for each JWK that is not one."""
    keys: dict[str, Ed25519PublicKey] = {}
    notes: list[str] = []
    for jwk in jwks:
        kid = jwk.get("kid") if isinstance(jwk, dict) else None
        try:
            if not isinstance(kid, str):
                raise ValueError("no kid")
            key = OKPKey.import_key(jwk).public_key
            if not isinstance(key, Ed25519PublicKey):
                raise ValueError("not Ed25519")
        except (JoseError, ValueError, TypeError, KeyError) as exc:
            notes.append(f"ignored a public key ({kid or 'no kid'}): {exc}")
            continue
        keys[kid] = key
    return keys, notes


class _Verifier:
    def __init__(
        self, public_keys: list[dict[str, Any]] | None, known: Iterable[Mapping[str, Any]]
    ) -> None:
        self.keys: dict[str, Ed25519PublicKey] = {}
        self.notes: list[str] = []
        self.keys_from_file = public_keys is None
        if public_keys is not None:
            self.keys, self.notes = public_key_map(public_keys)
        self.known = list(known)
        self.started = False
        self.since_id: int | None = None
        self.line = 0
        self.entries = 0
        self.first_id: int | None = None
        self.prev: _Seen | None = None  # the previous entry line
        self.max_id: int | None = None
        self.anchor: bytes | None = None
        # recent entries, to recognise a link to an earlier one (insertion)
        self.seen: OrderedDict[int, _Seen] = OrderedDict()
        self.by_hash: dict[bytes, int] = {}
        self.by_id: dict[int, int] = {}
        # prev_hash -> (the entry that links to it, the entry before it in the file)
        self.missing: dict[bytes, tuple[_Seen, _Seen | None]] = {}
        self.pending: list[tuple[int, int, _Checkpoint]] = []  # heap by log_id
        self.queued = 0
        self.checkpoints = 0
        self.verified = 0
        self.covered: _Seen | None = None  # the furthest entry a valid checkpoint signs
        self.problems: list[Problem] = []
        self.problem_count = 0
        self.first: Problem | None = None

    # --- findings -----------------------------------------------------------------------

    def _add(self, reason: Reason, entry_id: int | None, detail: str, line: int) -> None:
        problem = Problem(reason, entry_id, detail, line)
        self.problem_count += 1
        if len(self.problems) < MAX_PROBLEMS:
            self.problems.append(problem)
        if self.first is None or (line, _RANK[reason]) < (
            self.first.line,
            _RANK[self.first.reason],
        ):
            self.first = problem

    # --- lines --------------------------------------------------------------------------

    def feed(self, text: str) -> None:
        self.line += 1
        text = text.strip()
        if not text:
            return
        obj: Any = None
        try:
            obj = orjson.loads(text)
            if not isinstance(obj, dict):
                raise _Malformed("a line must be a JSON object")
            kind = obj.get("type")
            if not self.started:
                self._start(obj if kind == "header" else None)
                if kind == "header":
                    return
            if kind == "entry":
                self._entry(obj)
            elif kind == "checkpoint":
                self._checkpoint(_checkpoint_from(obj, self.line))
            elif kind == "header":
                raise _Malformed("a second header")
            else:
                raise _Malformed(f"unknown line type {kind!r}")
        except (orjson.JSONDecodeError, _Malformed) as exc:
            entry_id = obj.get("id") if isinstance(obj, dict) else None
            self._add(
                "malformed",
                entry_id if isinstance(entry_id, int) else None,
                f"line {self.line}: {exc}",
                self.line,
            )

    def _start(self, header: Mapping[str, Any] | None) -> None:
        self.started = True
        if header is None:
            self._add("malformed", None, "the export does not start with a header", self.line)
        elif header.get("format") != FORMAT:
            self._add("malformed", None, f"unsupported format {header.get('format')!r}", self.line)
        else:
            since_id = header.get("since_id")
            self.since_id = since_id if isinstance(since_id, int) else None
            if self.keys_from_file:
                listed = header.get("public_keys")
                self.keys, self.notes = public_key_map(listed if isinstance(listed, list) else [])
        for obj in self.known:
            try:
                self._checkpoint(_checkpoint_from(obj, 0))
            except _Malformed as exc:
                self._add("malformed", None, f"a known checkpoint: {exc}", 0)

    def _entry(self, obj: Mapping[str, Any]) -> None:
        entry_id = _int(obj, "id")
        assert entry_id is not None
        text = _str(obj, "canonical")
        prev_hash = None if obj.get("prev_hash") is None else _hex(obj, "prev_hash", 32)
        stored = _hex(obj, "entry_hash", 32)
        me = _Seen(self.entries, entry_id, self.line, stored)
        before = self.prev
        self.entries += 1

        if before is not None and entry_id <= before.id:
            self._add(
                "reordered",
                entry_id,
                f"entry {entry_id} comes after entry {before.id}: ids must increase",
                me.line,
            )
        elif before is None and self.since_id is not None and entry_id <= self.since_id:
            self._add(
                "reordered",
                entry_id,
                f"entry {entry_id} is in an export of the entries after {self.since_id}",
                me.line,
            )
        if entry_hash(prev_hash, text) != stored:
            self._add(
                "edited",
                entry_id,
                f"entry {entry_id}'s canonical text does not hash to its entry_hash: "
                "the text was changed",
                me.line,
            )
        self._link(me, prev_hash, before)

        waiting = self.missing.pop(stored, None)
        if waiting is not None:
            late = waiting[0]
            self._add(
                "reordered",
                late.id,
                f"entry {late.id} appears before entry {entry_id}, the entry it follows",
                late.line,
            )

        if self.first_id is None:
            self.first_id = entry_id
        self.max_id = entry_id if self.max_id is None else max(self.max_id, entry_id)
        self.prev = me
        self._remember(me)
        # checkpoints read before the entry they sign (or given separately)
        while self.pending and self.pending[0][0] <= entry_id:
            _, _, cp = heapq.heappop(self.pending)
            if cp.log_id == entry_id:
                self._head(cp, me)
            else:
                self._add(
                    "deleted",
                    cp.log_id,
                    f"{cp.name} signs entry {cp.log_id}, which is not in the export",
                    me.line,
                )

    def _link(self, me: _Seen, prev_hash: bytes | None, before: _Seen | None) -> None:
        if before is None:
            if self.since_id is not None:
                self.anchor = prev_hash
            elif prev_hash is not None:
                self.missing[prev_hash] = (me, None)
            return
        if prev_hash == before.hash:
            return
        if prev_hash is None:
            self._add(
                "reordered",
                me.id,
                f"entry {me.id} claims to be the first of the log but follows entry {before.id}",
                me.line,
            )
        elif prev_hash in self.by_hash:
            linked = self.seen[self.by_hash[prev_hash]]
            intruder = self.seen.get(linked.ordinal + 1)
            count = me.ordinal - linked.ordinal - 1
            self._add(
                "inserted",
                intruder.id if intruder else me.id,
                f"entry {me.id} follows entry {linked.id} in the chain: "
                + ("the entry" if count == 1 else f"the {count} entries")
                + " between them do not belong to it",
                intruder.line if intruder else me.line,
            )
        else:
            self.missing[prev_hash] = (me, before)

    def _remember(self, me: _Seen) -> None:
        self.seen[me.ordinal] = me
        self.by_hash[me.hash] = me.ordinal
        self.by_id[me.id] = me.ordinal
        if len(self.seen) > WINDOW:
            _, old = self.seen.popitem(last=False)
            if self.by_hash.get(old.hash) == old.ordinal:
                del self.by_hash[old.hash]
            if self.by_id.get(old.id) == old.ordinal:
                del self.by_id[old.id]

    def _checkpoint(self, cp: _Checkpoint) -> None:
        self.checkpoints += 1
        key = self.keys.get(cp.kid)
        if key is None:
            self._add(
                "unknown_key",
                cp.log_id,
                f"{cp.name} is signed with key {cp.kid!r}, which is not among the public keys",
                cp.line,
            )
            return
        try:
            key.verify(cp.signature, checkpoint_message(cp.log_id, cp.head_hash))
        except InvalidSignature:
            self._add(
                "bad_signature",
                cp.log_id,
                f"{cp.name}'s signature does not verify with key {cp.kid!r}",
                cp.line,
            )
            # an unsigned claim proves nothing either way
            return
        if self.since_id is not None and cp.log_id <= self.since_id:
            self.notes.append(f"{cp.name} signs entry {cp.log_id}, before this export starts")
            return
        if self.max_id is None or cp.log_id > self.max_id:
            self.queued += 1
            heapq.heappush(self.pending, (cp.log_id, self.queued, cp))
            return
        ordinal = self.by_id.get(cp.log_id)
        if ordinal is not None:
            self._head(cp, self.seen[ordinal])
        else:
            self._add(
                "deleted",
                cp.log_id,
                f"{cp.name} signs entry {cp.log_id}, which is not in the export"
                + ("" if self.entries <= WINDOW else " (or lies too far back in the file)"),
                cp.line or (self.prev.line if self.prev else 0),
            )

    def _head(self, cp: _Checkpoint, at: _Seen) -> None:
        if cp.head_hash != at.hash:
            self._add(
                "rewritten",
                cp.log_id,
                f"the chain up to entry {cp.log_id} is not the one {cp.name} signed: entries "
                "up to it were changed and their hashes recomputed",
                cp.line or at.line,
            )
            return
        self.verified += 1
        if self.covered is None or at.ordinal > self.covered.ordinal:
            self.covered = at

    def finish(self) -> VerifyReport:
        if not self.started:
            self._add("malformed", None, "the export is empty: not even a header", 1)
        end = self.line + 1
        while self.pending:
            _, _, cp = heapq.heappop(self.pending)
            self._add(
                "truncated",
                cp.log_id,
                f"{cp.name} signs entry {cp.log_id}, but the export ends "
                + (f"at entry {self.max_id}" if self.max_id is not None else "without entries")
                + ": the entries after it were cut off",
                end,
            )
        for me, before in self.missing.values():
            if before is None:
                self._add(
                    "deleted",
                    me.id,
                    f"entry {me.id} is the first of a full export but links to an earlier "
                    "entry: the entries before it were removed",
                    me.line,
                )
            elif me.id == before.id + 1:
                self._add(
                    "edited",
                    before.id,
                    f"entry {me.id} links to a hash entry {before.id} does not have, and no id "
                    f"lies between them: entry {before.id} was rewritten with a recomputed hash",
                    before.line,
                )
            else:
                self._add(
                    "deleted",
                    me.id,
                    f"entry {me.id} links to an entry that is not in the export: entries "
                    f"between {before.id} and {me.id} were removed",
                    me.line,
                )
        first = self.first
        return VerifyReport(
            ok=first is None,
            first_broken_id=first.entry_id if first else None,
            reason=first.reason if first else None,
            detail=first.detail if first else None,
            problems=sorted(self.problems, key=lambda p: (p.line, _RANK[p.reason])),
            problem_count=self.problem_count,
            entries=self.entries,
            first_id=self.first_id,
            last_id=self.prev.id if self.prev else None,
            checkpoints=self.checkpoints,
            checkpoints_verified=self.verified,
            last_verified_log_id=self.covered.id if self.covered else None,
            unverified_tail=self.entries - (self.covered.ordinal + 1 if self.covered else 0),
            since_id=self.since_id,
            anchor_hash=self.anchor.hex() if self.anchor else None,
            head_hash=self.prev.hash.hex() if self.prev else None,
            keys_from_file=self.keys_from_file,
            notes=self.notes,
        )


def verify(
    lines: Iterable[str],
    public_keys: list[dict[str, Any]] | None = None,
    *,
    known_checkpoints: Iterable[Mapping[str, Any]] = (),
) -> VerifyReport:
    """Verify an export (the lines `export` wrote) without a database.

    `public_keys`: the registry's published audit JWKs; None uses the header's, which only
    proves the file agrees with itself. `known_checkpoints`: checkpoint records (as exported)
    kept from earlier exports or a published feed; the file must hold what they sign.
    """
    verifier = _Verifier(public_keys, known_checkpoints)
    for text in lines:
        verifier.feed(text)
    return verifier.finish()
