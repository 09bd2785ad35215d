"""`registry config check` says what is wrong before a start."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from ops.cli import app


def test_ready(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REGISTRY_DATABASE_URL", database_url)
    result = CliRunner().invoke(app, ["config", "check"])
    assert result.exit_code == 0, result.output
    assert "ready" in result.output


def test_bad_settings_are_named(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REGISTRY_DATABASE_URL", database_url)
    monkeypatch.setenv("REGISTRY_PORT", "eighty")
    monkeypatch.setenv("REGISTRY_TOKEN_TTL_SECONDS", "5")
    result = CliRunner().invoke(app, ["config", "check"])
    assert result.exit_code == 1
    assert "REGISTRY_PORT" in result.output
    assert "REGISTRY_TOKEN_TTL_SECONDS" in result.output


def test_auth_off_beyond_loopback(database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REGISTRY_DATABASE_URL", database_url)
    monkeypatch.setenv("REGISTRY_AUTH", "false")
    monkeypatch.setenv("REGISTRY_HOST", "0.0.0.0")
    result = CliRunner().invoke(app, ["config", "check"])
    assert result.exit_code == 1
    assert "REGISTRY_AUTH is off" in result.output
