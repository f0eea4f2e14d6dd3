"""dlt's load jobs share one open DuckDB database: the file is checkpointed once per load, not once per job."""

from __future__ import annotations

from pathlib import Path

import dlt
import pytest

from pipelines.engine.duckdb_open import kept_open


@pytest.fixture
def pipeline(tmp_path: Path) -> dlt.Pipeline:
    warehouse = tmp_path / "warehouse.duckdb"
    made = dlt.pipeline(
        "kept_open", destination=dlt.destinations.duckdb(str(warehouse)), dataset_name="ds", pipelines_dir=str(tmp_path)
    )
    made.run([{"n": 1}], table_name="seed")
    return made


def _write(pipeline: dlt.Pipeline, table: str) -> None:
    """A write through dlt's own connection pool, closed afterwards, as a load job does."""
    with pipeline.sql_client() as client:
        client.execute_sql(f"CREATE TABLE ds.{table} AS SELECT range AS n FROM range(1000)")


def test_a_job_closing_its_connection_does_not_close_the_database_while_it_is_kept_open(
    pipeline: dlt.Pipeline, tmp_path: Path
) -> None:
    log = tmp_path / "warehouse.duckdb.wal"
    with kept_open(pipeline):
        _write(pipeline, "during")
        assert log.exists(), "the job's write is still in the log: the database stayed open, so no checkpoint"
    assert not log.exists(), "checkpointed once, when the block ends"
    with pipeline.sql_client() as client:
        assert client.execute_sql("SELECT COUNT(*) FROM ds.during")[0][0] == 1000


def test_without_it_a_job_closing_its_connection_checkpoints_the_file(pipeline: dlt.Pipeline, tmp_path: Path) -> None:
    _write(pipeline, "alone")
    assert not (tmp_path / "warehouse.duckdb.wal").exists()
