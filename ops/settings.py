"""Every setting the service reads, in one typed place (environment variables `REGISTRY_*`)."""

from __future__ import annotations

import ipaddress
from functools import cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="REGISTRY_", env_file=".env", extra="ignore")

    database_url: str | None = Field(
        default=None,
        description="PostgreSQL URL (postgresql://user@host:port/db). Unset: an embedded "
        "PostgreSQL is started in data_dir.",
    )
    data_dir: Path = Field(
        default=Path(".data/postgres"), description="Where the embedded PostgreSQL keeps its files."
    )
    host: str = Field(default="127.0.0.1", description="Address the service binds to.")
    port: int = Field(default=8000, description="Port the service listens on.")
    workers: int = Field(default=2, ge=1, description="Service worker processes.")
    pool_size: int = Field(default=10, ge=1, description="Database connections per worker.")
    page_size_max: int = Field(default=100, ge=1, description="Largest page a list returns.")
    graphiql: bool = Field(default=True, description="Serve the GraphiQL IDE at /graphql.")
    auth: bool = Field(
        default=True,
        description="Require OAuth bearer tokens. Off is for development and benchmarks, "
        "and only on the loopback interface.",
    )
    issuer: str = Field(
        default="http://127.0.0.1:8000",
        description="The public base URL of the service: the tokens' issuer (iss).",
    )
    audience: str = Field(default="registry", description="The tokens' audience (aud).")
    access_log: bool = Field(
        default=True,
        description="Write the access log. Off only to measure what it costs; with it off no "
        "request is recorded.",
    )
    revocation_check_seconds: float = Field(
        default=5.0, ge=0, description="How soon a revoked client's tokens are refused."
    )
    token_ttl_seconds: int = Field(
        default=300, ge=30, le=3600, description="Access-token lifetime in seconds."
    )


@cache
def get_settings() -> Settings:
    return Settings()


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
