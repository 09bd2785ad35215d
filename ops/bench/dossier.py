"""Benchmark: the dossier query over HTTP, the registry's GraphQL against a hand-written baseline.

What it measures. The "dossier query" — one institution by USCC with its identity, legal
representative, direct shareholders (with each holder) and licences — as agencies send it,
served over HTTP by uvicorn with `--workers` processes, under closed-loop load from
`--clients` keep-alive connections (one request in flight on each) made by a separate
load-generator process. For each target it prints requests/s, p50 and p99 latency and the
error count (socket errors, non-200 answers, answers with GraphQL `errors`):

- registry: `uvicorn ops.app:create_app --factory --workers N` (what `registry serve` runs),
  POST /graphql with the `Dossier` document below, with tokens and the access log off
  (REGISTRY_AUTH=false, REGISTRY_ACCESS_LOG=false);
- secured: the same app as an agency meets it, REGISTRY_AUTH=true and
  REGISTRY_ACCESS_LOG=true: every request carries `Authorization: Bearer <token>` of a
  client of agency `registration` (whose scopes cover the whole document), and every
  answer waits for its access-log entry;
- baseline: `uvicorn ops.bench.baseline_app:create_app --factory --workers N`, a plain
  Starlette endpoint answering the same JSON from one hand-written SQL statement.

and two ratios of requests/s: registry/baseline, what the GraphQL layer (strawberry, the
DataLoaders' several round trips, JSON encoding) costs against the least a Python service
on the same stack has to do; secured/registry, what tokens and the access log cost (the
budget is under 10 %).

The secured target's client ("dossier benchmark (ops.bench.dossier)") is registered in the
database the first time and reused after; one token is minted for the run straight from
the database's signing key, as `registry clients token` does, with the issuer the server
is started with (REGISTRY_ISSUER, its own loopback URL) and a lifetime of an hour
(REGISTRY_TOKEN_TTL_SECONDS=3600). Its access-log rows are counted before the warm-up and
after the measured run and compared with the answers the load generator received in both
(`ops.bench.secured`); meanwhile `pg_stat_activity` is sampled to see how long appends
wait for the access log's chain lock.

Before timing, a few dossiers (random ones plus ones with unusual holders) are fetched from
every server and compared; the benchmark stops if they differ. Requests cycle through a
random sample of institutions that have at least one active shareholder.

Data: the database REGISTRY_DATABASE_URL points at, or else the embedded one (as every
`registry` command). Load one first, e.g.

    registry demo --institutions 1000000

Run (by hand; never from the test suite):

    python -m ops.bench.dossier --clients 16 --duration 20 --workers 2
    python -m ops.bench.dossier --only registry --duration 10
    python -m ops.bench.dossier --only secured --duration 10

The access tables (migration 0002) must exist for the secured target: `registry db upgrade`.
Every secured run appends its requests to the access log, which is append-only.

The load generator is `wrk` when it is on PATH (`apt-get install wrk`), otherwise a
built-in asyncio one (`--loadgen python` forces it); both report the same metrics. The
servers, PostgreSQL and the load generator share this machine's CPUs, so the figures say
as much about the machine as about the code: compare runs on the same machine only.
Everything binds to 127.0.0.1 on free ports; the servers are stopped at the end, on
errors and on Ctrl-C.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import json
import os
import signal
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from enum import StrEnum
from types import FrameType
from typing import Annotated, Any, NoReturn

import asyncpg
import typer

from ops.bench import loadgen, secured, servers
from ops.bench.loadgen import Generator
from ops.bench.servers import HOST
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

DEMO_HINT = "run `registry demo --institutions 1000000` first"
CLIENT_AGENCY = "registration"
CLIENT_NAME = "dossier benchmark (ops.bench.dossier)"
TOKEN_TTL_SECONDS = 3600  # the longest the settings allow; the run must fit in it

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
    secured = "secured"
    baseline = "baseline"


@dataclass(frozen=True)
class TargetSpec:
    app: str  # uvicorn factory
    path: str
    secured: bool = False  # tokens required and the access log written

    def body(self, uscc: str) -> str:
        if self.path == "/graphql":
            request = {"query": DOSSIER_QUERY, "operationName": "Dossier"}
            return json.dumps({**request, "variables": {"uscc": uscc}}, separators=(",", ":"))
        return json.dumps({"uscc": uscc}, separators=(",", ":"))


TARGETS = {
    Target.registry: TargetSpec(app="ops.app:create_app", path="/graphql"),
    Target.secured: TargetSpec(app="ops.app:create_app", path="/graphql", secured=True),
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
    server: servers.Server
    headers: dict[str, str]  # sent with every request: the bearer token, for secured

    @property
    def spec(self) -> TargetSpec:
        return TARGETS[self.target]

    @property
    def port(self) -> int:
        return self.server.port

    def url(self, path: str) -> str:
        return self.server.url(path)


@dataclass
class SecuredRun:
    """What the secured target's load left in the access log."""

    entries: int
    locks: secured.LockStats


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


def _launch(target: Target, database_url: str) -> servers.Launch:
    port = servers.free_port()
    spec = TARGETS[target]
    if spec.secured:
        env = servers.registry_env(
            database_url,
            auth=True,
            access_log=True,
            issuer=f"http://{HOST}:{port}",
            audience=get_settings().audience,
            token_ttl_seconds=TOKEN_TTL_SECONDS,
        )
    else:
        # the GraphQL layer against the baseline: no tokens and no access log, as the
        # baseline has neither (REGISTRY_AUTH=false is allowed only on the loopback)
        env = servers.registry_env(database_url, auth=False, access_log=False)
    return servers.Launch(name=str(target), app=spec.app, port=port, env=env)


async def _bearer_token(database_url: str, issuer: str, audience: str) -> str:
    conn = await asyncpg.connect(database_url)
    try:
        missing = await secured.missing_tables(conn)
        if missing:
            _fail(
                f"the database lacks {', '.join(missing)} (the secured target needs them): "
                "run `registry db upgrade`"
            )
        client, _ = await secured.bench_client(
            conn, agency=CLIENT_AGENCY, name=CLIENT_NAME, with_secret=False
        )
        ttl = dt.timedelta(seconds=TOKEN_TTL_SECONDS)
        return await secured.mint(conn, client, issuer=issuer, audience=audience, ttl=ttl)
    finally:
        await conn.close()


@contextmanager
def _servers(targets: Sequence[Target], workers: int, database_url: str) -> Iterator[list[Server]]:
    launches = [_launch(target, database_url) for target in targets]
    headers: dict[Target, dict[str, str]] = {}
    for target, launch in zip(targets, launches, strict=True):
        if TARGETS[target].secured:
            issuer, audience = launch.env["REGISTRY_ISSUER"], launch.env["REGISTRY_AUDIENCE"]
            token = asyncio.run(_bearer_token(database_url, issuer, audience))
            headers[target] = {"Authorization": f"Bearer {token}"}
    try:
        with servers.running(launches, workers) as started:
            yield [
                Server(target=t, server=s, headers=headers.get(t, {}))
                for t, s in zip(targets, started, strict=True)
            ]
    except servers.ServerFailed as exc:
        _fail(str(exc))


# --- the sanity check -----------------------------------------------------------------


def _post(server: Server, body: str) -> tuple[int, bytes]:
    request = urllib.request.Request(
        server.url(server.spec.path),
        data=body.encode(),
        headers={"Content-Type": "application/json", **server.headers},
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


def _check(started: Sequence[Server], checks: dict[str, str]) -> dict[Target, float]:
    """Fetch each dossier from every server; fail unless all answer, and answer alike.

    Returns the mean response size per target, in bytes."""
    sizes: dict[Target, list[int]] = {s.target: [] for s in started}
    for why, uscc in checks.items():
        answers: list[tuple[Server, Any]] = []
        for server in started:
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
    try:
        generator = loadgen.choose(generator)
    except RuntimeError as exc:
        _fail(str(exc))
    run = Run(clients, duration, warmup, workers, generator)
    try:
        results, secured_run = _run(run, [only] if only else list(Target), sample, checks)
    except KeyboardInterrupt:
        typer.echo("dossier benchmark: interrupted; the servers are stopped", err=True)
        raise typer.Exit(130) from None

    typer.echo("")
    for line in _table(results):
        typer.echo(line)
    registry, baseline = results.get(Target.registry), results.get(Target.baseline)
    if registry and baseline and baseline.rps > 0:
        typer.echo(f"\nregistry/baseline req/s: {registry.rps / baseline.rps:.3f}")
    guarded = results.get(Target.secured)
    if registry and guarded and registry.rps > 0:
        ratio = guarded.rps / registry.rps
        typer.echo(f"secured/registry req/s: {ratio:.3f} (cost {(1 - ratio) * 100:.1f} %)")
        verdict = "within" if ratio > 0.9 else "OVER"
        typer.echo(f"  tokens and access log: {verdict} the budget of under 10 %")
    agree = True
    if guarded and secured_run:
        typer.echo("")
        lines, agree = secured.entries_report(
            entries=secured_run.entries,
            warmup_answers=guarded.warmup_requests,
            answers=guarded.requests,
            unanswered_bound=secured.unanswered_bound(clients, guarded.runs, guarded.errors),
        )
        for line in [*lines, *secured_run.locks.lines(secured_run.entries)]:
            typer.echo(line)
    if any(r.errors for r in results.values()):
        typer.echo("WARNING: some requests failed; the figures above are not comparable", err=True)
        raise typer.Exit(1)
    if not agree:
        typer.echo("WARNING: the access log does not match the answers", err=True)
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
) -> tuple[dict[Target, loadgen.LoadResult], SecuredRun | None]:
    url = resolve_url(get_settings())
    data = asyncio.run(_inspect(url, sample, checks))
    per = max(1, len(data.sample))
    if Target.secured in targets:
        # the token is minted before the servers start and must outlive every target's run
        needed = len(targets) * (run.warmup + run.duration + 60) + 120
        if needed > TOKEN_TTL_SECONDS:
            _fail(
                f"the run would take up to {needed:.0f} s, longer than the secured target's "
                f"token lives ({TOKEN_TTL_SECONDS} s): shorten --duration or use --only"
            )
    typer.echo(
        f"dossier benchmark: {run.clients} clients, {run.workers} workers per server, "
        f"{run.warmup:g} s warm-up + {run.duration:g} s measured per target, "
        f"load generator {run.generator}, {os.cpu_count()} CPUs shared by servers, "
        f"PostgreSQL and load generator (load average {os.getloadavg()[0]:.2f} before)"
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
    secured_run: SecuredRun | None = None
    with _servers(targets, run.workers, url) as started:
        sizes = _check(started, data.checks)
        alike = "identical in all" if len(started) > 1 else f"answered by {targets[0]}"
        size_text = ", ".join(f"{t} {b:,.0f} B" for t, b in sizes.items())
        typer.echo(
            f"sanity check: {len(data.checks)} dossiers {alike} (mean response: {size_text})"
        )
        for server in started:
            typer.echo(f"measuring {server.target} ...", err=True)
            spec = loadgen.LoadSpec(
                host=HOST,
                port=server.port,
                path=server.spec.path,
                bodies=[server.spec.body(u) for u in data.sample],
                clients=run.clients,
                warmup=run.warmup,
                duration=run.duration,
                headers=server.headers,
            )
            if not server.spec.secured:
                results[server.target] = loadgen.run(spec, run.generator)
                continue
            # entries written by the sanity check above are not counted: counting starts here
            before = asyncio.run(secured.count_entries(url))
            with secured.LockSampler(url) as sampler:
                results[server.target] = loadgen.run(spec, run.generator)
            entries = secured.settled_count(url) - before
            secured_run = SecuredRun(entries=entries, locks=sampler.stats)
    return results, secured_run


if __name__ == "__main__":
    app()
