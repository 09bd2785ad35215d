"""SQL pieces every look-through shares: holdings in force (now or at a moment), the
governing source of a holding, the share bounds, the control and vehicle predicates.

With no moment, the record tables' golden columns answer and `active` says a record is in
force. At a moment, a holding is in force when one of its statements is (the rule of
`registry.golden.in_force`), and its golden columns are resolved from those statements field
by field by source precedence, as `registry.golden.bodies_at` does, inside the walk itself so
that a look-through at a moment is still one statement.
"""

from __future__ import annotations

from registry import golden
from registry.dossier import Moment
from registry.lookthrough.rules import CONTROL_INTERESTS, MAJORITY_LINE, VehicleRule
from registry.precedence import load as load_precedence

HOLDING_COLUMNS = (
    "id",
    "institution_id",
    "holder_kind",
    "holder_institution_id",
    "holder_person_id",
    "holder_name",
    "share_exact",
    "share_min",
    "share_max",
    "share_min_inclusive",
    "share_max_inclusive",
    "interests",
)
_IDENTITY = HOLDING_COLUMNS[:6]
_GOLDEN_CASTS = {
    "share_exact": "numeric",
    "share_min": "numeric",
    "share_max": "numeric",
    "share_min_inclusive": "boolean",
    "share_max_inclusive": "boolean",
}


class Params:
    """Positional parameters by name: each value is bound once, however often it is used."""

    def __init__(self) -> None:
        self.values: list[object] = []
        self._names: dict[str, str] = {}

    def __call__(self, name: str, value: object, cast: str) -> str:
        if name not in self._names:
            self.values.append(value)
            self._names[name] = f"${len(self.values)}::{cast}"
        return self._names[name]


def _in_force(at: Moment, p: Params) -> str:
    condition, _ = golden.in_force(
        p("as_of", at.as_of, "date"), p("known_at", at.known_at, "timestamptz")
    )
    return condition


def precedence(kind: str, p: Params) -> str:
    return p(f"precedence_{kind}", load_precedence().order(kind), "text[]")


def alive(alias: str, kind: str, at: Moment | None, p: Params) -> str:
    """Whether the record `alias` (of record kind `kind`) is in force."""
    if at is None:
        return f"{alias}.active"
    return f"""EXISTS (SELECT 1 FROM statement s WHERE s.record_kind = '{kind}'
        AND s.record_id = {alias}.id AND {_in_force(at, p)})"""


def holdings(where: str, at: Moment | None, p: Params) -> str:
    """A subquery: the holdings in force matching `where` (over alias `h`), golden columns."""
    if at is None:
        columns = ", ".join(f"h.{c}" for c in HOLDING_COLUMNS)
        return f"SELECT {columns} FROM holding h WHERE h.active AND ({where})"
    golden_columns = ", ".join(
        f"(b.body->>'{c}')::{cast} AS {c}" for c, cast in _GOLDEN_CASTS.items()
    )
    # per field, the best-ranked source in force that states it (golden._MERGED's rule)
    return f"""SELECT {", ".join(f"h.{c}" for c in _IDENTITY)}, {golden_columns},
            ARRAY(SELECT jsonb_array_elements_text(coalesce(b.body->'interests', '[]')))
                AS interests
        FROM holding h CROSS JOIN LATERAL (
            SELECT jsonb_object_agg(f.key, f.value) AS body FROM (
                SELECT DISTINCT ON (j.key) j.key, j.value
                FROM statement s CROSS JOIN LATERAL jsonb_each(s.body) j
                WHERE s.record_kind = 'shareholding' AND s.record_id = h.id
                  AND {_in_force(at, p)}
                ORDER BY j.key, array_position({precedence("shareholding", p)}, s.source)
            ) f
        ) b
        WHERE b.body IS NOT NULL AND ({where})"""


def count_holdings(where: str, cap: str, at: Moment | None, p: Params) -> str:
    """How many holdings in force match `where`, counting no further than `cap`."""
    return f"""SELECT count(*) AS n FROM (SELECT 1 FROM holding h
        WHERE {alive("h", "shareholding", at, p)} AND ({where}) LIMIT {cap}) q"""


def source(holding_id: str, at: Moment | None, p: Params) -> str:
    """The governing source of a holding: the best-ranked one with a statement in force."""
    condition = "s.closed_at IS NULL" if at is None else _in_force(at, p)
    return f"""(SELECT s.source FROM statement s WHERE s.record_kind = 'shareholding'
        AND s.record_id = {holding_id} AND {condition}
        ORDER BY array_position({precedence("shareholding", p)}, s.source) LIMIT 1)"""


def low(alias: str) -> str:
    return f"coalesce({alias}.share_exact, {alias}.share_min, 0)"


def high(alias: str) -> str:
    return f"coalesce({alias}.share_exact, {alias}.share_max, 100)"


def control_relevant(alias: str, p: Params) -> str:
    """Holdings that can make their holder a controller (a superset of `decide_control`'s):
    the majority test (with the residual inference over `total_high`) or a control interest.
    """
    line = p("majority_line", MAJORITY_LINE, "numeric")
    interests = p("control_interests", list(CONTROL_INTERESTS), "text[]")
    return f"""({low(alias)} > {line}
        OR ({alias}.share_exact IS NULL AND {alias}.share_min = {line}
            AND {alias}.share_min_inclusive IS FALSE)
        OR 100 - ({alias}.total_high - {high(alias)}) > {line}
        OR {alias}.interests && {interests})"""


def control_holdings(where: str, at: Moment | None, p: Params, *, per_institution: bool) -> str:
    """Holdings that can give control, each with `total_high` of its institution's holders.

    `per_institution`: `where` selects whole institutions, so a window sums their holders;
    otherwise (walking down, a holder's holdings) each held institution is summed apart.
    """
    if per_institution:
        inner = f"""SELECT e.*, sum({high("e")}) OVER (PARTITION BY e.institution_id) AS total_high
            FROM ({holdings(where, at, p)}) e"""
    else:
        everyone = holdings("h.institution_id = e.institution_id", at, p)
        inner = f"""SELECT e.*, (SELECT sum({high("a")}) FROM ({everyone}) a) AS total_high
            FROM ({holdings(where, at, p)}) e"""
    return f"SELECT c.* FROM ({inner}) c WHERE {control_relevant('c', p)}"


def vehicle(alias: str, rule: VehicleRule, p: Params) -> str:
    types = p("vehicle_types", list(rule.enterprise_type_contains), "text[]")
    names = p("vehicle_names", list(rule.name_contains), "text[]")
    return f"""(EXISTS (SELECT 1 FROM unnest({types}) w
            WHERE strpos({alias}.enterprise_type, w) > 0)
        OR EXISTS (SELECT 1 FROM unnest({names}) w WHERE strpos({alias}.name, w) > 0))"""
