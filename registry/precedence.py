"""Source precedence per record kind, loaded from `policy/precedence.toml`."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources

from registry.records import Source


@dataclass(frozen=True)
class Precedence:
    ranks: dict[str, dict[str, int]]

    def order(self, kind: str) -> list[str]:
        """Every source for one kind, best first."""
        return sorted(self.ranks[kind], key=self.ranks[kind].__getitem__)


def parse(document: dict[str, object], kinds: list[str]) -> Precedence:
    known = {s.value for s in Source}
    default = document.get("default")
    if not isinstance(default, list) or set(default) != known:
        raise ValueError(f"precedence: 'default' must list every source once: {sorted(known)}")
    table = document.get("kinds", {})
    if not isinstance(table, dict):
        raise ValueError("precedence: 'kinds' must be a table")
    unknown_kinds = set(table) - set(kinds)
    if unknown_kinds:
        raise ValueError(f"precedence: unknown record kinds {sorted(unknown_kinds)}")
    ranks: dict[str, dict[str, int]] = {}
    for kind in kinds:
        listed = table.get(kind, [])
        bad = [s for s in listed if s not in known]
        if bad:
            raise ValueError(f"precedence: kind {kind!r} names unknown sources {bad}")
        order = list(dict.fromkeys([*listed, *default]))
        ranks[kind] = {source: rank for rank, source in enumerate(order)}
    return Precedence(ranks)


@cache
def load() -> Precedence:
    from registry.kinds import KINDS_BY_NAME

    text = resources.files("registry.policy").joinpath("precedence.toml").read_text("utf-8")
    return parse(tomllib.loads(text), list(KINDS_BY_NAME))
