"""The servers a benchmark measures: uvicorn processes on the loopback, started and stopped.

Each server is `uvicorn APP --factory --workers N` in a process group of its own, on a
free port of 127.0.0.1, with its output kept in a temporary file (shown when it fails to
start). `running` starts several, waits until each answers GET /healthz, and stops them
all on the way out, whatever the way out (an error, Ctrl-C, SIGTERM turned into
KeyboardInterrupt by the caller).

The registry app reads its settings from the environment; `registry_env` is the one place
that says which: the database, whether tokens are required, whether the access log is
written, and, with tokens, the issuer (the server's own URL, which is why a port is chosen
before the server starts) and the token lifetime.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import IO

HOST = "127.0.0.1"


class ServerFailed(RuntimeError):
    """A server exited at start or did not answer; the message ends with its output."""


@dataclass(frozen=True)
class Launch:
    """What to start: `name` is for messages, `app` a uvicorn factory, `env` added to ours."""

    name: str
    app: str
    port: int
    env: Mapping[str, str]

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"


@dataclass
class Server:
    launch: Launch
    process: subprocess.Popen[bytes]
    log: IO[bytes]

    @property
    def name(self) -> str:
        return self.launch.name

    @property
    def port(self) -> int:
        return self.launch.port

    def url(self, path: str) -> str:
        return self.launch.base_url + path


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def registry_env(
    database_url: str,
    *,
    auth: bool,
    access_log: bool,
    issuer: str | None = None,
    audience: str | None = None,
    token_ttl_seconds: int | None = None,
) -> dict[str, str]:
    """The registry app's settings for a benchmark; unset ones keep the caller's values."""
    env = {
        "REGISTRY_DATABASE_URL": database_url,
        "REGISTRY_AUTH": "true" if auth else "false",
        "REGISTRY_ACCESS_LOG": "true" if access_log else "false",
    }
    if issuer is not None:
        env["REGISTRY_ISSUER"] = issuer
    if audience is not None:
        env["REGISTRY_AUDIENCE"] = audience
    if token_ttl_seconds is not None:
        env["REGISTRY_TOKEN_TTL_SECONDS"] = str(token_ttl_seconds)
    return env


def start(launch: Launch, workers: int) -> Server:
    log = tempfile.TemporaryFile(prefix=f"bench-{launch.name}-")  # noqa: SIM115 - stop closes it
    command = [
        sys.executable, "-m", "uvicorn", launch.app, "--factory",
        "--host", HOST, "--port", str(launch.port), "--workers", str(workers),
        "--log-level", "warning", "--no-access-log",
    ]  # fmt: skip
    process = subprocess.Popen(
        command,
        env={**os.environ, **launch.env},
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        # its own process group: Ctrl-C reaches only the benchmark, which stops it in order
        start_new_session=True,
    )
    return Server(launch=launch, process=process, log=log)


def log_tail(server: Server) -> str:
    server.log.seek(0)
    return server.log.read().decode(errors="replace")[-4000:]


def wait_ready(server: Server, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise ServerFailed(f"the {server.name} server exited at start:\n{log_tail(server)}")
        with (
            contextlib.suppress(OSError),
            urllib.request.urlopen(server.url("/healthz"), timeout=2) as answer,
        ):
            if answer.status == 200:
                return
        time.sleep(0.2)
    raise ServerFailed(
        f"the {server.name} server did not answer in {timeout:.0f} s:\n{log_tail(server)}"
    )


def stop(server: Server) -> None:
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
def running(launches: Sequence[Launch], workers: int) -> Iterator[list[Server]]:
    """Start every launch, wait until all answer, and stop them all on the way out."""
    started: list[Server] = []
    try:
        for launch in launches:
            started.append(start(launch, workers))
        for server in started:
            wait_ready(server)
        yield started
    finally:
        for server in started:
            stop(server)
