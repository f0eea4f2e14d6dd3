"""Serving the explorer: the warehouse of a target, uvicorn on loopback, Ctrl-C to stop (exit 130)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

import dlt

from sources.common.errors import ConfigurationError

from ..engine.exit_codes import ExitCode
from ..engine.target import Target
from .app import create_app
from .warehouse import Warehouse

LOOPBACK: Final = frozenset({"127.0.0.1", "localhost", "::1"})


def warehouse_of(target: Target) -> Warehouse:
    """The explorer's view of a target: its DuckDB file or its Postgres database, and its dataset.

    Raises:
        ConfigurationError: Nothing loaded yet, an unsupported destination, or no Postgres credentials.
    """
    resolved = target.resolved()
    if resolved.destination == "duckdb":
        path = Path(str(resolved.duckdb_path))
        if not path.is_file():
            raise ConfigurationError(f"no warehouse at {path}: run `chatsync run` first (or name it)")
        return Warehouse("duckdb", resolved.dataset, duckdb_path=str(path))
    if resolved.destination == "postgres":
        return Warehouse("postgres", resolved.dataset, postgres_dsn=_postgres_dsn())
    raise ConfigurationError(f"chatsync explore reads DuckDB and Postgres, not {resolved.destination}")


def _postgres_dsn() -> str:
    credentials: Any = dlt.secrets.get("destination.postgres.credentials")
    if isinstance(credentials, str) and credentials:
        return credentials
    if isinstance(credentials, dict) and credentials:
        from dlt.common.configuration.specs import ConnectionStringCredentials

        return str(ConnectionStringCredentials(credentials).to_native_representation())
    raise ConfigurationError("[destination.postgres] credentials are not set (or DESTINATION__POSTGRES__CREDENTIALS)")


def check_exposure(host: str, token: str | None) -> str | None:
    """A warning for a host other than loopback; refuses one without a token.

    Raises:
        ConfigurationError: A non-loopback host without ``--token``.
    """
    if host in LOOPBACK:
        return None
    if not token:
        raise ConfigurationError(f"--host {host} exposes the conversations beyond this machine: it requires --token")
    return f"listening on {host}: anyone who can reach it and has the token can read every conversation"


def serve(warehouse: Warehouse, host: str, port: int, token: str | None, say: Any) -> int:
    """Serves until Ctrl-C; returns 130 then (0 if the server stops by itself)."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(create_app(warehouse, token), host=host, port=port, log_level="warning"))
    url = f"http://{'[' + host + ']' if ':' in host else host}:{port}/"
    say(f"chatsync explore on {url}{'?token=…' if token else ''} (Ctrl-C stops it)")
    server.run()
    return ExitCode.SIGINT if server.should_exit else ExitCode.OK
