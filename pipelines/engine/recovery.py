"""Crash recovery: repair what a kill leaves in dlt's working folders, then finish pending packages.

What a kill can leave, and the repair (each found by killing runs at every step; see
``bench/reliability.py``):

- ``normalize/<random id>/``: the temporary folder of an extract that never committed (any folder
  of ``normalize/`` but dlt's ``extracted``, whatever length of id dlt's version picks). Nothing
  in it was recorded anywhere; deleted.
- ``normalize/extracted/<id>`` beside ``load/normalized/<id>`` or ``load/loaded/<id>``: normalize
  had renamed its output and was deleting its input (the "Committing storage" step). The input
  is a leftover; deleted.
- ``load/new/<id>``: normalize output that never committed while its input is still extracted:
  normalize simply runs again; deleted.
- A package missing its ``schema.json`` or job folders (e.g. left by two overlapping runs): dlt
  cannot read it, and the local state carries the cursors it had moved. The local working folder
  is dropped and rebuilt from the destination (``pipeline.drop`` + ``sync_destination``), which
  holds the state of the last load that committed: every pending package goes, and its data,
  never loaded, is extracted again. (dlt's ``abort_packages`` rewinds to a package's snapshot,
  but a broken package may have none, and then dlt leaves the moved cursors in place.)
"""

from __future__ import annotations

import json
import shutil
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import dlt

from sources.common.dlt_internals import EXTRACTED_FOLDER, PACKAGE_FILES, PACKAGE_FOLDERS, STAGED_DEDUPLICATED
from sources.common.wording import counted


@dataclass
class Repairs:
    """What ``repair_working_folders`` changed, for one warning line."""

    removed: list[str] = field(default_factory=list)
    aborted: list[str] = field(default_factory=list)
    state_rebuilt: bool = False

    def __bool__(self) -> bool:
        return bool(self.removed or self.aborted or self.state_rebuilt)

    def describe(self) -> str:
        """One line naming every repair."""
        parts = []
        if self.removed:
            parts.append(f"removed {counted(len(self.removed), 'leftover folder')} ({', '.join(self.removed)})")
        if self.aborted:
            parts.append(
                f"dropped {counted(len(self.aborted), 'broken package')} ({', '.join(self.aborted)}); "
                "their data will be extracted again"
            )
        if self.state_rebuilt:
            parts.append("rebuilt the local state from the destination")
        return "repaired an interrupted run: " + "; ".join(parts)


def _folders(path: Path) -> list[Path]:
    return sorted(p for p in path.iterdir() if p.is_dir()) if path.is_dir() else []


def _sound(package: Path) -> bool:
    files = all((package / name).is_file() for name in PACKAGE_FILES)
    return files and all((package / name).is_dir() for name in PACKAGE_FOLDERS)


def _remove(folder: Path, root: Path, repairs: Repairs) -> None:
    shutil.rmtree(folder, ignore_errors=True)
    repairs.removed.append(str(folder.relative_to(root)))


def _remove_leftovers(root: Path, repairs: Repairs) -> None:
    normalize, load = root / "normalize", root / "load"
    for temp in _folders(normalize):
        if temp.name != EXTRACTED_FOLDER:  # dlt's own layout, not a name pattern
            _remove(temp, root, repairs)
    committed = {p.name for p in _folders(load / "normalized")} | {p.name for p in _folders(load / "loaded")}
    extracted = _folders(normalize / EXTRACTED_FOLDER)
    for package in extracted:
        if package.name in committed:
            _remove(package, root, repairs)
    still_extracted = {p.name for p in extracted if p.exists()}
    for output in _folders(load / "new"):
        if output.name in still_extracted or not _sound(output):
            _remove(output, root, repairs)


def _broken_packages(root: Path) -> list[str]:
    pending = _folders(root / "normalize" / EXTRACTED_FOLDER) + _folders(root / "load" / "normalized")
    return sorted(p.name for p in pending if not _sound(p))


def repair_working_folders(pipeline: dlt.Pipeline) -> Repairs:
    """Repairs what a kill left in the pipeline's working folders; a no-op on a clean pipeline.

    Must run while holding the run lock, before anything else touches the pipeline.

    Args:
        pipeline: The pipeline about to run.

    Returns:
        What was repaired.
    """
    repairs = Repairs()
    root = Path(pipeline.working_dir)
    _remove_leftovers(root, repairs)
    broken = _broken_packages(root)
    if not broken:
        return repairs
    repairs.aborted = broken
    rebuild_from_destination(pipeline)
    repairs.state_rebuilt = True
    return repairs


def rebuild_from_destination(pipeline: dlt.Pipeline) -> None:
    """Drops the local working folder and restores state and schemas from the destination."""
    pipeline.drop()  # wipes the local working folder; sync_destination restores state and schemas
    pipeline.sync_destination()


STATE_TABLE: Final = "_dlt_pipeline_state"


def deduplicate_resumed_packages(working_dir: str) -> int:
    """Lets the merges of resumed packages de-duplicate their staged rows again.

    chatsync declares staged rows unique (``x-stage-data-deduplicated``) because one package's
    rows are. A resumed package breaks that: a job whose copy into staging committed just before a
    kill, but was not yet marked completed, is copied again, and the merge would keep both. Its
    schema is told otherwise, so dlt's merge keeps one row per key; fresh loads keep the speed.

    Args:
        working_dir: The pipeline's working folder.

    Returns:
        How many packages' schemas were changed.
    """
    changed = 0
    for package in _folders(Path(working_dir, "load", "normalized")):
        path = package / "schema.json"
        try:
            schema = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue  # repair_working_folders deals with broken packages
        tables = [t for t in schema.get("tables", {}).values() if t.get(STAGED_DEDUPLICATED)]
        for table in tables:
            table[STAGED_DEDUPLICATED] = False
        if tables:
            path.write_text(json.dumps(schema), encoding="utf-8")
            changed += 1
    return changed


def committed_state_version(pipeline: dlt.Pipeline) -> int:
    """The newest state version the warehouse holds for this pipeline (0: none)."""
    from ..warehouse.queries import query_table

    sql = "SELECT MAX(version) FROM {table} WHERE pipeline_name = %s"
    with pipeline.sql_client() as client:
        rows = query_table(client, STATE_TABLE, sql, pipeline.pipeline_name) if client.has_dataset() else None
    return int(rows[0][0] or 0) if rows else 0


def discard_foreign_state(pipeline: dlt.Pipeline) -> bool:
    """Replaces local cursors that the warehouse never committed by the warehouse's own state.

    Every load commits the pipeline state with its rows, so once pending packages are loaded the
    local state can only be ahead of the warehouse's if it was committed somewhere else: another
    DuckDB file or database reached through the same pipeline name, or a dataset dropped by hand.
    Those cursors would skip data this warehouse never received; the warehouse's state (none, for
    a new one) is the truth for it, and a re-read merges without duplicates.

    Args:
        pipeline: The pipeline, with no pending packages.

    Returns:
        Whether the local state was replaced.
    """
    local = pipeline.state
    if not local.get("sources") or local.get("_state_version", 0) <= committed_state_version(pipeline):
        return False
    rebuild_from_destination(pipeline)
    return True


def rows_by_table(job_infos: Iterable[Any]) -> Counter[str]:
    """Rows per table in a package's parquet jobs (other formats cannot be counted cheaply)."""
    import pyarrow.parquet as pq

    counts: Counter[str] = Counter()
    for job in job_infos:
        table = job.job_file_info.table_name
        if table.startswith("_dlt") or job.job_file_info.file_format != "parquet":
            continue
        counts[table] += pq.ParquetFile(job.file_path).metadata.num_rows
    return counts
