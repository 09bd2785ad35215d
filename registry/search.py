"""Finding institutions: by Chinese name (partial and fuzzy), USCC, status, region, licence,
classification — with keyset pagination and a server-side page cap.

Names are indexed as character bigrams in a `tsvector` (migration 0001,
`registry_name_bigrams`). A name query first asks for every bigram of the query (a partial
match); when nothing matches it asks for any bigram (typos, transposed characters). Either
way at most `CANDIDATES` rows are ranked with rapidfuzz and paged through by their rank.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import orjson
from rapidfuzz import fuzz

from registry import identifiers
from registry.errors import InvalidCursor, InvalidIdentifierArgument, PageSizeTooLarge

CANDIDATES = 2000
MIN_FUZZY_SCORE = 60.0

# Mirrors the normalisation of `registry_name_bigrams` in migration 0001.
_STRIP = re.compile(r"[\s\W_（）【】《》〈〉「」、，。·：；！？]+")


def normalise(name: str) -> str:
    return _STRIP.sub("", name).lower()


def bigrams(name: str) -> list[str]:
    text = normalise(name)
    if len(text) < 2:
        return [text] if text else []
    return sorted({text[i : i + 2] for i in range(len(text) - 1)})


def _lexeme(gram: str) -> str:
    return "'" + gram.replace("\\", "\\\\").replace("'", "''") + "'"


def name_query(name: str, *, any_gram: bool) -> str | None:
    """The tsquery text for a name: all bigrams (partial match) or any (fuzzy)."""
    text = normalise(name)
    if not text:
        return None
    if len(text) == 1:
        return _lexeme(text) + ":*"
    return (" | " if any_gram else " & ").join(_lexeme(g) for g in bigrams(text))


@dataclass(frozen=True)
class InstitutionFilter:
    name: str | None = None
    uscc: str | None = None
    statuses: list[str] = field(default_factory=list)
    division: str | None = None  # a prefix: "31" province, "3101" city, "310115" district
    licence_type: str | None = None
    classification_domain: str | None = None
    remediation_class: str | None = None
    include_mentioned: bool = False


@dataclass(frozen=True)
class Hit:
    row: dict[str, Any]
    score: float | None
    cursor: str


@dataclass(frozen=True)
class Page:
    hits: list[Hit]
    has_next: bool
    # name searches rank a bounded candidate set; True when the query matched more
    candidates_capped: bool = False


def encode_cursor(*parts: Any) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(parts)).decode().rstrip("=")


def decode_cursor(cursor: str, mode: str) -> list[Any]:
    try:
        parts = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, orjson.JSONDecodeError) as exc:
        raise InvalidCursor(
            "the cursor is not one this API issued; pass a cursor from a previous page "
            "unchanged, or omit it for the first page"
        ) from exc
    if not isinstance(parts, list) or not parts or parts[0] != mode:
        raise InvalidCursor(
            "the cursor belongs to a different kind of search; restart from the first page"
        )
    return parts[1:]


def _conditions(f: InstitutionFilter) -> tuple[list[str], list[Any]]:
    where: list[str] = []
    params: list[Any] = []

    def param(value: Any) -> str:
        params.append(value)
        return f"${len(params)}"

    if not f.include_mentioned:
        where.append("NOT i.mentioned_only")
    if f.uscc is not None:
        try:
            code = identifiers.parse_uscc(f.uscc).code
        except identifiers.InvalidIdentifier as exc:
            raise InvalidIdentifierArgument(str(exc), field="uscc") from exc
        where.append(f"i.uscc = {param(code)}")
    if f.statuses:
        where.append(f"i.status = ANY({param(f.statuses)}::text[])")
    if f.division:
        if not f.division.isdigit() or len(f.division) > 6:
            raise InvalidIdentifierArgument(
                f"division {f.division!r} must be 1 to 6 digits of an administrative division "
                "code, e.g. 31 (Shanghai) or 310115 (Pudong)",
                field="division",
            )
        where.append(f"i.division LIKE {param(f.division + '%')}")
    if f.licence_type:
        where.append(
            "EXISTS (SELECT 1 FROM licence l WHERE l.institution_id = i.id AND l.active "
            f"AND l.licence_type = {param(f.licence_type)})"
        )
    if f.classification_domain or f.remediation_class:
        domain = param(f.classification_domain)
        remediation = param(f.remediation_class)
        where.append(
            "EXISTS (SELECT 1 FROM classification c WHERE c.institution_id = i.id AND c.active "
            f"AND ({domain}::text IS NULL OR c.domain = {domain}) "
            f"AND ({remediation}::text IS NULL OR c.remediation_class = {remediation}))"
        )
    return where, params


def check_page_size(first: int, page_max: int) -> None:
    if first < 1 or first > page_max:
        raise PageSizeTooLarge(
            f"first must be between 1 and {page_max}; got {first}. Page through larger "
            "results with the cursor.",
            maximum=page_max,
        )


async def search(
    conn: asyncpg.Connection,
    f: InstitutionFilter,
    *,
    first: int,
    after: str | None,
    page_max: int,
) -> Page:
    check_page_size(first, page_max)
    if f.name and normalise(f.name):
        return await _by_name(conn, f, first, after)
    where, params = _conditions(f)
    if after is not None:
        (after_id,) = decode_cursor(after, "id")
        params.append(int(after_id))
        where.append(f"i.id > ${len(params)}")
    params.append(first + 1)
    rows = await conn.fetch(
        f"SELECT i.* FROM institution i WHERE {' AND '.join(where) or 'TRUE'} "
        f"ORDER BY i.id LIMIT ${len(params)}",
        *params,
    )
    hits = [Hit(dict(r), None, encode_cursor("id", r["id"])) for r in rows[:first]]
    return Page(hits, has_next=len(rows) > first)


async def _by_name(
    conn: asyncpg.Connection, f: InstitutionFilter, first: int, after: str | None
) -> Page:
    assert f.name is not None
    where, params = _conditions(f)
    rows: list[asyncpg.Record] = []
    for any_gram in (False, True):
        query = name_query(f.name, any_gram=any_gram)
        rows = await conn.fetch(
            f"SELECT i.* FROM institution i WHERE i.name_search @@ ${len(params) + 1}::tsquery "
            f"AND {' AND '.join(where) or 'TRUE'} ORDER BY i.id LIMIT {CANDIDATES + 1}",
            *params,
            query,
        )
        if rows:
            break
    wanted = normalise(f.name)
    ranked = []
    for row in rows[:CANDIDATES]:
        names = [row["name"] or "", *row["former_names"]]
        score = max(fuzz.partial_ratio(wanted, normalise(n)) for n in names)
        if score >= MIN_FUZZY_SCORE:
            ranked.append((-round(score, 3), len(row["name"] or ""), row["id"], row))
    ranked.sort(key=lambda item: item[:3])
    if after is not None:
        position = tuple(decode_cursor(after, "name"))
        ranked = [item for item in ranked if item[:3] > position]
    hits = [
        Hit(dict(row), -neg, encode_cursor("name", neg, length, ident))
        for neg, length, ident, row in ranked[:first]
    ]
    return Page(hits, has_next=len(ranked) > first, candidates_capped=len(rows) > CANDIDATES)
