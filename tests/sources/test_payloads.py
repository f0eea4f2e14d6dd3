"""Hostile payloads: each documented outcome, with every healthy conversation loaded exactly.

The full table (40 cases) runs in ``make reliability``; here a case of every kind of outcome per
provider. ``make test`` runs one case of each outcome (``FAST``), the slow tier the rest.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bench.payload_cases import CASES, LOADED, SKIPPED, CaseResult, PayloadCase, run_case
from pipelines.cli import main

QUICK = {
    "example_ai:id_object",
    "example_ai:created_at_future",
    "example_ai:created_at_lowercase",
    "example_ai:text_surrogate",
    "example_ai:duplicate_id",
    "example_ai:messages_null",
    "example_ai:has_more_forever",
    "example_ai:deep_json",
    "example_ai:truncated",
    "owlbot:messagenbr_string",
    "owlbot:session_without_uuid",
    "chatnode:chat_without_session",
    "chatnode:http_500",
    "feedloop:item_string",
    "feedloop:messages_object",
}


FAST = {"example_ai:id_object", "owlbot:session_without_uuid", "feedloop:item_string"}  # skipped, unnamed, loaded


def quick_cases() -> list[Any]:
    """The ``QUICK`` cases, those not in ``FAST`` marked slow."""
    return [
        pytest.param(c, id=c.name, marks=() if c.name in FAST else pytest.mark.slow) for c in CASES if c.name in QUICK
    ]


@pytest.fixture
def invoke(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Callable[[list[str], dict[str, str]], tuple[int, str]]:
    def run(args: list[str], env: dict[str, str]) -> tuple[int, str]:
        with monkeypatch.context() as scoped:
            for key, value in env.items():
                scoped.setenv(key, value)
            code = main(args)
        return int(code), capsys.readouterr().err

    return run


def test_every_case_documents_an_outcome_and_the_docs_list_it() -> None:
    readme = (Path(__file__).parents[2] / "docs" / "reliability.md").read_text(encoding="utf-8")
    assert len(CASES) >= 25 and len({c.name for c in CASES}) == len(CASES)
    for case in CASES:
        assert case.outcome in (LOADED, SKIPPED) and case.detail
        assert re.search(rf"\| {case.provider} \| `{case.kind}` \| {case.outcome} \|", readme), case.name


@pytest.mark.parametrize("case", quick_cases())
def test_payload_outcome(case: PayloadCase, tmp_path: Path, invoke: Callable[..., tuple[int, str]]) -> None:
    result: CaseResult = run_case(case, tmp_path, invoke, size=300)
    assert result.healthy_lost == 0, "every other conversation loads exactly"
    if case.outcome == SKIPPED:
        assert result.exit_code == 3
        assert result.target_rows == 0
        named = [line for line in result.error_lines if case.detail in line]
        assert len(named) == 1 and named[0].startswith(f"error: {case.provider}: ")
        if "listed" not in case.detail:  # a record without its id cannot be named or recorded
            assert result.target in named[0] and result.sync_error_rows == 1
    else:
        assert result.exit_code == 0 and result.target_rows > 0 and result.error_lines == []
    assert result.after_fix_exit == 0 and result.after_fix_lost == 0, "once the provider is fixed, all is exact"
    assert result.unresolved_after_fix == 0, "its sync_errors row is resolved once it loads"
    assert result.as_documented
