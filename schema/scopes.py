"""Scopes on the schema: declared on each type and field with @requiresScope (visible in the
SDL), and checked for a whole document before any resolver or SQL runs.

A field needs the scope declared on it, else the one declared on its type. A field asked for
through an interface needs the scopes of every type that implements it. Introspection needs
`schema:read`; `__typename` needs nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache

import strawberry
from graphql import (
    FieldNode,
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    TypeInfo,
    TypeInfoVisitor,
    Visitor,
    parse,
    validate,
    visit,
)
from strawberry.extensions import SchemaExtension
from strawberry.schema_directive import Location

INTROSPECTION_SCOPE = "schema:read"
INSUFFICIENT_SCOPE = "INSUFFICIENT_SCOPE"


@strawberry.schema_directive(
    locations=[Location.OBJECT, Location.INTERFACE, Location.FIELD_DEFINITION],
    description="The OAuth scope a token must hold to read this type or field.",
)
class RequiresScope:
    scope: str


def _declared(definition: object) -> str | None:
    for directive in getattr(definition, "directives", None) or []:
        if isinstance(directive, RequiresScope):
            return directive.scope
    return None


def scope_map(schema: GraphQLSchema) -> dict[str, frozenset[str]]:
    """Field coordinate (`Type.field`) → the scopes it needs; absent means none."""
    needs: dict[str, frozenset[str]] = {}
    for type_ in schema.type_map.values():
        if not isinstance(type_, GraphQLObjectType | GraphQLInterfaceType):
            continue
        definition = (type_.extensions or {}).get("strawberry-definition")
        type_scope = _declared(definition)
        for name, field in type_.fields.items():
            strawberry_field = (field.extensions or {}).get("strawberry-definition")
            scope = _declared(strawberry_field) or type_scope
            if scope:
                needs[f"{type_.name}.{name}"] = frozenset({scope})
    for type_ in schema.type_map.values():
        if isinstance(type_, GraphQLInterfaceType):
            implementations = schema.get_implementations(type_).objects
            for name in type_.fields:
                needs[f"{type_.name}.{name}"] = frozenset().union(
                    *(needs.get(f"{impl.name}.{name}", frozenset()) for impl in implementations)
                )
    assert schema.query_type is not None
    for name in ("__schema", "__type"):
        needs[f"{schema.query_type.name}.{name}"] = frozenset({INTROSPECTION_SCOPE})
    return needs


def _coordinates(schema: GraphQLSchema, document_text: str) -> Iterator[str]:
    type_info = TypeInfo(schema)
    found: list[str] = []

    class Collect(Visitor):
        def enter_field(self, node: FieldNode, *_: object) -> None:
            parent = type_info.get_parent_type()
            if parent is not None and node.name.value != "__typename":
                found.append(f"{parent.name}.{node.name.value}")

    visit(parse(document_text), TypeInfoVisitor(type_info, Collect()))
    return iter(dict.fromkeys(found))


class ScopeCheck(SchemaExtension):
    """Refuses an operation whole, before execution, when it selects anything — through
    aliases, fragments, interfaces or introspection — outside the token's scopes."""

    def on_operation(self) -> Iterator[None]:
        context = self.execution_context
        request = context.context
        request.document = context.query
        request.variables = context.variables
        request.operation_name = context.operation_name
        yield

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        if context.pre_execution_errors is None and context.graphql_document is not None:
            context.pre_execution_errors = list(
                validate(context.schema._schema, context.graphql_document)
            )
        if not context.pre_execution_errors and context.query is not None:
            request = context.context
            read, denied = analyse(context.schema._schema, context.query, request.scopes)
            request.fields_read, request.fields_denied = read, denied
            if denied and request.scopes is not None:
                context.pre_execution_errors = [insufficient_scope(denied)]
        yield


def insufficient_scope(denied: list[str]) -> GraphQLError:
    return GraphQLError(
        "the token's scopes do not cover: " + ", ".join(denied),
        extensions={"code": INSUFFICIENT_SCOPE, "denied": denied},
    )


@lru_cache(maxsize=1024)
def _needs(schema: GraphQLSchema, document_text: str) -> tuple[tuple[str, frozenset[str]], ...]:
    needs = _scope_maps(schema)
    return tuple((c, needs.get(c, frozenset())) for c in _coordinates(schema, document_text))


@lru_cache(maxsize=4)
def _scope_maps(schema: GraphQLSchema) -> dict[str, frozenset[str]]:
    return scope_map(schema)


def analyse(
    schema: GraphQLSchema, document_text: str, scopes: frozenset[str] | None
) -> tuple[list[str], list[str]]:
    """The field coordinates a document reads, and those its scopes do not cover
    (`scopes` None: no token in force, nothing is denied)."""
    read, denied = [], []
    for coordinate, needed in _needs(schema, document_text):
        read.append(coordinate)
        if scopes is not None and not needed <= scopes:
            denied.append(coordinate)
    return read, denied


def requires(scope: str) -> RequiresScope:
    """`directives=[requires("licence:read")]` on a type or field."""
    return RequiresScope(scope=scope)
