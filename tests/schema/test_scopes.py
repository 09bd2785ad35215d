"""Scopes decide what each agency sees: (agency, document) → (data, errors), for every agency
in the default policy, through aliases, fragments, interfaces and introspection."""

from __future__ import annotations

import datetime as dt

import asyncpg
import pytest

from auth.grants import load as load_grants
from auth.tokens import Principal
from tests.factories import uscc
from tests.schema.conftest import Run
from tests.schema.test_dossier import load

IDENTITY = "query ($u: String!) { institution(uscc: $u) { uscc name status } }"
SHAREHOLDERS = (
    "query ($u: String!) { institution(uscc: $u) { name shareholders { share { exact } } } }"
)
# the same refused field hidden behind an alias, a named fragment and an inline fragment
ALIASED = "query ($u: String!) { institution(uscc: $u) { owners: shareholders { interests } } }"
FRAGMENT = """query ($u: String!) { institution(uscc: $u) { ...F } }
fragment F on Institution { name legalRepresentative { title } }"""
INLINE = """query ($u: String!) {
  institution(uscc: $u) { ... on Institution { websites { domain } } } }"""
# provenance through the interface needs the scopes of every type implementing it
INTERFACE = """query ($u: String!) { institution(uscc: $u) {
  ... on Sourced { id provenance(fields: ["name"]) { value } } } }"""
IDENTITY_NUMBER = """query ($u: String!) { institution(uscc: $u) {
  legalRepresentative { person { name idNumber } } } }"""
LICENCES = "query ($u: String!) { institution(uscc: $u) { licences { number } } }"
CLASSIFICATIONS = "query ($u: String!) { institution(uscc: $u) { classifications { nature } } }"
INTROSPECTION = "{ __schema { queryType { name } } }"
TYPENAME = "{ __typename }"

DOCUMENTS = {
    "identity": (IDENTITY, ["Query.institution"]),
    "shareholders": (SHAREHOLDERS, ["Institution.shareholders"]),
    "aliased": (ALIASED, ["Institution.shareholders"]),
    "fragment": (FRAGMENT, ["Institution.legalRepresentative"]),
    "inline": (INLINE, ["Institution.websites"]),
    "interface": (INTERFACE, ["Sourced.id", "Sourced.provenance"]),
    "identity_number": (IDENTITY_NUMBER, ["Person.idNumber"]),
    "licences": (LICENCES, ["Institution.licences"]),
    "classifications": (CLASSIFICATIONS, ["Institution.classifications"]),
    "introspection": (INTROSPECTION, ["Query.__schema"]),
    "typename": (TYPENAME, []),
}

# What each agency of the default policy may do; "denied" lists the documents refused.
ALLOWED = {
    "registration": {"inline", "interface"} ^ set(DOCUMENTS),
    "central_bank": {"identity_number"} ^ set(DOCUMENTS),
    "banking": {"identity_number", "inline", "interface"} ^ set(DOCUMENTS),
    "securities": {"identity_number", "inline", "interface"} ^ set(DOCUMENTS),
    "insurance": {"identity_number", "inline", "interface"} ^ set(DOCUMENTS),
    "public_security": {"inline", "interface", "classifications"} ^ set(DOCUMENTS),
    "telecom": {"identity", "inline", "introspection", "typename"},
    "leading_group": set(DOCUMENTS),
    "auditor": {"introspection", "typename"},
}


def principal(agency: str) -> Principal:
    return Principal(
        client_id=f"{agency}-test",
        agency=agency,
        scopes=load_grants().agency(agency).scopes,
        token_id="t",
        expires_at=dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5),
    )


def test_every_agency_of_the_policy_is_covered() -> None:
    assert set(ALLOWED) == set(load_grants().agencies)


@pytest.mark.parametrize("agency", sorted(ALLOWED))
async def test_agency_sees_what_its_scopes_cover(db: asyncpg.Pool, gql: Run, agency: str) -> None:
    await load(db)
    for name, (document, coordinates) in DOCUMENTS.items():
        variables = {"u": uscc(1)} if "$u" in document else {}
        answer = await gql(document, principal(agency), **variables)
        if name in ALLOWED[agency]:
            assert "errors" not in answer, (agency, name, answer)
            assert answer["data"], (agency, name)
        else:
            assert answer["data"] is None, (agency, name, answer)
            (error,) = answer["errors"]
            assert error["extensions"]["code"] == "INSUFFICIENT_SCOPE", (agency, name)
            assert set(coordinates) <= set(error["extensions"]["denied"]), (agency, name, error)


async def test_refused_before_any_sql(db: asyncpg.Pool, database_url: str) -> None:
    from tests.schema.test_round_trips import _count_with

    statements = await _count_with(database_url, SHAREHOLDERS, principal("telecom"), u=uscc(1))
    assert statements == 0


async def test_the_error_lists_every_denied_coordinate(db: asyncpg.Pool, gql: Run) -> None:
    document = """query ($u: String!) { institution(uscc: $u) {
        shareholders { interests } licences { number } websites { domain } } }"""
    answer = await gql(document, principal("telecom"), u=uscc(1))
    (error,) = answer["errors"]
    assert error["extensions"]["denied"] == [
        "Institution.shareholders",
        "Shareholding.interests",
        "Institution.licences",
        "Licence.number",
    ]
