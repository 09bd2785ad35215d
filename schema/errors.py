"""GraphQL errors with stable codes in `extensions.code`.

Domain errors keep their message (written for the person who sent the request) and details;
anything unexpected is answered with a generic message, never a stack trace (the schema
logs it, see `schema.RegistrySchema`).
"""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError

from registry.errors import RegistryError

INTERNAL = "INTERNAL_SERVER_ERROR"
INVALID_DOCUMENT = "GRAPHQL_VALIDATION_FAILED"


def format_error(error: GraphQLError) -> dict[str, Any]:
    original = error.original_error
    formatted: dict[str, Any] = dict(error.formatted)
    if isinstance(original, RegistryError):
        formatted["message"] = original.message
        formatted["extensions"] = {"code": original.code, **original.details}
    elif original is None:
        formatted["extensions"] = {"code": INVALID_DOCUMENT, **(error.extensions or {})}
    else:
        formatted["message"] = "internal error; the request was logged"
        formatted["extensions"] = {"code": INTERNAL}
    return formatted


def is_expected(error: GraphQLError) -> bool:
    return error.original_error is None or isinstance(error.original_error, RegistryError)
