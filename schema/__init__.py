"""The GraphQL surface of the registry."""

from __future__ import annotations

from pathlib import Path

import strawberry
from graphql import GraphQLError
from strawberry.extensions import ParserCache, ValidationCache
from strawberry.types import ExecutionContext

from schema.errors import is_expected
from schema.mutation import Mutation
from schema.query import Query
from schema.scopes import ScopeCheck
from schema.types import Account, Branch, Classification, Licence, ListEntry, Website

SDL_PATH = Path(__file__).parent / "registry.graphql"


class RegistrySchema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Log only what nobody expected; refused requests are the access log's business."""
        unexpected = [e for e in errors if not is_expected(e)]
        if unexpected:
            super().process_errors(unexpected, execution_context)


def build_schema() -> strawberry.Schema:
    return RegistrySchema(
        query=Query,
        mutation=Mutation,
        types=[Licence, Website, Classification, ListEntry, Branch, Account],
        # parsing and validating a document costs more than most resolvers; agencies send
        # the same few documents over and over
        extensions=[
            lambda: ParserCache(maxsize=512),
            lambda: ValidationCache(maxsize=512),
            ScopeCheck,
        ],
    )


def printed_sdl() -> str:
    return build_schema().as_str() + "\n"
