"""Typed domain errors. Each carries a stable code that the API surfaces in `extensions.code`."""

from __future__ import annotations


class RegistryError(Exception):
    code = "REGISTRY_ERROR"

    def __init__(self, message: str, **details: object) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class NotFound(RegistryError):
    code = "NOT_FOUND"


class Forbidden(RegistryError):
    code = "FORBIDDEN"


class InvalidArgument(RegistryError):
    code = "BAD_USER_INPUT"


class InvalidIdentifierArgument(InvalidArgument):
    code = "INVALID_IDENTIFIER"


class PageSizeTooLarge(InvalidArgument):
    code = "PAGE_SIZE_TOO_LARGE"


class InvalidCursor(InvalidArgument):
    code = "INVALID_CURSOR"


class BatchIdReused(RegistryError):
    code = "BATCH_ID_REUSED"
