"""The root Mutation."""

from __future__ import annotations

import datetime as dt

import strawberry

from auth import legal_basis
from registry.errors import Forbidden, InvalidArgument, NotFound
from schema.context import Info
from schema.query import _uscc
from schema.scopes import requires


@strawberry.input(description="A legal basis for reading one institution's account data.")
class LegalBasisInput:
    reference: str = strawberry.field(description="The document's reference number.")
    issuing_authority: str
    client_id: str = strawberry.field(description="The OAuth client it authorises.")
    institution_uscc: str
    purpose: str
    valid_from: dt.datetime
    valid_to: dt.datetime
    max_uses: int


@strawberry.type(description="A recorded legal basis. Records are never changed or removed.")
class LegalBasis:
    id: strawberry.ID
    reference: str
    issuing_authority: str
    client_id: str
    purpose: str
    valid_from: dt.datetime
    valid_to: dt.datetime
    max_uses: int
    recorded_by: str


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="Record a legal basis (append-only; the record itself is in the access log).",
        directives=[requires("legal_basis:write")],
    )
    async def record_legal_basis(self, info: Info, input: LegalBasisInput) -> LegalBasis:
        context = info.context
        if context.principal is None:
            raise InvalidArgument("legal bases are recorded by an authenticated client")
        if input.client_id == context.principal.client_id:
            # the client that reads the accounts is not the one that authorises reading them
            raise Forbidden("a client may not record a legal basis for itself")
        uscc = _uscc(input.institution_uscc)
        async with context.pool.acquire() as conn:
            institution_id = await conn.fetchval("SELECT id FROM institution WHERE uscc = $1", uscc)
            if institution_id is None:
                raise NotFound(f"no institution with uscc {uscc}")
            try:
                basis = await legal_basis.record(
                    conn,
                    reference=input.reference,
                    issuing_authority=input.issuing_authority,
                    client_id=input.client_id,
                    institution_id=institution_id,
                    purpose=input.purpose,
                    valid_from=input.valid_from,
                    valid_to=input.valid_to,
                    max_uses=input.max_uses,
                    recorded_by=context.principal.client_id,
                )
            except ValueError as exc:
                raise InvalidArgument(str(exc)) from exc
        context.legal_bases.append(basis.id)
        return LegalBasis(
            id=strawberry.ID(str(basis.id)),
            reference=basis.reference,
            issuing_authority=basis.issuing_authority,
            client_id=basis.client_id,
            purpose=basis.purpose,
            valid_from=basis.valid_from,
            valid_to=basis.valid_to,
            max_uses=basis.max_uses,
            recorded_by=basis.recorded_by,
        )
