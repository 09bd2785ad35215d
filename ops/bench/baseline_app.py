"""The dossier without GraphQL: the benchmark's baseline (see `ops.bench.dossier`).

A plain Starlette app. `POST /dossier` with `{"uscc": "..."}` reads the institution, its
legal representative, its direct shareholders and its licences with one hand-written SQL
statement on an asyncpg pool, and answers with the same JSON as the `data` of the
registry's `Dossier` query (`ops.bench.dossier.DOSSIER_QUERY`): same keys, same order,
same values. The current (golden) rows only, active children only, like the registry
when no `asOf`/`knownAt` is given.

Serve it like the registry:

    REGISTRY_DATABASE_URL=... uvicorn ops.bench.baseline_app:create_app --factory --workers 2
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from decimal import Decimal
from enum import StrEnum
from typing import Any

import asyncpg
import orjson
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ops.database import create_pool, resolve_url
from ops.settings import Settings, get_settings
from registry import identifiers, records

# Arrays of anonymous records come back as tuples; the column order below is the tuple order.
DOSSIER_SQL = """
SELECT
    i.uscc, i.name, i.enterprise_type, i.status, i.registered_capital, i.capital_currency,
    i.established, i.registration_authority, i.address, i.business_scope,
    (SELECT ROW(p.role, p.title, pe.name, pe.id_type, pe.id_number, pe.id_masked)
       FROM "position" p JOIN person pe ON pe.id = p.person_id
      WHERE p.institution_id = i.id AND p.active AND p.role = 'legal_representative'
      ORDER BY p.id
      LIMIT 1) AS legal_representative,
    ARRAY(SELECT ROW(h.share_exact, h.share_min, h.share_max,
                     h.subscribed_amount, h.subscribed_currency,
                     h.paid_in_amount, h.paid_in_currency, h.interests,
                     h.holder_kind, h.holder_name,
                     hi.id IS NOT NULL, hi.uscc, hi.name,
                     hp.name, hp.id_type, hp.id_number, hp.id_masked)
            FROM holding h
            LEFT JOIN institution hi
                   ON h.holder_kind = 'institution' AND hi.id = h.holder_institution_id
            LEFT JOIN person hp
                   ON h.holder_kind = 'person' AND hp.id = h.holder_person_id
           WHERE h.institution_id = i.id AND h.active
           ORDER BY h.id) AS shareholders,
    ARRAY(SELECT ROW(l.licence_type, l.number, l.issuer, l.status, l.valid_from, l.valid_to)
            FROM licence l
           WHERE l.institution_id = i.id AND l.active
           ORDER BY l.id) AS licences
FROM institution i
WHERE i.uscc = $1
"""


def _names(enum: type[StrEnum]) -> dict[str, str]:
    """Stored value -> GraphQL enum value (the member name)."""
    return {member.value: member.name for member in enum}


_STATUS = _names(records.InstitutionStatus)
_ROLE = _names(records.Role)
_INTEREST = _names(records.InterestType)
_PARTY_KIND = _names(records.PartyKind)
_LICENCE_TYPE = _names(records.LicenceType)
_LICENCE_STATUS = _names(records.LicenceStatus)
_SOURCE = _names(records.Source)


def _decimal(value: Decimal | None) -> str | None:
    # strawberry's Decimal scalar serializes with str()
    return None if value is None else str(value)


def _money(amount: Decimal | None, currency: str | None) -> dict[str, Any] | None:
    return None if amount is None else {"amount": str(amount), "currency": currency or "CNY"}


def _masked(id_type: str, number: str | None, masked_at_source: bool) -> str | None:
    if number and not masked_at_source and id_type == "resident_id":
        return identifiers.mask_resident_id(number)
    return number


def _holder(h: tuple[Any, ...]) -> dict[str, Any]:
    kind, stated_name = h[8], h[9]
    if kind == "institution":
        if h[10]:
            return {"__typename": "Institution", "uscc": h[11], "name": h[12]}
        return {"__typename": "UnknownParty", "kind": "UNKNOWN"}
    if kind == "person":
        return {
            "__typename": "Person",
            "name": h[13],
            "idNumberMasked": _masked(h[14], h[15], h[16]),
        }
    if kind == "state_body":
        return {"__typename": "StateBody", "name": stated_name}
    return {"__typename": "UnknownParty", "kind": _PARTY_KIND[kind]}


def _shareholder(h: tuple[Any, ...]) -> dict[str, Any]:
    exact, low, high = h[0], h[1], h[2]
    share = (
        None
        if exact is None and low is None and high is None
        else {"exact": _decimal(exact), "min": _decimal(low), "max": _decimal(high)}
    )
    return {
        "share": share,
        "subscribed": _money(h[3], h[4]),
        "paidIn": _money(h[5], h[6]),
        "interests": [_INTEREST[i] for i in h[7] or ()],
        "holder": _holder(h),
    }


def dossier_json(row: asyncpg.Record) -> dict[str, Any]:
    """The `institution` object of the Dossier query, from one row of DOSSIER_SQL."""
    lr = row["legal_representative"]
    return {
        "uscc": row["uscc"],
        "name": row["name"],
        "enterpriseType": row["enterprise_type"],
        "status": _STATUS[row["status"]] if row["status"] else None,
        "registeredCapital": _money(row["registered_capital"], row["capital_currency"]),
        "established": row["established"],
        "registrationAuthority": row["registration_authority"],
        "address": row["address"],
        "businessScope": row["business_scope"],
        "legalRepresentative": None
        if lr is None
        else {
            "role": _ROLE[lr[0]],
            "title": lr[1],
            "person": {"name": lr[2], "idNumberMasked": _masked(lr[3], lr[4], lr[5])},
        },
        "shareholders": [_shareholder(h) for h in row["shareholders"]],
        "licences": [
            {
                "licenceType": _LICENCE_TYPE[lic[0]],
                "number": lic[1],
                "issuer": _SOURCE[lic[2]] if lic[2] else None,
                "status": _LICENCE_STATUS[lic[3]] if lic[3] else None,
                "validFrom": lic[4],
                "validTo": lic[5],
            }
            for lic in row["licences"]
        ],
    }


def _json(payload: dict[str, Any], status: int = 200) -> Response:
    # orjson writes dates as ISO 8601, like the GraphQL Date scalar
    return Response(orjson.dumps(payload), status_code=status, media_type="application/json")


def _error(message: str, status: int) -> Response:
    return _json({"data": {"institution": None}, "errors": [{"message": message}]}, status)


def create_app(settings: Settings | None = None) -> Starlette:
    settings = settings or get_settings()
    state: dict[str, asyncpg.Pool] = {}

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        state["pool"] = await create_pool(resolve_url(settings), settings.pool_size)
        try:
            yield
        finally:
            await state["pool"].close()

    async def dossier(request: Request) -> Response:
        try:
            given = orjson.loads(await request.body())["uscc"]
            uscc = identifiers.parse_uscc(given).code
        except (orjson.JSONDecodeError, KeyError, TypeError):
            return _error('expected a JSON body {"uscc": "..."}', 400)
        except identifiers.InvalidIdentifier as exc:
            return _error(str(exc), 400)
        async with state["pool"].acquire() as conn:
            row = await conn.fetchrow(DOSSIER_SQL, uscc)
        if row is None:
            return _error(f"no institution with uscc {uscc}", 404)
        return _json({"data": {"institution": dossier_json(row)}})

    async def healthz(request: Request) -> Response:
        return _json({"status": "ok"})

    return Starlette(
        routes=[
            Route("/dossier", dossier, methods=["POST"]),
            Route("/healthz", healthz),
        ],
        lifespan=lifespan,
    )
