"""Destinations by name; credentials come from dlt config (``secrets.toml`` or environment)."""

from __future__ import annotations

import importlib.util
import os
from typing import Any, Final

import dlt
from dlt.common.destination import Destination

from sources.common.errors import ConfigurationError

from .duckdb_readers import wait_in_dlt_pool

SUPPORTED: Final = ("duckdb", "postgres", "bigquery")
# A DuckDB file named like the dataset ("chat_history") makes catalog and schema names ambiguous.
DEFAULT_DUCKDB_FILE: Final = "chatsync.duckdb"


def make_destination(name: str, duckdb_path: str | None = None, staging_layout: str | None = None) -> Destination:  # type: ignore[type-arg]
    """A dlt destination, configured from dlt config.

    Args:
        name: ``duckdb``, ``postgres`` or ``bigquery``.
        duckdb_path: Explicit DuckDB file, overriding config.
        staging_layout: dlt's ``staging_dataset_name_layout`` (``%s`` is the dataset), where merges
            stage their rows; loads that run in parallel into one dataset each need their own.

    Returns:
        The destination.

    Raises:
        ConfigurationError: For an unknown destination.
    """
    if name not in SUPPORTED:
        raise ConfigurationError(f"unknown destination {name!r}; choose one of {', '.join(SUPPORTED)}")
    options: dict[str, Any] = {"staging_dataset_name_layout": staging_layout} if staging_layout else {}
    if name == "duckdb":
        configured = dlt.secrets.get("destination.duckdb.credentials", str)
        wait_in_dlt_pool()  # a writer waits, bounded, for readers to let go of the file
        return dlt.destinations.duckdb(duckdb_path or configured or DEFAULT_DUCKDB_FILE, **options)
    destination = Destination.from_reference(name, **options)
    assert destination is not None  # a known name always resolves
    return destination


def require_extra(name: str) -> None:
    """Fails with the ``pip install`` to run when a destination's optional packages are missing.

    Raises:
        ConfigurationError: The extra is not installed.
    """
    if name == "bigquery" and not _installed("google.cloud.bigquery"):
        raise ConfigurationError('BigQuery needs its extra: pip install "dlt[bigquery]" (in the venv: .venv/bin/pip)')


# What tells a warehouse's credentials are configured: the whole value, or any of its fields
# (dlt reads ``DESTINATION__POSTGRES__CREDENTIALS__HOST`` and friends one key at a time).
CREDENTIAL_FIELDS: Final = {
    "postgres": ("host", "database", "username", "password"),
    "bigquery": ("project_id", "private_key", "client_email", "refresh_token"),
}


def require_credentials(name: str) -> None:
    """Fails at once, naming the setting, when a warehouse other than DuckDB has no credentials.

    Without this, dlt fails deep in the run naming a section chatsync does not use.

    Raises:
        ConfigurationError: ``[destination.<name>] credentials`` is not set anywhere.
    """
    if name not in CREDENTIAL_FIELDS:
        return
    key = f"destination.{name}.credentials"
    if dlt.secrets.get(key) or any(dlt.secrets.get(f"{key}.{field}") for field in CREDENTIAL_FIELDS[name]):
        return
    if name == "bigquery" and os.environ.get("GOOGLE_APPLICATION_CREDENTIALS"):
        return  # Google's default credentials
    raise ConfigurationError(
        f"{name}: [destination.{name}] credentials are not set; put them in .dlt/secrets.toml or set "
        f"DESTINATION__{name.upper()}__CREDENTIALS (docs/configuration.md#destinations); nothing was written"
    )


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:  # a parent package is missing
        return False


def loader_file_format(name: str) -> str | None:
    """The fastest file format each destination loads: parquet into DuckDB (~50x insert_values)."""
    return "parquet" if name == "duckdb" else None
