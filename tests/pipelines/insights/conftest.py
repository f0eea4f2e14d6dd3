"""A warehouse loaded from a simulator whose conversations carry planted intents, and its truth."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pytest

from pipelines.cli import main
from pipelines.cli.simulated import simulator_environment
from simulator import Corpus, Simulator
from simulator.truth import ConversationTruth, corpus_truth

TEST_ENVIRONMENT = {
    "RUNTIME__REQUEST_BACKOFF_FACTOR": "0.01",
    "RUNTIME__REQUEST_MAX_RETRY_DELAY": "2",
    "CHATSYNC__PII_KEY": "test-key-that-hashes-personal-data",
    "NORMALIZE__PARQUET_NORMALIZER__ADD_DLT_LOAD_ID": "true",
    "NORMALIZE__PARQUET_NORMALIZER__ADD_DLT_ID": "false",
}


@dataclass
class Loaded:
    """A loaded warehouse: where it is, the simulator behind it, and the truth of each conversation."""

    root: Path
    sim: Simulator

    @property
    def warehouse(self) -> Path:
        return self.root / "warehouse.duckdb"

    def environment(self) -> dict[str, str]:
        """What a chatsync command needs to load this warehouse from this simulator."""
        return {
            **TEST_ENVIRONMENT,
            **simulator_environment(self.sim),
            "DESTINATION__DUCKDB__CREDENTIALS": str(self.warehouse),
            "DLT_DATA_DIR": str(self.root / "dlt-data"),
        }

    def chatsync(self, *args: str) -> int:
        """Runs a chatsync command against this warehouse, its state kept in ``root``."""
        with pytest.MonkeyPatch.context() as patch:
            for key, value in self.environment().items():
                patch.setenv(key, value)
            patch.chdir(self.root)
            return main([*args, "--pipelines-dir", str(self.root / "pipelines")])

    def truth(self) -> dict[tuple[str, str], ConversationTruth]:
        return {(t.provider, t.conversation_id): t for t in corpus_truth(self.sim.corpus)}

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        with duckdb.connect(str(self.warehouse), read_only=True) as db:
            return db.execute(sql).fetchall()


def load(root: Path, seed: int, size: int) -> Iterator[Loaded]:
    """Serves a corpus, runs ``chatsync run`` (which refreshes insights) into ``root``."""
    (root / ".dlt").mkdir(parents=True, exist_ok=True)
    with Simulator(Corpus(seed=seed, size=size)) as sim:
        loaded = Loaded(root, sim)
        assert loaded.chatsync("run") == 0
        yield loaded


@pytest.fixture(scope="session")  # not module: xdist may interleave other modules, which would rebuild it
def planted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loaded]:
    """About 2,200 conversations in en, es and zh, loaded with insights (shared by a module's tests)."""
    yield from load(tmp_path_factory.mktemp("planted"), seed=11, size=20_000)


@pytest.fixture
def small(tmp_path: Path) -> Iterator[Loaded]:
    """About 900 conversations, loaded with insights, for tests that change them."""
    yield from load(tmp_path / "small", seed=3, size=8_000)
