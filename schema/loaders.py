"""Per-request DataLoaders: one batched query per kind of data, each on its own short
database session, so a dossier costs a fixed number of round trips whatever its size."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any

import asyncpg
from strawberry.dataloader import DataLoader

from registry import dossier, provenance
from registry.dossier import Moment, Row


class Loaders:
    """Created for each request; loaders are made on first use, one per (data, moment)."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self._loaders: dict[tuple[Any, ...], DataLoader[Any, Any]] = {}
        # every institution (by USCC) and person read, for the access log
        self.touched: set[str] = set()

    def saw(self, rows: Iterable[Row]) -> None:
        for row in rows:
            self.touched.add(row["uscc"] if "uscc" in row else f"person:{row['id']}")

    def _loader(
        self,
        key: tuple[Any, ...],
        fetch: Callable[[asyncpg.Connection, list[Any]], Awaitable[dict[Any, Any]]],
        missing: Any,
        subjects: bool = False,
    ) -> DataLoader[Any, Any]:
        loader = self._loaders.get(key)
        if loader is None:

            async def batch(keys: Sequence[Any]) -> list[Any]:
                async with self.pool.acquire() as conn:
                    found = await fetch(conn, list(keys))
                if subjects:
                    self.saw(found.values())
                return [found.get(k, missing() if callable(missing) else missing) for k in keys]

            loader = DataLoader(load_fn=batch)
            self._loaders[key] = loader
        return loader

    def institution(self, column: str, at: Moment | None) -> DataLoader[Any, Row | None]:
        return self._loader(
            ("institution", column, at),
            lambda conn, keys: dossier.institutions(conn, column, keys, at),
            None,
            subjects=True,
        )

    def files(self, column: str, parts: frozenset[str]) -> DataLoader[Any, dossier.File | None]:
        """Current files in one statement; what they carry primes the other loaders."""

        async def fetch(conn: asyncpg.Connection, keys: list[Any]) -> dict[Any, dossier.File]:
            found = await dossier.files(conn, column, keys, parts)
            for file in found.values():
                self.saw([file.institution, *file.persons, *file.holders])
                institution_id = file.institution["id"]
                for key_column in ("id", "uscc"):
                    self.institution(key_column, None).prime(
                        file.institution[key_column], file.institution
                    )
                for kind, rows in file.parts.items():
                    self.children(kind, None).prime(institution_id, rows)
                self.person().prime_many({row["id"]: row for row in file.persons})
                self.institution("id", None).prime_many({row["id"]: row for row in file.holders})
            return found

        return self._loader(("files", column, parts), fetch, None)

    def children(self, kind: str, at: Moment | None) -> DataLoader[int, list[Row]]:
        return self._loader(
            ("children", kind, at),
            lambda conn, keys: dossier.children(conn, kind, keys, at),
            list,
        )

    def held_by(self, holder_column: str, at: Moment | None) -> DataLoader[int, list[Row]]:
        return self._loader(
            ("held_by", holder_column, at),
            lambda conn, keys: dossier.held_by(conn, holder_column, keys, at),
            list,
        )

    def person(self) -> DataLoader[int, Row | None]:
        return self._loader(("person",), dossier.persons, None, subjects=True)

    def positions_of_person(self, at: Moment | None) -> DataLoader[int, list[Row]]:
        return self._loader(
            ("positions_of_person", at),
            lambda conn, keys: dossier.positions_of_persons(conn, keys, at),
            list,
        )

    def provenance(
        self, kind: str, at: Moment | None
    ) -> DataLoader[int, list[provenance.FieldProvenance]]:
        return self._loader(
            ("provenance", kind, at),
            lambda conn, keys: provenance.provenance(conn, kind, keys, at),
            list,
        )
