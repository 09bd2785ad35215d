"""Legal bases for account data (经过法定程序): account fields are read only under a recorded
basis that covers this client, this institution, this moment, and has uses left.

Records are append-only (the database refuses UPDATE and DELETE); each read is a use,
recorded in `legal_basis_use` under a row lock so concurrent reads cannot overspend it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import asyncpg

from registry.errors import RegistryError


class LegalBasisRequired(RegistryError):
    code = "LEGAL_BASIS_REQUIRED"


@dataclass(frozen=True)
class LegalBasis:
    id: int
    reference: str
    issuing_authority: str
    client_id: str
    institution_id: int
    purpose: str
    valid_from: dt.datetime
    valid_to: dt.datetime
    max_uses: int
    recorded_by: str
    uses: int = 0


def _basis(row: asyncpg.Record, uses: int = 0) -> LegalBasis:
    return LegalBasis(
        id=row["id"],
        reference=row["reference"],
        issuing_authority=row["issuing_authority"],
        client_id=row["client_id"],
        institution_id=row["institution_id"],
        purpose=row["purpose"],
        valid_from=row["valid_from"],
        valid_to=row["valid_to"],
        max_uses=row["max_uses"],
        recorded_by=row["recorded_by"],
        uses=uses,
    )


async def record(
    conn: asyncpg.Connection,
    *,
    reference: str,
    issuing_authority: str,
    client_id: str,
    institution_id: int,
    purpose: str,
    valid_from: dt.datetime,
    valid_to: dt.datetime,
    max_uses: int,
    recorded_by: str,
) -> LegalBasis:
    if valid_to <= valid_from:
        raise ValueError("validTo must be after validFrom")
    if max_uses < 1:
        raise ValueError("maxUses must be at least 1")
    if not reference.strip() or not issuing_authority.strip() or not purpose.strip():
        raise ValueError("reference, issuingAuthority and purpose are required")
    row = await conn.fetchrow(
        """INSERT INTO legal_basis (reference, issuing_authority, client_id, institution_id,
               purpose, valid_from, valid_to, max_uses, recorded_by)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING *""",
        reference, issuing_authority, client_id, institution_id, purpose, valid_from, valid_to,
        max_uses, recorded_by,
    )  # fmt: skip
    return _basis(row)


async def use(
    conn: asyncpg.Connection,
    *,
    legal_basis_id: int,
    client_id: str,
    institution_id: int,
    request_id: str,
    now: dt.datetime | None = None,
) -> LegalBasis:
    """Spend one use of a basis for this client and institution, or refuse saying why."""
    moment = now or dt.datetime.now(dt.UTC)
    async with conn.transaction():
        row = await conn.fetchrow(
            "SELECT * FROM legal_basis WHERE id = $1 FOR UPDATE", legal_basis_id
        )
        if row is None:
            raise LegalBasisRequired(f"no legal basis {legal_basis_id} is recorded")
        if row["client_id"] != client_id:
            raise LegalBasisRequired(
                f"legal basis {legal_basis_id} ({row['reference']}) was issued to another client"
            )
        if row["institution_id"] != institution_id:
            raise LegalBasisRequired(
                f"legal basis {legal_basis_id} ({row['reference']}) covers another institution"
            )
        if not row["valid_from"] <= moment < row["valid_to"]:
            raise LegalBasisRequired(
                f"legal basis {legal_basis_id} ({row['reference']}) is valid from "
                f"{row['valid_from'].isoformat()} to {row['valid_to'].isoformat()}, not now"
            )
        used = await conn.fetchval(
            "SELECT count(*) FROM legal_basis_use WHERE legal_basis_id = $1", legal_basis_id
        )
        if used >= row["max_uses"]:
            raise LegalBasisRequired(
                f"legal basis {legal_basis_id} ({row['reference']}) has been used "
                f"{used} of {row['max_uses']} times"
            )
        await conn.execute(
            "INSERT INTO legal_basis_use (legal_basis_id, request_id) VALUES ($1, $2)",
            legal_basis_id,
            request_id,
        )
    return _basis(row, used + 1)
