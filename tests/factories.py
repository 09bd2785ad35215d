"""Small hand-made records for tests: valid identifiers, readable Chinese names."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from registry import identifiers


def uscc(n: int, division: str = "310115") -> str:
    return identifiers.make_uscc(division, f"{n:08d}")


def resident_id(n: int, birth: str = "19800101", division: str = "310115") -> str:
    first17 = f"{division}{birth}{n % 1000:03d}"
    return first17 + identifiers.resident_id_check_char(first17)


def institution(n: int, name: str, **fields: Any) -> dict[str, Any]:
    return {"type": "institution", "uscc": uscc(n), "name": name, **fields}


def person(n: int, name: str) -> dict[str, Any]:
    return {"name": name, "id_number": resident_id(n)}


def holding(of: int, holder: dict[str, Any], share: str | None, **fields: Any) -> dict[str, Any]:
    record = {"type": "shareholding", "institution": uscc(of), "holder": holder, **fields}
    if share is not None:
        record["share"] = {"exact": share}
    return record


def held_by_institution(n: int, name: str = "某投资有限公司") -> dict[str, Any]:
    return {"kind": "institution", "uscc": uscc(n), "name": name}


def held_by_person(n: int, name: str) -> dict[str, Any]:
    return {"kind": "person", "person": person(n, name)}


def position(of: int, who: dict[str, Any], role: str, title: str | None = None) -> dict[str, Any]:
    return {
        "type": "position",
        "institution": uscc(of),
        "person": who,
        "role": role,
        "title": title,
    }


def numbered(records: Sequence[Any]) -> list[tuple[int, Any]]:
    return list(enumerate(records, 1))
