"""Serving the explorer: the warehouse of a target, uvicorn on loopback, Ctrl-C to stop (exit 130)."""

from __future__ import annotations

import errno
import socket
from typing import Any, Final

import dlt

from sources.common.errors import ConfigurationError

from ..engine.exit_codes import ExitCode
from ..engine.target import Target, require_loaded_duckdb
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
        require_loaded_duckdb(resolved)
        return Warehouse("duckdb", resolved.dataset, duckdb_path=str(resolved.duckdb_path))
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


def listening_socket(host: str, port: int, command: str) -> socket.socket:
    """A socket bound to ``host:port`` (``0``: a free port), before anything is printed.

    Raises:
        ConfigurationError: The port is in use (another explorer or simulator?) or the host is not this machine's.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # a port left in TIME_WAIT is free
    try:
        listener.bind((host, port))
    except OSError as exc:
        listener.close()
        if exc.errno == errno.EADDRINUSE:
            raise ConfigurationError(
                f"port {port} on {host} is in use (another chatsync {command}?): "
                "choose another with --port, or --port 0 for a free one"
            ) from None
        raise ConfigurationError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    listener.listen(128)
    return listener


def serve(warehouse: Warehouse, host: str, port: int, token: str | None, say: Any) -> int:
    """Serves until Ctrl-C; returns 130 then (0 if the server stops by itself).

    Raises:
        ConfigurationError: The port is in use.
    """
    import uvicorn

    listener = listening_socket(host, port, "explore")
    bound = int(listener.getsockname()[1])
    server = uvicorn.Server(uvicorn.Config(create_app(warehouse, token), log_level="warning"))
    url = f"http://{'[' + host + ']' if ':' in host else host}:{bound}/"
    say(f"chatsync explore on {url}{'?token=…' if token else ''} (Ctrl-C stops it)")
    server.run(sockets=[listener])
    return ExitCode.SIGINT if server.should_exit else ExitCode.OK
