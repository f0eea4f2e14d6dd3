"""Test warehouses ("worlds"), each built once per test run and handed to the tests that write as a private copy.

A world is a warehouse loaded from a seeded simulator corpus. Building one costs seconds (a load, and
the insights fit for some), so it is built once: under a file lock in the run's shared temporary folder,
so that pytest-xdist's workers build each world once between them, not once per worker. A test that only
reads uses the built world itself (DuckDB opened read-only); a test that writes takes a private copy:
a copy of the folder for DuckDB (warehouse, pipeline state, dlt data), a database made from a template
for PostgreSQL. The corpus is reproducible from its seed, so a copy gets a fresh simulator of the same
corpus, at the same virtual time, to advance as it likes.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dlt
import duckdb
import pytest
from filelock import FileLock

from pipelines.cli import main
from pipelines.cli.simulated import simulator_environment
from pipelines.engine.factory import build_pipeline
from pipelines.engine.runner import load_providers
from pipelines.engine.target import Target
from pipelines.warehouse.analytics import VIEWS, refresh_views
from simulator import Corpus, Simulator
from simulator.corpus import PROVIDERS as CORPUS_PROVIDERS
from simulator.truth import ConversationTruth, corpus_truth
from sources.registry import SPECS
from tests.utils import PROVIDERS

BUILT = ".built"  # written last: a world without it was interrupted and is built again

# What the autouse fixture sets for each test, for worlds built outside any one test; insights on,
# because a world's tests read them (the tests' default is off).
TEST_ENVIRONMENT = {
    "RUNTIME__REQUEST_BACKOFF_FACTOR": "0.01",
    "RUNTIME__REQUEST_MAX_RETRY_DELAY": "2",
    "RUNTIME__REQUEST_MAX_ATTEMPTS": "8",
    "RUNTIME__REQUEST_TIMEOUT": "5",
    "CHATSYNC__PII_KEY": "test-key-that-hashes-personal-data",
    "NORMALIZE__PARQUET_NORMALIZER__ADD_DLT_LOAD_ID": "true",
    "NORMALIZE__PARQUET_NORMALIZER__ADD_DLT_ID": "false",
    "INSIGHTS__ENABLED": "true",
}


@contextmanager
def environment_set(values: dict[str, str]) -> Iterator[None]:
    """``values`` in the environment for the block, as it was after."""
    with pytest.MonkeyPatch.context() as env:
        for key, value in values.items():
            env.setenv(key, value)
        yield


def world_environment(root: Path) -> dict[str, str]:
    """The tests' settings (``TEST_ENVIRONMENT``) with dlt's data kept in the world's folder ``root``."""
    return {**TEST_ENVIRONMENT, "DLT_DATA_DIR": str(root / "dlt-data")}


@dataclass(frozen=True)
class Recipe:
    """How a world is made: the corpus it is loaded from, and whether ``chatsync audit`` ran after the load."""

    name: str
    seed: int
    size: int
    audited: bool = False
    fixed_answers: bool = False
    providers: tuple[str, ...] = CORPUS_PROVIDERS  # the four seeds, unless a world names more

    def corpus(self) -> Corpus:
        return Corpus(seed=self.seed, size=self.size, fixed_answers=self.fixed_answers, providers=self.providers)


PLANTED = Recipe("planted", seed=11, size=20_000)  # ~2,200 conversations in en, es and zh: insights quality
# the demo's path (run with insights, then audit), ~650 conversations: the explorer's pages, the docs' SQL
# examples, and (copied) the insights tests that change a warehouse
DEMO = Recipe("demo", seed=5, size=6_000, audited=True, providers=tuple(SPECS))  # as make demo: every provider
VIEWS_WORLD = Recipe("views", seed=31, size=2_000)  # analytics views and the report against ground truth
PARITY = Recipe("parity", seed=43, size=3_000)  # the same corpus in DuckDB and PostgreSQL
# bots that answer each question with one fixed text: canned-reply detection must not call it a fallback
FIXED_ANSWERS = Recipe("fixed-answers", seed=13, size=9_000, fixed_answers=True)


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
            **world_environment(self.root),
            **simulator_environment(self.sim),
            "DESTINATION__DUCKDB__CREDENTIALS": str(self.warehouse),
        }

    def chatsync(self, *args: str) -> int:
        """Runs a chatsync command against this warehouse, its state kept in ``root``."""
        with environment_set(self.environment()), pytest.MonkeyPatch.context() as patch:
            patch.chdir(self.root)
            return main([*args, "--pipelines-dir", str(self.root / "pipelines")])

    def truth(self) -> dict[tuple[str, str], ConversationTruth]:
        return {(t.provider, t.conversation_id): t for t in corpus_truth(self.sim.corpus)}

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        with duckdb.connect(str(self.warehouse), read_only=True) as db:
            return db.execute(sql).fetchall()


def shared_folder(factory: pytest.TempPathFactory) -> Path:
    """The temporary folder every xdist worker of this run shares (a worker's own is one level down)."""
    own = factory.getbasetemp()
    return own.parent if os.environ.get("PYTEST_XDIST_WORKER") else own


def build_once(factory: pytest.TempPathFactory, name: str, build: Callable[[Path], None]) -> Path:
    """The folder of world ``name``, which ``build`` fills the first time any worker of this run asks."""
    root = shared_folder(factory) / "worlds" / name
    root.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(root) + ".lock"):
        if not (root / BUILT).exists():
            shutil.rmtree(root, ignore_errors=True)
            root.mkdir()
            with environment_set(world_environment(root)):  # the same whichever test asked first
                build(root)
            (root / BUILT).touch()
    return root


def _load_with_chatsync(recipe: Recipe) -> Callable[[Path], None]:
    def build(root: Path) -> None:
        (root / ".dlt").mkdir()  # a chatsync project: commands refuse to run outside one
        with Simulator(recipe.corpus()) as sim:
            loaded = Loaded(root, sim)
            assert loaded.chatsync("run") == 0
            if recipe.audited:
                assert loaded.chatsync("audit") == 0

    return build


def chatsync_world(factory: pytest.TempPathFactory, recipe: Recipe) -> Path:
    """A world loaded as users load it, ``chatsync run`` with insights (and ``audit``), into DuckDB."""
    return build_once(factory, recipe.name, _load_with_chatsync(recipe))


@contextmanager
def served(folder: Path, recipe: Recipe) -> Iterator[Loaded]:
    """The world in ``folder`` with a simulator of its corpus running (for its truth, or to load more)."""
    with Simulator(recipe.corpus()) as sim:
        yield Loaded(folder, sim)


def private_copy(world: Path, destination: Path) -> Path:
    """A copy of a DuckDB world's folder that a test may change at will."""
    shutil.copytree(world, destination, ignore=shutil.ignore_patterns(BUILT, "*.lock"))
    return destination


def load_all(sim: Simulator, target: Target) -> dlt.Pipeline:
    """Loads every provider of ``sim`` through the engine into ``target``, then makes the analytics views."""
    pipeline = build_pipeline(target)
    with environment_set(simulator_environment(sim)):
        outcomes = load_providers(pipeline, PROVIDERS, target)
    assert [o.error for o in outcomes] == [None] * len(PROVIDERS)
    assert refresh_views(pipeline) == list(VIEWS)
    return pipeline


def duckdb_target(folder: Path) -> Target:
    """The target of a world loaded by ``load_all`` into DuckDB in ``folder``."""
    return Target(pipelines_dir=str(folder / "pipelines"), duckdb_path=str(folder / "w.duckdb"))


def engine_world(factory: pytest.TempPathFactory, recipe: Recipe) -> Path:
    """A world loaded through the engine (``load_all``, no insights) into ``w.duckdb``."""

    def build(root: Path) -> None:
        with Simulator(recipe.corpus()) as sim:
            load_all(sim, duckdb_target(root))

    return build_once(factory, recipe.name, build)


@dataclass
class EngineLoaded:
    """A world loaded by the engine into DuckDB (``tests.worlds.load_all``), with a simulator of its corpus."""

    folder: Path
    sim: Simulator

    @property
    def target(self) -> Target:
        return duckdb_target(self.folder)

    def pipeline(self) -> dlt.Pipeline:
        return build_pipeline(self.target)


# --- PostgreSQL: a template database per world, a database made from it per test --------------------------


def database_uri(server_uri: str, database: str) -> str:
    """``server_uri`` (a dlt credentials URI of the test server) naming ``database`` instead."""
    address, _, query = server_uri.partition("?")
    return f"{address.rsplit('/', 1)[0]}/{database}?{query}"


def postgres_sql(uri: str, *statements: str) -> list[tuple[Any, ...]]:
    """Runs ``statements`` on the database of ``uri`` (autocommit); returns the rows of the last one."""
    import psycopg2

    connection = psycopg2.connect(uri.replace("localhost/", "/", 1))  # psycopg2 takes the socket folder as host
    connection.autocommit = True  # CREATE DATABASE runs outside a transaction
    try:
        with connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
            return cursor.fetchall() if cursor.description else []
    finally:
        connection.close()


def postgres_world(server_uri: str, recipe: Recipe, dataset: str, folder: Path) -> str:
    """Loads ``recipe`` into a new database of the test server, dataset ``dataset``; returns its URI.

    The database then serves as a template (``postgres_copy``); its local pipeline state is in ``folder``.
    """
    database = f"world_{recipe.name}"
    postgres_sql(server_uri, f"DROP DATABASE IF EXISTS {database}", f"CREATE DATABASE {database}")
    uri = database_uri(server_uri, database)
    environment = {**world_environment(folder), "DESTINATION__POSTGRES__CREDENTIALS": uri}
    with environment_set(environment), Simulator(recipe.corpus()) as sim:
        load_all(sim, Target(destination="postgres", dataset=dataset, pipelines_dir=str(folder)))
    return uri


def postgres_copy(template_uri: str, name: str) -> str:
    """A new database made from the template database of ``template_uri``; returns its URI."""
    template = template_uri.partition("?")[0].rsplit("/", 1)[1]
    server_uri = database_uri(template_uri, "postgres")
    postgres_sql(
        server_uri,
        # a template must have no other session: none should be left, this makes sure
        f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{template}'",
        f"DROP DATABASE IF EXISTS {name}",
        f"CREATE DATABASE {name} TEMPLATE {template}",
    )
    return database_uri(template_uri, name)


@dataclass
class Parity:
    """One corpus loaded by the engine into DuckDB and into a PostgreSQL template database."""

    duckdb_world: Path
    postgres_template: str
    postgres_state: Path
    dataset = "parity"

    def duckdb(self, folder: Path) -> dlt.Pipeline:
        """A pipeline on a private copy of the DuckDB side."""
        return build_pipeline(duckdb_target(private_copy(self.duckdb_world, folder)))

    def postgres(self, folder: Path, database: str, monkeypatch: pytest.MonkeyPatch) -> tuple[dlt.Pipeline, str]:
        """A pipeline on a private database made from the template, and that database's URI."""
        uri = postgres_copy(self.postgres_template, database)
        monkeypatch.setenv("DESTINATION__POSTGRES__CREDENTIALS", uri)
        state = private_copy(self.postgres_state, folder)
        return build_pipeline(Target(destination="postgres", dataset=self.dataset, pipelines_dir=str(state))), uri
