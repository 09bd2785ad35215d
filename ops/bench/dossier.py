"""Benchmark: the dossier query over HTTP, the registry's GraphQL against a hand-written baseline.

What it measures. The "dossier query" — one institution by USCC with its identity, legal
representative, direct shareholders (with each holder) and licences — as agencies send it,
served over HTTP by uvicorn with `--workers` processes, under closed-loop load from
`--clients` keep-alive connections (one request in flight on each) made by a separate
load-generator process. For each target it prints requests/s, p50 and p99 latency and the
error count (socket errors, non-200 answers, answers with GraphQL `errors`):

- registry: `uvicorn ops.app:create_app --factory --workers N` (what `registry serve` runs),
  POST /graphql with the `Dossier` document below;
- baseline: `uvicorn ops.bench.baseline_app:create_app --factory --workers N`, a plain
  Starlette endpoint answering the same JSON from one hand-written SQL statement.

and the ratio registry/baseline of requests/s: what the GraphQL layer (strawberry, the
DataLoaders' several round trips, JSON encoding) costs against the least a Python service
on the same stack has to do.

Before timing, a few dossiers (random ones plus ones with unusual holders) are fetched from
both servers and compared; the benchmark stops if they differ. Requests cycle through a
random sample of institutions that have at least one active shareholder.

Data: the database REGISTRY_DATABASE_URL points at, or else the embedded one (as every
`registry` command). Load one first, e.g.

    registry demo --institutions 1000000

Run (by hand; never from the test suite):

    python -m ops.bench.dossier --clients 16 --duration 20 --workers 2
    python -m ops.bench.dossier --only registry --duration 10

The load generator is `wrk` when it is on PATH (`apt-get install wrk`), otherwise a
built-in asyncio one (`--loadgen python` forces it); both report the same metrics. The
servers, PostgreSQL and the load generator share this machine's CPUs, so the figures say
as much about the machine as about the code: compare runs on the same machine only.
Everything binds to 127.0.0.1 on free ports; the servers are stopped at the end, on
errors and on Ctrl-C.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from types import FrameType
from typing import IO, Annotated, Any, NoReturn

import asyncpg
import typer

from ops.bench import loadgen
from ops.database import resolve_url
from ops.settings import get_settings

DOSSIER_QUERY = """\
query Dossier($uscc: String!) { institution(uscc: $uscc) {
  uscc name enterpriseType status registeredCapital { amount currency } established
  registrationAuthority address businessScope
  legalRepresentative { role title person { name idNumberMasked } }
  shareholders { share { exact min max } subscribed { amount currency } paidIn { amount currency } interests
    holder { __typename ... on Institution { uscc name } ... on Person { name idNumberMasked } ... on StateBody { name } ... on UnknownParty { kind } } }
  licences { licenceType number issuer status validFrom validTo } } }
"""  # noqa: E501

HOST = "127.0.0.1"
DEMO_HINT = "run `registry demo --institutions 1000000` first"

SAMPLE_SQL = """
SELECT uscc FROM institution i
WHERE NOT mentioned_only
  AND EXISTS (SELECT 1 FROM holding h WHERE h.institution_id = i.id AND h.active)
ORDER BY random()
LIMIT $1
"""

# Dossiers worth comparing besides random ones: each shape of holder and of child row.
SPECIAL_SQL = {
    "state body holder": """SELECT i.uscc FROM holding h JOIN institution i
        ON i.id = h.institution_id WHERE h.active AND h.holder_kind = 'state_body' LIMIT 1""",
    "unknown or exempt holder": """SELECT i.uscc FROM holding h JOIN institution i
        ON i.id = h.institution_id WHERE h.active
        AND h.holder_kind NOT IN ('institution', 'person', 'state_body') LIMIT 1""",
    "institution holder": """SELECT i.uscc FROM holding h JOIN institution i
        ON i.id = h.institution_id WHERE h.active AND h.holder_kind = 'institution' LIMIT 1""",
    "holder known by mention only": """SELECT i.uscc FROM holding h
        JOIN institution i ON i.id = h.institution_id
        JOIN institution hi ON hi.id = h.holder_institution_id
        WHERE h.active AND hi.mentioned_only LIMIT 1""",
    "person holder, masked at source": """SELECT i.uscc FROM holding h
        JOIN institution i ON i.id = h.institution_id JOIN person p ON p.id = h.holder_person_id
        WHERE h.active AND p.id_masked LIMIT 1""",
    "share band": """SELECT i.uscc FROM holding h JOIN institution i
        ON i.id = h.institution_id WHERE h.active AND h.share_exact IS NULL LIMIT 1""",
    "licence": """SELECT i.uscc FROM licence l JOIN institution i
        ON i.id = l.institution_id WHERE l.active LIMIT 1""",
    "no legal representative": """SELECT uscc FROM institution i WHERE NOT mentioned_only
        AND NOT EXISTS (SELECT 1 FROM "position" p WHERE p.institution_id = i.id AND p.active
                        AND p.role = 'legal_representative') LIMIT 1""",
}


class Target(StrEnum):
    registry = "registry"
    baseline = "baseline"


class Generator(StrEnum):
    auto = "auto"
    wrk = "wrk"
    python = "python"


@dataclass(frozen=True)
class TargetSpec:
    app: str  # uvicorn factory
    path: str

    def body(self, uscc: str) -> str:
        if self.path == "/graphql":
            request = {"query": DOSSIER_QUERY, "operationName": "Dossier"}
            return json.dumps({**request, "variables": {"uscc": uscc}}, separators=(",", ":"))
        return json.dumps({"uscc": uscc}, separators=(",", ":"))


TARGETS = {
    Target.registry: TargetSpec(app="ops.app:create_app", path="/graphql"),
    Target.baseline: TargetSpec(app="ops.bench.baseline_app:create_app", path="/dossier"),
}


@dataclass
class Dataset:
    url: str
    institutions: int
    mentioned_only: int
    holdings: int
    sample: list[str]
    sample_holdings: int
    sample_licences: int
    checks: dict[str, str] = field(default_factory=dict)  # why -> uscc


@dataclass
class Server:
    target: Target
    port: int
    process: subprocess.Popen[bytes]
    log: IO[bytes]

    @property
    def spec(self) -> TargetSpec:
        return TARGETS[self.target]

    def url(self, path: str) -> str:
        return f"http://{HOST}:{self.port}{path}"


# --- the data -------------------------------------------------------------------------


async def _inspect(url: str, sample_size: int, random_checks: int) -> Dataset:
    conn = await asyncpg.connect(url, command_timeout=300)
    try:
        if await conn.fetchval("SELECT to_regclass('institution')") is None:
            _fail(f"the database has no registry tables: {DEMO_HINT}")
        counts = await conn.fetchrow(
            "SELECT count(*) AS institutions, count(*) FILTER (WHERE mentioned_only) AS mentioned"
            " FROM institution"
        )
        if counts["institutions"] == 0:
            _fail(f"the database holds no institutions: {DEMO_HINT}")
        holdings = await conn.fetchval("SELECT count(*) FROM holding WHERE active")
        sample = [r["uscc"] for r in await conn.fetch(SAMPLE_SQL, sample_size)]
        if not sample:
            _fail(f"no institution in the database has an active shareholder: {DEMO_HINT}")
        sample_holdings = await conn.fetchval(
            "SELECT count(*) FROM holding h JOIN institution i ON i.id = h.institution_id"
            " WHERE i.uscc = ANY($1) AND h.active",
            sample,
        )
        sample_licences = await conn.fetchval(
            "SELECT count(*) FROM licence l JOIN institution i ON i.id = l.institution_id"
            " WHERE i.uscc = ANY($1) AND l.active",
            sample,
        )
        checks = {f"random #{n + 1}": uscc for n, uscc in enumerate(sample[:random_checks])}
        for why, sql in SPECIAL_SQL.items():
            uscc = await conn.fetchval(sql)
            if uscc is not None:
                checks[why] = uscc
    finally:
        await conn.close()
    return Dataset(
        url=url,
        institutions=counts["institutions"],
        mentioned_only=counts["mentioned"],
        holdings=holdings,
        sample=sample,
        sample_holdings=sample_holdings,
        sample_licences=sample_licences,
        checks=checks,
    )


# --- the servers ----------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def _start(target: Target, workers: int, database_url: str) -> Server:
    port = _free_port()
    log = tempfile.TemporaryFile(prefix=f"bench-{target}-")  # noqa: SIM115 - _stop closes it
    command = [
        sys.executable, "-m", "uvicorn", TARGETS[target].app, "--factory",
        "--host", HOST, "--port", str(port), "--workers", str(workers),
        "--log-level", "warning", "--no-access-log",
    ]  # fmt: skip
    process = subprocess.Popen(
        command,
        # the GraphQL layer against the baseline: no tokens, as the baseline has none
        env={**os.environ, "REGISTRY_DATABASE_URL": database_url, "REGISTRY_AUTH": "false"},
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        # its own process group: Ctrl-C reaches only this script, which stops it in order
        start_new_session=True,
    )
    return Server(target=target, port=port, process=process, log=log)


def _server_log(server: Server) -> str:
    server.log.seek(0)
    return server.log.read().decode(errors="replace")[-4000:]


def _wait_ready(server: Server, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            _fail(f"the {server.target} server exited at start:\n{_server_log(server)}")
        with (
            contextlib.suppress(OSError),
            urllib.request.urlopen(server.url("/healthz"), timeout=2) as answer,
        ):
            if answer.status == 200:
                return
        time.sleep(0.2)
    _fail(f"the {server.target} server did not answer in {timeout:.0f} s:\n{_server_log(server)}")


def _stop(server: Server) -> None:
    """SIGTERM to uvicorn's supervisor (it stops its workers), SIGKILL to the group if stuck."""
    process = server.process
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)
    # workers left behind by a supervisor that died first share its process group
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    server.log.close()


@contextlib.contextmanager
def _servers(targets: Sequence[Target], workers: int, database_url: str) -> Iterator[list[Server]]:
    started: list[Server] = []
    try:
        for target in targets:
            started.append(_start(target, workers, database_url))
        for server in started:
            _wait_ready(server)
        yield started
    finally:
        for server in started:
            _stop(server)


# --- the sanity check -----------------------------------------------------------------


def _post(server: Server, body: str) -> tuple[int, bytes]:
    request = urllib.request.Request(
        server.url(server.spec.path),
        data=body.encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def _first_difference(a: Any, b: Any, path: str = "data") -> str | None:
    if isinstance(a, dict) and isinstance(b, dict):
        if list(a) != list(b):
            return f"{path}: keys {list(a)} != {list(b)}"
        for key in a:
            found = _first_difference(a[key], b[key], f"{path}.{key}")
            if found:
                return found
        return None
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return f"{path}: {len(a)} items != {len(b)} items"
        for n, (x, y) in enumerate(zip(a, b, strict=True)):
            found = _first_difference(x, y, f"{path}[{n}]")
            if found:
                return found
        return None
    if a != b or type(a) is not type(b):
        return f"{path}: {a!r} != {b!r}"
    return None


def _check(servers: Sequence[Server], checks: dict[str, str]) -> dict[Target, float]:
    """Fetch each dossier from every server; fail unless all answer, and answer alike.

    Returns the mean response size per target, in bytes."""
    sizes: dict[Target, list[int]] = {s.target: [] for s in servers}
    for why, uscc in checks.items():
        answers: list[tuple[Server, Any]] = []
        for server in servers:
            status, raw = _post(server, server.spec.body(uscc))
            sizes[server.target].append(len(raw))
            try:
                parsed = json.loads(raw)
            except ValueError:
                parsed = None
            if (
                status != 200
                or not isinstance(parsed, dict)
                or parsed.get("errors")
                or not isinstance(parsed.get("data"), dict)
                or not parsed["data"].get("institution")
            ):
                _fail(
                    f"sanity check: {server.target} answered {status} for {uscc} ({why}):\n"
                    + raw.decode(errors="replace")[:2000]
                )
            answers.append((server, parsed["data"]))
        for (first, a), (other, b) in itertools.pairwise(answers):
            difference = _first_difference(a, b)
            if difference:
                _fail(
                    f"sanity check: {first.target} and {other.target} differ for {uscc} "
                    f"({why}) at {difference}\n{first.target}: {json.dumps(a, ensure_ascii=False)}"
                    f"\n{other.target}: {json.dumps(b, ensure_ascii=False)}"
                )
    return {target: sum(n) / len(n) for target, n in sizes.items() if n}


# --- running and printing -------------------------------------------------------------


def _fail(message: str) -> NoReturn:
    typer.echo(f"dossier benchmark: {message}", err=True)
    raise typer.Exit(1)


def _display(url: str) -> str:
    return url if "@" not in url else url.split("@", 1)[1]


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _table(results: dict[Target, loadgen.LoadResult]) -> list[str]:
    header = ("target", "req/s", "p50 ms", "p99 ms", "requests", "errors")
    lines = ["{:<10} {:>10} {:>9} {:>9} {:>10} {:>7}".format(*header)]
    for target, r in results.items():
        lines.append(
            f"{target:<10} {r.rps:>10,.1f} {r.p50_ms:>9.2f} {r.p99_ms:>9.2f} "
            f"{r.requests:>10,} {r.errors:>7,}"
        )
    return lines


app = typer.Typer(add_completion=False, help=__doc__.split("\n\n", 1)[0] if __doc__ else None)


@app.command()
def main(
    clients: Annotated[int, typer.Option(min=1, help="Concurrent connections.")] = 16,
    duration: Annotated[float, typer.Option(min=1, help="Measured seconds per target.")] = 20,
    warmup: Annotated[float, typer.Option(min=0, help="Unmeasured seconds first.")] = 5,
    workers: Annotated[int, typer.Option(min=1, help="uvicorn worker processes.")] = 2,
    only: Annotated[Target | None, typer.Option(help="Measure one target only.")] = None,
    sample: Annotated[int, typer.Option(min=1, help="Institutions to cycle through.")] = 5000,
    checks: Annotated[int, typer.Option(min=0, help="Random dossiers compared first.")] = 20,
    generator: Annotated[
        Generator, typer.Option("--loadgen", help="Load generator; auto: wrk if on PATH.")
    ] = Generator.auto,
) -> None:
    """Measure the dossier query: registry GraphQL vs a hand-written baseline."""
    # Ctrl-C and SIGTERM unwind through the `finally` that stops the servers (SIGINT too
    # when a shell started this in the background with SIGINT ignored)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _terminate)
    if generator is Generator.auto:
        generator = Generator.wrk if loadgen.generator_available("wrk") else Generator.python
    elif not loadgen.generator_available(generator):
        _fail("wrk is not on PATH (apt-get install wrk), or use --loadgen python")
    run = Run(clients, duration, warmup, workers, generator)
    try:
        results = _run(run, [only] if only else list(Target), sample, checks)
    except KeyboardInterrupt:
        typer.echo("dossier benchmark: interrupted; the servers are stopped", err=True)
        raise typer.Exit(130) from None

    typer.echo("")
    for line in _table(results):
        typer.echo(line)
    registry, baseline = results.get(Target.registry), results.get(Target.baseline)
    if registry and baseline and baseline.rps > 0:
        typer.echo(f"\nregistry/baseline req/s: {registry.rps / baseline.rps:.3f}")
    if any(r.errors for r in results.values()):
        typer.echo("WARNING: some requests failed; the figures above are not comparable", err=True)
        raise typer.Exit(1)


@dataclass(frozen=True)
class Run:
    clients: int
    duration: float
    warmup: float
    workers: int
    generator: Generator


def _run(
    run: Run, targets: Sequence[Target], sample: int, checks: int
) -> dict[Target, loadgen.LoadResult]:
    url = resolve_url(get_settings())
    data = asyncio.run(_inspect(url, sample, checks))
    per = max(1, len(data.sample))
    typer.echo(
        f"dossier benchmark: {run.clients} clients, {run.workers} workers per server, "
        f"{run.warmup:g} s warm-up + {run.duration:g} s measured per target, "
        f"load generator {run.generator}, {os.cpu_count()} CPUs shared by servers, "
        "PostgreSQL and load generator"
    )
    typer.echo(
        f"database {_display(url)}: {data.institutions:,} institutions "
        f"({data.mentioned_only:,} known by mention only), {data.holdings:,} active holdings"
    )
    typer.echo(
        f"sample: {len(data.sample):,} institutions with shareholders, "
        f"{data.sample_holdings / per:.2f} shareholders and {data.sample_licences / per:.2f} "
        "licences each on average"
    )
    results: dict[Target, loadgen.LoadResult] = {}
    with _servers(targets, run.workers, url) as servers:
        sizes = _check(servers, data.checks)
        alike = "identical in both" if len(servers) > 1 else f"answered by {targets[0]}"
        size_text = ", ".join(f"{t} {b:,.0f} B" for t, b in sizes.items())
        typer.echo(
            f"sanity check: {len(data.checks)} dossiers {alike} (mean response: {size_text})"
        )
        for server in servers:
            typer.echo(f"measuring {server.target} ...", err=True)
            spec = loadgen.LoadSpec(
                host=HOST,
                port=server.port,
                path=server.spec.path,
                bodies=[server.spec.body(u) for u in data.sample],
                clients=run.clients,
                warmup=run.warmup,
                duration=run.duration,
            )
            results[server.target] = loadgen.run(spec, run.generator)
    return results


if __name__ == "__main__":
    app()
