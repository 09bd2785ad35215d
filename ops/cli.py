"""The `registry` command: serve, load demo data, ingest a file, manage the database."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
import uvicorn
from tqdm import tqdm

from ops import database
from ops.access_cli import clients_app, keys_app
from ops.audit_cli import audit_app
from ops.loading import apply_batches
from ops.settings import get_settings, is_loopback
from registry.ingest import BatchReport, ingest
from registry.records import Source

app = typer.Typer(help="The interagency institution registry.", no_args_is_help=True)
db_app = typer.Typer(help="The registry's PostgreSQL database.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(clients_app, name="clients")
app.add_typer(keys_app, name="keys")
app.add_typer(audit_app, name="audit")


def _prepared_url() -> str:
    """The database URL, with the embedded server started and the schema at head."""
    url = database.resolve_url(get_settings())
    database.upgrade(url)
    return url


@db_app.command("upgrade")
def db_upgrade(
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
) -> None:
    """Create or upgrade the schema (alembic migrations)."""
    url = database.resolve_url(get_settings())
    database.upgrade(url, revision)
    typer.echo(f"database at {revision}: {_display(url)}")


@db_app.command("url")
def db_url() -> None:
    """Print the database URL in use (starting the embedded server if needed)."""
    typer.echo(database.resolve_url(get_settings()))


def _display(url: str) -> str:
    return url if "@" not in url else url.split("@", 1)[1]


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address.")] = None,
    port: Annotated[int | None, typer.Option(help="Port.")] = None,
    workers: Annotated[int | None, typer.Option(help="Worker processes.")] = None,
) -> None:
    """Serve GraphQL at http://HOST:PORT/graphql (GraphiQL in a browser)."""
    settings = get_settings()
    host = host or settings.host
    if not settings.auth and not is_loopback(host):
        typer.echo(
            f"refusing to bind to {host} with REGISTRY_AUTH off: without tokens the registry "
            "serves only on the loopback interface (127.0.0.1)",
            err=True,
        )
        raise typer.Exit(2)
    url = _prepared_url()
    # workers are separate processes: they find the (already started) database here
    os.environ["REGISTRY_DATABASE_URL"] = url
    port = port or settings.port
    access = (
        "bearer tokens required (get one at /oauth/token)"
        if settings.auth
        else "NO AUTHENTICATION (REGISTRY_AUTH=false), loopback only"
    )
    typer.echo(
        f"registry: GraphQL on http://{host}:{port}/graphql — {access}; database {_display(url)}"
    )
    uvicorn.run(
        "ops.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers or settings.workers,
        log_level="warning",
        access_log=False,
    )


@app.command()
def demo(
    institutions: Annotated[int, typer.Option(help="How many institutions to generate.")] = 10_000,
    seed: Annotated[int, typer.Option(help="Random seed; the same seed gives the same data.")] = (
        20160414
    ),
    batch_size: Annotated[int, typer.Option(help="Records per ingest batch.")] = 50_000,
) -> None:
    """Generate a realistic synthetic dataset and load it through the ingest."""
    from registry.demo import DemoPlan, generate

    plan = DemoPlan(institutions=institutions, seed=seed)
    url = _prepared_url()
    started = dt.datetime.now()
    reports = asyncio.run(_load(url, generate(plan), f"demo-{seed}-{institutions}", batch_size))
    seconds = (dt.datetime.now() - started).total_seconds()
    received = sum(r.received for r in reports)
    typer.echo(
        f"demo: {received:,} records in {len(reports)} batches, {seconds:.1f} s "
        f"({received / max(seconds, 1e-9):,.0f} records/s): "
        f"{sum(r.accepted for r in reports):,} new or changed, "
        f"{sum(r.unchanged for r in reports):,} unchanged, "
        f"{sum(r.quarantined for r in reports):,} quarantined"
    )


def _batches(
    records: Iterator[tuple[Source, dict[str, Any]]], size: int
) -> Iterator[tuple[Source, list[dict[str, Any]]]]:
    """Batches of at most `size` records of one source.

    Every institution record is sent before any record that refers to institutions, so a
    reference never arrives ahead of the institution it names.
    """
    buffers: dict[Source, list[dict[str, Any]]] = {}
    institutions_done = False
    for source, record in records:
        if not institutions_done and record["type"] != "institution":
            institutions_done = True
            for pending_source, pending in buffers.items():
                if pending:
                    yield pending_source, pending
            buffers = {}
        buffer = buffers.setdefault(source, [])
        buffer.append(record)
        if len(buffer) >= size:
            yield source, buffer
            buffers[source] = []
    for source, pending in buffers.items():
        if pending:
            yield source, pending


async def _load(
    url: str, records: Iterator[tuple[Source, dict[str, Any]]], prefix: str, size: int
) -> list[BatchReport]:
    pool = await database.create_pool(url, 1)
    try:
        with tqdm(unit=" records", desc="ingest", unit_scale=True) as bar:
            return await apply_batches(
                pool,
                _batches(records, size),
                batch_ref=lambda index, source: f"{prefix}-{index:05d}",
                progress=bar.update,
            )
    finally:
        await pool.close()


@app.command("ingest")
def ingest_file(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="An NDJSON file.")],
    source: Annotated[Source, typer.Option(help="The agency the file comes from.")],
    batch_id: Annotated[str | None, typer.Option(help="Batch id; default: the file name.")] = None,
    snapshot: Annotated[
        bool, typer.Option(help="A full snapshot: close what the file no longer reports.")
    ] = False,
) -> None:
    """Push one NDJSON file through the ingest and print its batch report."""
    url = _prepared_url()

    async def run() -> BatchReport:
        pool = await database.create_pool(url, 1)
        try:
            with file.open(encoding="utf-8") as handle:
                lines = [(n, text) for n, text in enumerate(handle, 1) if text.strip()]
            async with pool.acquire() as conn:
                return await ingest(
                    conn,
                    source=source,
                    batch_ref=batch_id or file.name,
                    lines=tqdm(lines, unit=" records", desc="ingest"),
                    kind="snapshot" if snapshot else "delta",
                )
        finally:
            await pool.close()

    report = asyncio.run(run())
    typer.echo(
        f"batch {report.batch_ref} ({report.source}): received {report.received} = "
        f"accepted {report.accepted} + unchanged {report.unchanged} + "
        f"quarantined {report.quarantined}; closed {report.closed}"
        + (" (already applied: nothing changed)" if report.replayed else "")
    )
    for rejected in report.rejected:
        for reason in rejected.reasons:
            typer.echo(f"  line {rejected.line}: {reason.code} at {reason.field}: {reason.message}")


schema_app = typer.Typer(help="The GraphQL schema.", no_args_is_help=True)
app.add_typer(schema_app, name="schema")


@schema_app.command("print")
def schema_print() -> None:
    """Print the GraphQL SDL (committed as schema/registry.graphql)."""
    from schema import printed_sdl

    typer.echo(printed_sdl(), nl=False)


config_app = typer.Typer(help="The service's settings.", no_args_is_help=True)
app.add_typer(config_app, name="config")


@config_app.command("check")
def config_check() -> None:
    """Check the settings, the policy files and the database before a start; exit 1 when
    anything is wrong, saying what."""
    from pydantic import ValidationError

    from auth.grants import load as load_grants
    from ops.settings import Settings

    problems: list[str] = []
    try:
        settings = Settings()
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            name = "REGISTRY_" + "_".join(str(p) for p in error["loc"]).upper()
            problems.append(f"{name}: {error['msg']}")
        settings = None
    if settings is not None and not settings.auth and not is_loopback(settings.host):
        problems.append(f"REGISTRY_AUTH is off but REGISTRY_HOST is {settings.host}")
    try:
        load_grants()
    except ValueError as exc:
        problems.append(f"policy: {exc}")
    if settings is not None:
        try:
            url = database.resolve_url(settings)
            revision = database.run_on_connection(
                url, lambda conn: conn.fetchval("SELECT version_num FROM alembic_version")
            )
            if revision != database.head_revision():
                problems.append(
                    f"database at migration {revision}, this code expects "
                    f"{database.head_revision()}: run `registry db upgrade`"
                )
        except Exception as exc:  # whatever keeps us from the database is the finding
            problems.append(f"database: {type(exc).__name__}: {exc}")
    for problem in problems:
        typer.echo(f"✗ {problem}", err=True)
    if problems:
        raise typer.Exit(1)
    typer.echo("✓ settings, policy and database are ready")
