"""dlt's internals that chatsync relies on (``sources.common.dlt_internals``) are still there, as used.

Each test fails loudly on a dlt upgrade that changed one of them, naming which: the pin in
``pyproject.toml`` may be widened to a dlt version once this module passes on it.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import dlt
import pytest
from dlt.common.storages import NormalizeStorage
from requests import Session
from tenacity import Retrying

from sources.common import dlt_internals
from sources.common.dlt_internals import (
    EXTRACTED_FOLDER,
    HARMLESS_DLT_WARNINGS,
    PACKAGE_FILES,
    PACKAGE_FOLDERS,
    STAGED_DEDUPLICATED,
    SessionFinishingClient,
    run_trace,
)

DLT_SOURCE = Path(dlt.__file__).parent


def dlt_text() -> str:
    """dlt's Python source, with implicitly joined string literals joined (as the messages read)."""
    text = "\n".join(path.read_text(encoding="utf-8") for path in DLT_SOURCE.rglob("*.py"))
    return re.sub(r"\"\s*\n\s*(?:\+\s*)?f?\"", "", text)


def test_dlt_client_still_builds_its_session_in_make_session_with_its_retry() -> None:
    finished: list[tuple[Session, Retrying]] = []

    class Recording(SessionFinishingClient):
        def finish_session(self, session: Session, retry: Retrying) -> Session:  # type: ignore[override]
            finished.append((session, retry))
            return super().finish_session(session, retry)  # type: ignore[arg-type]

    client = Recording(request_max_attempts=3, status_codes=(429, 503))
    session = client.session
    assert finished and finished[0][0] is session, "dlt's Client no longer calls _make_session for its session"
    retry = finished[0][1]
    assert isinstance(retry, Retrying), "dlt's _make_retry no longer returns a tenacity Retrying"
    assert retry.copy(sleep=lambda _: None).sleep is not retry.sleep, "Retrying.copy(sleep=…) no longer works"
    assert {"exceptions", "status_codes"} <= set(client.retry_settings), "dlt's Client._retry_kwargs changed"
    assert 503 in client.retry_settings["status_codes"]
    assert session.adapters["https://"] is client._adapter, "dlt's Client._adapter is gone"


def test_with_runtime_trace_still_takes_send_state() -> None:
    from dlt.pipeline.pipeline import with_runtime_trace

    assert "send_state" in inspect.signature(with_runtime_trace).parameters

    @run_trace(send_state=True)
    def traced(pipeline: dlt.Pipeline) -> str:
        return pipeline.pipeline_name

    assert traced.__name__ == "traced"


def test_dlt_merges_still_read_the_staged_deduplicated_hint() -> None:
    from dlt.common.schema.typing import TTableSchema

    text = dlt_text()
    assert f'get("{STAGED_DEDUPLICATED}"' in text, "dlt's merge no longer reads the hint chatsync sets"
    assert STAGED_DEDUPLICATED in inspect.getsource(inspect.getmodule(TTableSchema))


def test_the_working_folder_layout_is_as_recovery_expects(tmp_path: Path) -> None:
    assert EXTRACTED_FOLDER == NormalizeStorage.EXTRACTED_FOLDER == "extracted"
    pipeline = dlt.pipeline("layout", pipelines_dir=str(tmp_path), destination="duckdb")
    pipeline.extract([{"id": 1}], table_name="rows")
    (package,) = (Path(pipeline.working_dir) / "normalize" / EXTRACTED_FOLDER).iterdir()
    assert all((package / name).is_file() for name in PACKAGE_FILES), sorted(p.name for p in package.iterdir())
    assert all((package / name).is_dir() for name in PACKAGE_FOLDERS), sorted(p.name for p in package.iterdir())
    pipeline.normalize()
    (normalized,) = (Path(pipeline.working_dir) / "load" / "normalized").iterdir()
    assert normalized.name == package.name


@pytest.mark.parametrize("text", HARMLESS_DLT_WARNINGS)
def test_every_warning_hidden_by_its_text_is_still_worded_so(text: str) -> None:
    assert text in dlt_text(), f"dlt no longer logs {text!r}: the warning will show (harmless); update the list"


def test_nothing_else_in_chatsync_uses_dlt_privately() -> None:
    root = Path(__file__).resolve().parents[1]
    allowed = Path(inspect.getfile(dlt_internals))
    private = re.compile(
        r"from dlt[\w.]* import [^\n]*\b_\w|\b_make_retry\b|\b_make_session\b|with_runtime_trace|"
        r"x-stage-data-deduplicated\"|\.json = "
    )
    offenders = [
        str(path.relative_to(root))
        for package in ("sources", "pipelines")
        for path in (root / package).rglob("*.py")
        if path != allowed and private.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []
