"""A warehouse without credentials is a configuration error that names the setting, before anything runs."""

from __future__ import annotations

import pytest

from pipelines.cli import main


@pytest.mark.parametrize("destination", ["postgres", "bigquery"])
def test_a_warehouse_without_credentials_names_its_setting_and_exits_2(
    destination: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SOURCES__OWLBOT__API_KEY", "owl-key")
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    if destination == "bigquery":
        pytest.importorskip("google.cloud.bigquery", reason="the BigQuery extra is not installed")
    assert main(["run", "--provider", "owlbot", "--destination", destination]) == 2
    err = capsys.readouterr().err
    assert f"[destination.{destination}] credentials" in err
    assert f"DESTINATION__{destination.upper()}__CREDENTIALS" in err
    assert "wrote:" not in err and "SOURCES__WAREHOUSE" not in err


def test_credentials_given_field_by_field_are_credentials(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from pipelines.engine.destinations import require_credentials

    monkeypatch.setenv("DESTINATION__POSTGRES__CREDENTIALS__HOST", "db.example")
    require_credentials("postgres")  # no error: dlt reads the fields one by one
    require_credentials("duckdb")


def test_report_on_an_empty_project_creates_nothing(tmp_path: object, capsys: pytest.CaptureFixture[str]) -> None:
    from pathlib import Path

    project = Path.cwd()
    before = sorted(p.relative_to(project) for p in project.rglob("*"))
    assert main(["report"]) == 2
    assert "run `chatsync run` first" in capsys.readouterr().err
    assert sorted(p.relative_to(project) for p in project.rglob("*")) == before, "a read-only command creates nothing"
