"""A run collects garbage less often while it extracts, and leaves the collector as it found it."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from pipelines.engine.memory import RUN_THRESHOLDS, fewer_collections


@pytest.fixture
def python_defaults() -> Iterator[None]:
    before = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    yield
    gc.set_threshold(*before)


@pytest.mark.usefixtures("python_defaults")
def test_the_block_runs_with_the_run_thresholds_and_the_defaults_come_back() -> None:
    with fewer_collections():
        assert gc.get_threshold() == RUN_THRESHOLDS
    assert gc.get_threshold() == (700, 10, 10)


@pytest.mark.usefixtures("python_defaults")
def test_the_defaults_come_back_when_the_block_fails() -> None:
    with pytest.raises(RuntimeError), fewer_collections():
        raise RuntimeError("a run failing")
    assert gc.get_threshold() == (700, 10, 10)


def test_young_collections_are_rarer_than_pythons() -> None:
    assert RUN_THRESHOLDS[0] >= 50 * 700
