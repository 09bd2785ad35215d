"""The committed SDL is the API's contract: a change to the schema must update it."""

from __future__ import annotations

from schema import SDL_PATH, printed_sdl


def test_committed_schema_matches_the_code() -> None:
    assert SDL_PATH.read_text(encoding="utf-8") == printed_sdl(), (
        "schema/registry.graphql is out of date: run `registry schema print > "
        "schema/registry.graphql` and commit it with the change"
    )
