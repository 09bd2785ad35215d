"""Benchmark: the token endpoint, POST /oauth/token with the client-credentials grant.

What it measures. The registry app as `registry serve` runs it — uvicorn with `--workers`
processes, tokens required and the access log on (REGISTRY_AUTH=true,
REGISTRY_ACCESS_LOG=true, REGISTRY_ISSUER its own loopback URL) — answering
`grant_type=client_credentials` (a form body, `Content-Type:
application/x-www-form-urlencoded`) from a client of agency `registration` that
authenticates with HTTP Basic. Closed-loop load from `--clients` keep-alive connections
(one request in flight on each) made by a separate load-generator process
(`ops.bench.loadgen`). It prints requests/s, p50 and p99 latency and the error count:
socket errors, answers other than 200, and answers without an `access_token`.

Each request reads the client (one round trip), checks its secret (salted SHA-256), signs
an ES256 token and appends one entry to the access log before answering; the entries
written are counted and compared with the answers received, and `pg_stat_activity` is
sampled to see how long appends wait for the access log's chain lock
(`ops.bench.secured`).

The client ("token benchmark (ops.bench.token)") is registered the first time and reused
after, with a new secret each run (secrets are stored hashed). Before timing, one token is
fetched and used for a GraphQL request to the same server; the benchmark stops unless
both succeed.

Data: the database REGISTRY_DATABASE_URL points at, or else the embedded one (as every
`registry` command); it needs the access tables (`registry db upgrade`), not the demo
data. Every run appends its requests to the access log, which is append-only.

Run (by hand; never from the test suite):

    python -m ops.bench.token --clients 16 --duration 20 --workers 2

The load generator is `wrk` when it is on PATH, otherwise the built-in asyncio one
(`--loadgen python` forces it). The server, PostgreSQL and the load generator share this
machine's CPUs: compare runs on the same machine only. Everything binds to 127.0.0.1 on a
free port; the server is stopped at the end, on errors and on Ctrl-C.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import signal
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from types import FrameType
from typing import Annotated, Any, NoReturn
from urllib.parse import quote_plus

import asyncpg
import typer

from ops.bench import loadgen, secured, servers
from ops.bench.loadgen import Generator
from ops.bench.servers import HOST
from ops.database import resolve_url
from ops.oauth import TOKEN_PATH
from ops.settings import get_settings

CLIENT_AGENCY = "registration"
CLIENT_NAME = "token benchmark (ops.bench.token)"
FORM = "application/x-www-form-urlencoded"
BODY = "grant_type=client_credentials"
SUCCESS_MARKER = '"access_token"'
PROBE_QUERY = '{"query":"{ __typename }"}'


@dataclass(frozen=True)
class Credentials:
    client_id: str
    secret: str

    @property
    def basic(self) -> str:
        """RFC 6749 §2.3.1: each part form-urlencoded, then HTTP Basic."""
        pair = f"{quote_plus(self.client_id)}:{quote_plus(self.secret)}"
        return "Basic " + base64.b64encode(pair.encode()).decode()


@dataclass
class Measured:
    result: loadgen.LoadResult
    entries: int
    locks: secured.LockStats


def _fail(message: str) -> NoReturn:
    typer.echo(f"token benchmark: {message}", err=True)
    raise typer.Exit(1)


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _display(url: str) -> str:
    return url if "@" not in url else url.split("@", 1)[1]


async def _credentials(url: str) -> Credentials:
    conn = await asyncpg.connect(url)
    try:
        missing = await secured.missing_tables(conn)
        if missing:
            _fail(f"the database lacks {', '.join(missing)}: run `registry db upgrade`")
        client, secret = await secured.bench_client(
            conn, agency=CLIENT_AGENCY, name=CLIENT_NAME, with_secret=True
        )
    finally:
        await conn.close()
    assert secret is not None, "a client_secret_basic client always gets a secret"
    return Credentials(client.client_id, secret)


def _post(url: str, body: str, headers: Mapping[str, str]) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body.encode(), headers=dict(headers), method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def _check(server: servers.Server, credentials: Credentials) -> dict[str, Any]:
    """One token from the endpoint, then used on /graphql; fail unless both succeed."""
    status, raw = _post(
        server.url(TOKEN_PATH),
        BODY,
        {"Content-Type": FORM, "Authorization": credentials.basic},
    )
    try:
        answer = json.loads(raw)
    except ValueError:
        answer = None
    if status != 200 or not isinstance(answer, dict) or not answer.get("access_token"):
        _fail(f"sanity check: the token endpoint answered {status}:\n{raw[:2000]!r}")
    status, raw = _post(
        server.url("/graphql"),
        PROBE_QUERY,
        {"Content-Type": "application/json", "Authorization": f"Bearer {answer['access_token']}"},
    )
    if status != 200 or b'"errors"' in raw:
        _fail(f"sanity check: /graphql refused the token it issued ({status}):\n{raw[:2000]!r}")
    return answer


app = typer.Typer(add_completion=False, help=__doc__.split("\n\n", 1)[0] if __doc__ else None)


@app.command()
def main(
    clients: Annotated[int, typer.Option(min=1, help="Concurrent connections.")] = 16,
    duration: Annotated[float, typer.Option(min=1, help="Measured seconds.")] = 20,
    warmup: Annotated[float, typer.Option(min=0, help="Unmeasured seconds first.")] = 5,
    workers: Annotated[int, typer.Option(min=1, help="uvicorn worker processes.")] = 2,
    generator: Annotated[
        Generator, typer.Option("--loadgen", help="Load generator; auto: wrk if on PATH.")
    ] = Generator.auto,
) -> None:
    """Measure the token endpoint (client credentials, HTTP Basic, access log on)."""
    # Ctrl-C and SIGTERM unwind through the `finally` that stops the server
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _terminate)
    try:
        generator = loadgen.choose(generator)
    except RuntimeError as exc:
        _fail(str(exc))
    try:
        measured = _run(clients, duration, warmup, workers, generator)
    except KeyboardInterrupt:
        typer.echo("token benchmark: interrupted; the server is stopped", err=True)
        raise typer.Exit(130) from None

    r = measured.result
    typer.echo("")
    header = ("target", "req/s", "p50 ms", "p99 ms", "requests", "errors")
    typer.echo("{:<10} {:>10} {:>9} {:>9} {:>10} {:>7}".format(*header))
    typer.echo(
        f"{'token':<10} {r.rps:>10,.1f} {r.p50_ms:>9.2f} {r.p99_ms:>9.2f} "
        f"{r.requests:>10,} {r.errors:>7,}"
    )
    typer.echo(f"\ntoken endpoint req/s: {r.rps:,.1f}")
    typer.echo("")
    lines, agree = secured.entries_report(
        entries=measured.entries,
        warmup_answers=r.warmup_requests,
        answers=r.requests,
        unanswered_bound=secured.unanswered_bound(clients, r.runs, r.errors),
    )
    for line in [*lines, *measured.locks.lines(measured.entries)]:
        typer.echo(line)
    if r.errors:
        typer.echo("WARNING: some requests failed; the figures above are not comparable", err=True)
        raise typer.Exit(1)
    if not agree:
        typer.echo("WARNING: the access log does not match the answers", err=True)
        raise typer.Exit(1)


def _run(
    clients: int, duration: float, warmup: float, workers: int, generator: Generator
) -> Measured:
    settings = get_settings()
    url = resolve_url(settings)
    credentials = asyncio.run(_credentials(url))
    port = servers.free_port()
    issuer = f"http://{HOST}:{port}"
    launch = servers.Launch(
        name="registry",
        app="ops.app:create_app",
        port=port,
        env=servers.registry_env(
            url, auth=True, access_log=True, issuer=issuer, audience=settings.audience
        ),
    )
    typer.echo(
        f"token benchmark: {clients} clients, {workers} workers, {warmup:g} s warm-up + "
        f"{duration:g} s measured, load generator {generator}, {os.cpu_count()} CPUs shared "
        f"by the server, PostgreSQL and load generator (load average "
        f"{os.getloadavg()[0]:.2f} before)"
    )
    typer.echo(
        f"database {_display(url)}; client {credentials.client_id} ({CLIENT_AGENCY}), "
        f"HTTP Basic; POST {TOKEN_PATH} {BODY}"
    )
    try:
        with servers.running([launch], workers) as started:
            server = started[0]
            answer = _check(server, credentials)
            typer.echo(
                f"sanity check: token issued ({answer.get('token_type')}, expires in "
                f"{answer.get('expires_in')} s, {len(str(answer['access_token']))} characters, "
                f"scope: {answer.get('scope')}) and accepted by /graphql"
            )
            spec = loadgen.LoadSpec(
                host=HOST,
                port=server.port,
                path=TOKEN_PATH,
                bodies=[BODY],
                clients=clients,
                warmup=warmup,
                duration=duration,
                content_type=FORM,
                headers={"Authorization": credentials.basic},
                failure_marker=None,
                success_marker=SUCCESS_MARKER,
            )
            typer.echo("measuring the token endpoint ...", err=True)
            # the sanity check's entries are not counted: counting starts here
            before = asyncio.run(secured.count_entries(url))
            with secured.LockSampler(url) as sampler:
                result = loadgen.run(spec, generator)
            entries = secured.settled_count(url) - before
    except servers.ServerFailed as exc:
        _fail(str(exc))
    return Measured(result=result, entries=entries, locks=sampler.stats)


if __name__ == "__main__":
    app()
