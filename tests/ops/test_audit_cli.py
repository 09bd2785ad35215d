"""`registry audit export | verify | checkpoint | rotate-key` against the test database; verify
runs without one."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import orjson
import pytest
import typer
from typer.testing import CliRunner, Result

from ops.audit_cli import audit_app
from ops.settings import get_settings
from registry.audit import append, public_keys
from tests.registry.test_audit_helpers import make_entry

app = typer.Typer()
app.add_typer(audit_app, name="audit")


@pytest.fixture
def settings_env(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("REGISTRY_DATABASE_URL", database_url)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


async def invoke(*args: str) -> Result:
    def run() -> Result:
        return CliRunner().invoke(app, ["audit", *args])

    # the command runs its own event loop (asyncio.run): give it a thread of its own
    return await asyncio.to_thread(run)


async def _append(pool: asyncpg.Pool, count: int) -> None:
    async with pool.acquire() as conn:
        for n in range(count):
            await append(conn, make_entry(n))


async def test_checkpoint_signs_the_head_once(db: asyncpg.Pool, settings_env: None) -> None:
    empty = await invoke("checkpoint")
    assert empty.exit_code == 0, empty.output
    assert "nothing to sign" in empty.output
    await _append(db, 3)
    signed = await invoke("checkpoint")
    assert signed.exit_code == 0, signed.output
    assert signed.output.startswith("checkpoint 1: entry 3, head ")
    assert "nothing to sign" in (await invoke("checkpoint")).output


async def test_export_then_verify(db: asyncpg.Pool, settings_env: None, tmp_path: Path) -> None:
    await _append(db, 4)
    assert (await invoke("checkpoint")).exit_code == 0
    await _append(db, 2)
    file = tmp_path / "log.jsonl"
    exported = await invoke("export", str(file))
    assert exported.exit_code == 0, exported.output
    assert "exported 6 entries" in exported.output
    assert len(file.read_text(encoding="utf-8").splitlines()) == 1 + 6 + 1

    result = await invoke("verify", str(file))
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("ok: 6 entries (ids 1–6), 1/1 checkpoints verified")
    assert "the last 2 entries follow the last checkpoint" in result.stdout
    assert "prove nothing" in result.stderr  # keys taken from the file itself

    async with db.acquire() as conn:
        jwks = {"keys": await public_keys(conn)}
    key_file = tmp_path / "audit-keys.json"
    key_file.write_bytes(orjson.dumps(jwks))
    published = await invoke("verify", str(file), "--public-key", str(key_file))
    assert published.exit_code == 0, published.output
    assert "prove nothing" not in published.output

    partial = tmp_path / "since-4.jsonl"
    assert (await invoke("export", str(partial), "--since-id", "4")).exit_code == 0
    later = await invoke("verify", str(partial), "--public-key", str(key_file))
    assert later.exit_code == 0, later.output
    assert "partial export after entry 4" in later.stdout


async def test_verify_reports_tampering_with_exit_code_1(
    db: asyncpg.Pool, settings_env: None, tmp_path: Path
) -> None:
    await _append(db, 5)
    assert (await invoke("checkpoint")).exit_code == 0
    file = tmp_path / "log.jsonl"
    assert (await invoke("export", str(file))).exit_code == 0
    records = [orjson.loads(line) for line in file.read_text(encoding="utf-8").splitlines()]
    del records[3]  # entry 3
    file.write_text("".join(orjson.dumps(r).decode() + "\n" for r in records), encoding="utf-8")
    result = await invoke("verify", str(file))
    assert result.exit_code == 1
    assert result.stdout.startswith("BROKEN at entry 4: deleted")
    assert "entries between 2 and 4 were removed" in result.stdout


async def test_verify_needs_no_database(
    db: asyncpg.Pool, settings_env: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _append(db, 2)
    file = tmp_path / "log.jsonl"
    assert (await invoke("export", str(file))).exit_code == 0
    monkeypatch.setenv("REGISTRY_DATABASE_URL", "postgresql://nobody@127.0.0.1:1/none")
    get_settings.cache_clear()
    result = await invoke("verify", str(file))
    assert result.exit_code == 0, result.output


async def test_export_to_stdout(db: asyncpg.Pool, settings_env: None) -> None:
    await _append(db, 2)
    result = await invoke("export", "-")
    assert result.exit_code == 0, result.output
    kinds = [orjson.loads(line)["type"] for line in result.stdout.splitlines()]
    assert kinds == ["header", "entry", "entry"]


async def test_rotate_key_prints_the_new_public_key(db: asyncpg.Pool, settings_env: None) -> None:
    result = await invoke("rotate-key")
    assert result.exit_code == 0, result.output
    jwk = orjson.loads(result.stdout.splitlines()[1])
    assert jwk["kty"] == "OKP" and "d" not in jwk
    async with db.acquire() as conn:
        current = await conn.fetchval(
            "SELECT kid FROM signing_key WHERE purpose = 'audit' AND retired_at IS NULL"
        )
    assert jwk["kid"] == current


async def test_verify_with_kept_checkpoints_proves_the_tail(
    db: asyncpg.Pool, settings_env: None, tmp_path: Path
) -> None:
    await _append(db, 4)
    assert (await invoke("checkpoint")).exit_code == 0
    file = tmp_path / "log.jsonl"
    assert (await invoke("export", str(file))).exit_code == 0
    text = file.read_text(encoding="utf-8").splitlines()
    kept = tmp_path / "checkpoints.jsonl"
    kept.write_text("\n".join(t for t in text if '"checkpoint"' in t), encoding="utf-8")
    # the last entry and its checkpoint gone: the file alone cannot tell
    file.write_text("\n".join(text[:-2]), encoding="utf-8")
    assert (await invoke("verify", str(file))).exit_code == 0
    proven = await invoke("verify", str(file), "--checkpoints", str(kept))
    assert proven.exit_code == 1
    assert proven.stdout.startswith("BROKEN at entry 4: truncated")
