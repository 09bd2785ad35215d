"""`registry clients …` and `registry keys …`: who may call the API, and the token keys."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, TypeVar

import asyncpg
import typer

from auth import clients, keys
from auth.grants import load as load_grants
from auth.tokens import OAuthError, issue
from ops import database
from ops.settings import get_settings

clients_app = typer.Typer(help="OAuth clients: one per agency system.", no_args_is_help=True)
keys_app = typer.Typer(help="The keys that sign access tokens.", no_args_is_help=True)

T = TypeVar("T")


def _with_connection(work: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
    url = database.resolve_url(get_settings())
    database.upgrade(url)
    return database.run_on_connection(url, work)


@clients_app.command("add")
def add(
    agency: Annotated[str, typer.Option(help="The agency the client belongs to.")],
    name: Annotated[str, typer.Option(help="A name people recognise, e.g. the system's.")],
    auth_method: Annotated[
        str, typer.Option(help="client_secret_basic, client_secret_post or private_key_jwt.")
    ] = "client_secret_basic",
    jwks: Annotated[
        Path | None, typer.Option(help="For private_key_jwt: the client's public keys (JWKS).")
    ] = None,
) -> None:
    """Register a client; a secret is printed once and never stored in clear."""
    public_keys = json.loads(jwks.read_text()) if jwks else None
    try:
        client, secret = _with_connection(
            lambda conn: clients.add(
                conn, agency=agency, name=name, auth_method=auth_method, jwks=public_keys
            )
        )
    except ValueError as exc:
        typer.echo(f"refused: {exc}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(f"client_id:     {client.client_id}")
    if secret:
        typer.echo(f"client_secret: {secret}   (shown once; store it now)")
    typer.echo(f"scopes:        {' '.join(sorted(client.scopes))}")


@clients_app.command("list")
def list_clients() -> None:
    """Every client, with its agency and whether it is revoked."""
    for client in _with_connection(clients.all_clients):
        state = "revoked" if client.revoked else "active"
        typer.echo(
            f"{client.client_id}\t{client.agency}\t{client.auth_method}\t{state}\t{client.name}"
        )


@clients_app.command("revoke")
def revoke(client_id: str) -> None:
    """Revoke a client: its tokens are refused within seconds, and it gets no new ones."""
    if not _with_connection(lambda conn: clients.revoke(conn, client_id)):
        typer.echo(f"no active client {client_id!r}", err=True)
        raise typer.Exit(1)
    typer.echo(f"revoked {client_id}")


@clients_app.command("rotate-secret")
def rotate_secret(client_id: str) -> None:
    """Give a client a new secret; the old one stops working at once."""
    try:
        secret = _with_connection(lambda conn: clients.rotate_secret(conn, client_id))
    except ValueError as exc:
        typer.echo(f"refused: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"client_secret: {secret}   (shown once; store it now)")


@clients_app.command("scopes")
def scopes(agency: Annotated[str | None, typer.Argument()] = None) -> None:
    """What each agency may see (the policy), or one agency's scopes."""
    policy = load_grants()
    for code in [agency] if agency else sorted(policy.agencies):
        entry = policy.agency(code)
        typer.echo(f"{code} — {entry.name}")
        for scope in sorted(entry.scopes):
            typer.echo(f"  {scope}: {policy.scopes[scope]}")


@keys_app.command("rotate")
def rotate() -> None:
    """Sign new tokens with a new key; tokens signed before stay valid until they expire."""
    kid = _with_connection(keys.rotate)
    typer.echo(f"signing with {kid}; previous keys verify until their tokens expire")


@clients_app.command("token")
def token(
    agency: Annotated[str, typer.Option(help="Whose scopes the token carries.")],
    scope: Annotated[str | None, typer.Option(help="Fewer scopes, space-separated.")] = None,
) -> None:
    """Print an access token for a local client of AGENCY (for GraphiQL and curl on an
    operator's machine); agency systems get theirs from /oauth/token."""
    settings = get_settings()

    async def issue_token(conn: asyncpg.Connection) -> str:
        name = f"local {agency} (registry clients token)"
        client = next(
            (c for c in await clients.all_clients(conn) if c.name == name and not c.revoked),
            None,
        )
        if client is None:
            client, _ = await clients.add(conn, agency=agency, name=name)
        signing = await keys.load(conn, dt.timedelta(seconds=settings.token_ttl_seconds))
        answer = issue(
            signing,
            client,
            requested=scope,
            issuer=settings.issuer,
            audience=settings.audience,
            ttl=dt.timedelta(seconds=settings.token_ttl_seconds),
        )
        return str(answer["access_token"])

    try:
        typer.echo(_with_connection(issue_token))
    except (ValueError, OAuthError) as exc:
        typer.echo(f"refused: {exc}", err=True)
        raise typer.Exit(2) from exc
