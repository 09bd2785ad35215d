"""`registry audit ...`: export the access log, verify an export offline, sign a checkpoint."""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import asyncpg
import orjson
import typer

from ops import database
from ops.settings import get_settings
from registry.audit import (
    AccessLogTampered,
    Checkpoint,
    VerifyReport,
    audit_keys,
    checkpoint,
    export,
    rotate_audit_key,
    verify,
)

audit_app = typer.Typer(help="The hash-chained access log.", no_args_is_help=True)

T = TypeVar("T")
SHOWN_PROBLEMS = 20


def _with_connection(work: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
    # auditors' commands read the schema as it is: they never migrate it
    url = database.resolve_url(get_settings())
    try:
        return database.run_on_connection(url, work)
    except asyncpg.UndefinedTableError as exc:
        typer.echo(
            f"the database has no access log yet ({exc}); run `registry db upgrade`", err=True
        )
        raise typer.Exit(2) from exc
    except AccessLogTampered as exc:
        typer.echo(f"BROKEN: {exc.message}", err=True)
        raise typer.Exit(1) from exc
    except (OSError, asyncpg.PostgresError) as exc:
        typer.echo(f"cannot reach the database: {exc}", err=True)
        raise typer.Exit(2) from exc


@audit_app.command("export")
def export_command(
    file: Annotated[Path, typer.Argument(dir_okay=False, help="Where to write; - for stdout.")],
    since_id: Annotated[
        int | None, typer.Option(help="Only entries after this id (an incremental export).")
    ] = None,
) -> None:
    """Write the access log as JSON lines: a header with the public keys, every entry and
    every checkpoint, ready for `registry audit verify`."""

    async def write(conn: asyncpg.Connection) -> int:
        if str(file) == "-":
            return await export(conn, sys.stdout, since_id)
        with file.open("w", encoding="utf-8") as out:
            return await export(conn, out, since_id)

    count = _with_connection(write)
    if str(file) != "-":
        typer.echo(f"exported {count} entries to {file}", err=True)


def _load_jwks(path: Path) -> list[dict[str, Any]]:
    data = orjson.loads(path.read_bytes())
    if isinstance(data, dict) and isinstance(data.get("keys"), list):
        data = data["keys"]
    elif isinstance(data, dict):
        data = [data]
    if not isinstance(data, list) or not all(isinstance(k, dict) for k in data):
        raise typer.BadParameter("expected a JWK, a list of JWKs or a JWKS {'keys': [...]}")
    return data


def _load_checkpoints(path: Path) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            if line.strip():
                record = orjson.loads(line)
                if isinstance(record, dict) and record.get("type", "checkpoint") == "checkpoint":
                    records.append(record)
    return records


def _print_report(report: VerifyReport) -> None:
    typer.echo(report.summary())
    for problem in report.problems[:SHOWN_PROBLEMS]:
        where = f"line {problem.line}" if problem.line else "known checkpoint"
        entry = f"entry {problem.entry_id}" if problem.entry_id is not None else "-"
        typer.echo(f"  {where}: {problem.reason} ({entry}): {problem.detail}")
    if report.problem_count > SHOWN_PROBLEMS:
        typer.echo(f"  ... and {report.problem_count - SHOWN_PROBLEMS} more")
    typer.echo(
        f"  entries {report.entries}, checkpoints {report.checkpoints_verified}/"
        f"{report.checkpoints} verified, last signed entry {report.last_verified_log_id}, "
        f"unverified tail {report.unverified_tail}, head {report.head_hash}"
    )
    if report.since_id is not None:
        typer.echo(
            f"  partial export after entry {report.since_id}: it links to the earlier log "
            f"through prev_hash {report.anchor_hash}; compare it with entry_hash of entry "
            f"{report.since_id} in the earlier export"
        )
    if report.unverified_tail:
        typer.echo(
            f"  the {report.unverified_tail} entries after the last valid checkpoint are not "
            "signed: entries removed from the end would leave no trace",
        )
    for note in report.notes:
        typer.echo(f"  note: {note}")


@audit_app.command("verify")
def verify_command(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="An export.")],
    public_key: Annotated[
        Path | None,
        typer.Option(
            exists=True,
            dir_okay=False,
            help="The registry's published audit keys (a JWK or JWKS file).",
        ),
    ] = None,
    checkpoints: Annotated[
        Path | None,
        typer.Option(
            exists=True,
            dir_okay=False,
            help="Checkpoint lines kept from an earlier export or the published feed: the "
            "file must still hold the entries they sign.",
        ),
    ] = None,
) -> None:
    """Verify an export offline (no database): the hash chain, the ids, every checkpoint.
    Exit code 0 when intact, 1 when broken."""
    keys = _load_jwks(public_key) if public_key else None
    known = _load_checkpoints(checkpoints) if checkpoints else []
    if keys is None:
        typer.echo(
            "warning: verifying with the public keys in the export itself — they prove "
            "nothing unless compared with the registry's published keys (--public-key)",
            err=True,
        )
    with file.open(encoding="utf-8") as lines:
        report = verify(lines, keys, known_checkpoints=known)
    _print_report(report)
    raise typer.Exit(0 if report.ok else 1)


@audit_app.command("checkpoint")
def checkpoint_command() -> None:
    """Sign the current head of the log now, after checking the entries since the last
    checkpoint still form the chain."""

    async def sign(conn: asyncpg.Connection) -> Checkpoint | None:
        return await checkpoint(conn, await audit_keys(conn))

    signed = _with_connection(sign)
    if signed is None:
        typer.echo("nothing to sign: the log is empty or its head is already signed")
    else:
        typer.echo(
            f"checkpoint {signed.id}: entry {signed.log_id}, head {signed.head_hash}, "
            f"key {signed.kid}"
        )


@audit_app.command("rotate-key")
def rotate_key_command() -> None:
    """Retire the checkpoint-signing key and create its successor (old checkpoints still
    verify: exports carry retired keys too). Publish the new public key."""

    async def rotate(conn: asyncpg.Connection) -> dict[str, Any]:
        await rotate_audit_key(conn)
        return (await audit_keys(conn)).public_jwk

    jwk = _with_connection(rotate)
    typer.echo(f"new audit signing key {jwk['kid']}; its public JWK:")
    typer.echo(orjson.dumps(jwk, option=orjson.OPT_SORT_KEYS).decode())
