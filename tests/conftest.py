"""Fixtures: a real simulator on a free loopback port and an isolated dlt environment."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from simulator import Corpus, Simulator


@pytest.fixture(autouse=True)
def isolated_dlt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keeps tests away from ~/.dlt and the repo's secrets; retries fast but real."""
    monkeypatch.setenv("DLT_DATA_DIR", str(tmp_path / "dlt-data"))
    monkeypatch.setenv("RUNTIME__REQUEST_BACKOFF_FACTOR", "0.01")
    monkeypatch.setenv("RUNTIME__REQUEST_MAX_RETRY_DELAY", "2")
    monkeypatch.setenv("RUNTIME__REQUEST_MAX_ATTEMPTS", "8")
    monkeypatch.setenv("RUNTIME__REQUEST_TIMEOUT", "5")
    monkeypatch.setenv("CHATSYNC__PII_KEY", "test-key-that-hashes-personal-data")
    # as .dlt/config.toml sets them (the tests run elsewhere): DuckDB loads take Arrow tables
    monkeypatch.setenv("NORMALIZE__PARQUET_NORMALIZER__ADD_DLT_LOAD_ID", "true")
    monkeypatch.setenv("NORMALIZE__PARQUET_NORMALIZER__ADD_DLT_ID", "false")  # the funnel adds it
    (tmp_path / ".dlt").mkdir(exist_ok=True)  # a chatsync project: commands refuse to run outside one
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def sim() -> Iterator[Simulator]:
    """A simulator with a small corpus (~600 messages across providers)."""
    with Simulator(Corpus(seed=11, size=600)) as server:
        yield server


@pytest.fixture
def configured(sim: Simulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every provider pointed at ``sim`` through the environment; returns the DuckDB warehouse path."""
    from pipelines.cli.simulated import simulator_environment

    for key, value in simulator_environment(sim).items():
        monkeypatch.setenv(key, value)
    warehouse = tmp_path / "warehouse.duckdb"
    monkeypatch.setenv("DESTINATION__DUCKDB__CREDENTIALS", str(warehouse))
    return warehouse


@pytest.fixture(scope="session")
def postgres_uri(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real PostgreSQL server for the session (pgserver), as a dlt credentials URI."""
    import pgserver

    server = pgserver.get_server(str(tmp_path_factory.mktemp("postgres")), cleanup_mode="stop")
    # dlt needs a host: postgresql://postgres:@/postgres?host=DIR → ...@localhost/postgres?host=DIR
    yield server.get_uri().replace(":@/", ":@localhost/", 1)
    server.cleanup()
