"""The scope catalogue and the agency grants, loaded from `policy/*.toml` and checked at
start-up: a grant of an unknown scope, or an agency without a name, stops the service."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import cache
from importlib import resources


@dataclass(frozen=True)
class Agency:
    code: str
    name: str
    scopes: frozenset[str]


@dataclass(frozen=True)
class Policy:
    scopes: dict[str, str]  # scope → what it covers
    agencies: dict[str, Agency]

    def agency(self, code: str) -> Agency:
        try:
            return self.agencies[code]
        except KeyError:
            known = ", ".join(sorted(self.agencies))
            raise ValueError(f"unknown agency {code!r}; known agencies: {known}") from None


def parse(scopes_doc: dict[str, object], agencies_doc: dict[str, object]) -> Policy:
    catalogue = scopes_doc.get("scopes")
    if not isinstance(catalogue, dict) or not catalogue:
        raise ValueError("scopes.toml: a [scopes] table of scope = description is required")
    table = agencies_doc.get("agencies")
    if not isinstance(table, dict) or not table:
        raise ValueError("agencies.toml: an [agencies.<code>] table per agency is required")
    agencies = {}
    for code, entry in table.items():
        if not isinstance(entry, dict) or not entry.get("name"):
            raise ValueError(f"agencies.toml: agency {code!r} needs a name")
        granted = entry.get("scopes", [])
        unknown = sorted(set(granted) - set(catalogue))
        if unknown:
            raise ValueError(f"agencies.toml: agency {code!r} is granted unknown scopes {unknown}")
        agencies[code] = Agency(code, str(entry["name"]), frozenset(granted))
    return Policy({str(k): str(v) for k, v in catalogue.items()}, agencies)


@cache
def load() -> Policy:
    folder = resources.files("auth.policy")
    return parse(
        tomllib.loads(folder.joinpath("scopes.toml").read_text("utf-8")),
        tomllib.loads(folder.joinpath("agencies.toml").read_text("utf-8")),
    )
