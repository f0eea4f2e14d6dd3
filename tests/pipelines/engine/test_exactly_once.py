"""Exactly once after a kill at load-job completion: a job staged twice is still merged once."""

from __future__ import annotations

import shutil
from collections import Counter
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest

from pipelines.cli import main
from pipelines.engine.factory import build_pipeline
from pipelines.engine.target import Target
from pipelines.warehouse.ledger import WarehouseLedger
from simulator import Simulator
from sources.common.source_run import SourceRun
from sources.example_ai import example_ai


def duplicate_ids(warehouse: Path) -> Counter[tuple[str, str, str]]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute(
            "SELECT provider, conversation_id, message_id, COUNT(*) FROM chat_history.messages "
            "GROUP BY 1, 2, 3 HAVING COUNT(*) > 1"
        ).fetchall()
    return Counter({(p, c, m): n for p, c, m, n in rows})


def test_a_job_committed_to_staging_before_a_kill_is_not_merged_twice(
    sim: Simulator, configured: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The kill falls between the staging copy's commit and dlt marking the job completed.

    The package is left with the job in ``started_jobs`` while its rows already sit in the staging
    table: the resumed load copies the file again, and the merge must not keep both copies.
    """
    pipelines = str(tmp_path / "pipelines")
    assert main(["-q", "run", "--provider", "example_ai", "--pipelines-dir", pipelines]) == 0
    sim.advance(timedelta(days=2))
    pipeline = build_pipeline(Target(pipelines_dir=pipelines))
    ids = sim.corpus.conversation_ids("example_ai")
    source = example_ai(conversation_ids=ids, run_with=SourceRun(ledger=WarehouseLedger))
    pipeline.extract(source, loader_file_format="parquet")
    pipeline.normalize()
    (package,) = Path(pipeline.working_dir, "load", "normalized").iterdir()
    (job,) = (package / "new_jobs").glob("messages.*.parquet")
    with duckdb.connect(str(configured)) as con:  # what the killed load had committed
        con.execute(f"INSERT INTO chat_history_staging.messages BY NAME SELECT * FROM read_parquet('{job}')")
        staged = con.execute("SELECT COUNT(*) FROM chat_history_staging.messages").fetchall()[0][0]
    assert staged > 0
    shutil.move(job, package / "started_jobs" / job.name)
    assert main(["-q", "run", "--provider", "example_ai", "--pipelines-dir", pipelines]) == 0
    assert not duplicate_ids(configured), "a message stored twice"


def test_crash_repair_removes_the_extract_folder_dlt_itself_makes(
    sim: Simulator, configured: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Whatever length of id the pinned dlt gives its temporary extract folder (16 hex characters in 1.31)."""
    from dlt.common.storages import NormalizeStorageConfiguration
    from dlt.extract.storage import ExtractStorage

    pipelines = str(tmp_path / "pipelines")
    assert main(["-q", "run", "--provider", "example_ai", "--pipelines-dir", pipelines]) == 0
    working = Path(build_pipeline(Target(pipelines_dir=pipelines)).working_dir)
    storage = ExtractStorage(NormalizeStorageConfiguration(normalize_volume_path=str(working / "normalize")))
    temp = working / "normalize" / storage.new_packages_folder  # what a killed extract leaves behind
    assert temp.is_dir()
    assert main(["run", "--provider", "example_ai", "--pipelines-dir", pipelines]) == 0
    assert f"removed 1 leftover folder (normalize/{temp.name})" in capsys.readouterr().err
    assert not temp.exists()
    assert sorted(p.name for p in (working / "normalize").iterdir() if p.is_dir()) == ["extracted"]
