"""Fixtures: a real simulator on a free loopback port, an isolated dlt environment, and the shared worlds.

A world (``tests/worlds.py``) is a warehouse built once per test run; tests that write get a private copy.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from simulator import Corpus, Simulator
from tests.worlds import (
    DEMO,
    FIXED_ANSWERS,
    PARITY,
    PLANTED,
    VIEWS_WORLD,
    EngineLoaded,
    Loaded,
    Parity,
    Recipe,
    chatsync_world,
    engine_world,
    postgres_world,
    private_copy,
    served,
    world_environment,
)

# The world each fixture hands out: its tests run on one xdist worker (--dist loadgroup), so that the
# other worker runs other tests meanwhile instead of waiting for the world to be built. The parity
# world's PostgreSQL side is built per worker (each has its server): one worker builds it once.
WORLD_OF_FIXTURE = {
    "planted": PLANTED.name,
    "fixed_answers": FIXED_ANSWERS.name,
    "demo": DEMO.name,
    "demo_copy": "demo-copies",  # a group of their own: the two groups' tests run side by side once it is built
    "views_world": VIEWS_WORLD.name,
    "report_world": VIEWS_WORLD.name,
    "parity": PARITY.name,
}


def pytest_itemcollected(item: pytest.Item) -> None:
    """Marks a test that uses the real PostgreSQL ``postgres``; groups the tests of each world.

    Done as each test is collected: xdist reads the groups in its own ``pytest_collection_modifyitems``.
    """
    fixtures = getattr(item, "fixturenames", ())
    if "postgres_uri" in fixtures:
        item.add_marker(pytest.mark.postgres)
    worlds = sorted({WORLD_OF_FIXTURE[f] for f in fixtures if f in WORLD_OF_FIXTURE})
    if worlds:
        item.add_marker(pytest.mark.xdist_group("+".join(worlds)))


@pytest.fixture(autouse=True)
def isolated_dlt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Keeps tests away from ~/.dlt and the repo's secrets; retries fast but real; insights off.

    Insights cost an import of scikit-learn and a topic fit per run: the tests about them turn them on
    (``INSIGHTS__ENABLED=true``, as every world does).
    """
    for key, value in {**world_environment(tmp_path), "INSIGHTS__ENABLED": "false"}.items():
        monkeypatch.setenv(key, value)
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


# --- the worlds ---------------------------------------------------------------------------------------------


def _shared(factory: pytest.TempPathFactory, recipe: Recipe) -> Iterator[Loaded]:
    with served(chatsync_world(factory, recipe), recipe) as loaded:
        yield loaded


def _copied(factory: pytest.TempPathFactory, recipe: Recipe, destination: Path) -> Iterator[Loaded]:
    with served(private_copy(chatsync_world(factory, recipe), destination), recipe) as loaded:
        yield loaded


@pytest.fixture(scope="session")
def planted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loaded]:
    """About 2,200 conversations in en, es, zh, de and ja with planted intents, loaded with insights; read-only."""
    yield from _shared(tmp_path_factory, PLANTED)


@pytest.fixture(scope="session")
def fixed_answers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loaded]:
    """About 1,000 conversations whose bots answer each question with one fixed text; read-only."""
    yield from _shared(tmp_path_factory, FIXED_ANSWERS)


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loaded]:
    """The demo's path (``chatsync run`` with insights, then ``audit``; ~650 conversations); read-only."""
    yield from _shared(tmp_path_factory, DEMO)


@pytest.fixture
def demo_copy(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> Iterator[Loaded]:
    """The demo world: this test's own copy, with its own simulator."""
    yield from _copied(tmp_path_factory, DEMO, tmp_path / "demo")


@pytest.fixture
def views_world(tmp_path_factory: pytest.TempPathFactory, tmp_path: Path) -> Iterator[EngineLoaded]:
    """Every provider loaded by the engine with the analytics views (~2,000 messages): this test's copy."""
    world = engine_world(tmp_path_factory, VIEWS_WORLD)
    with Simulator(VIEWS_WORLD.corpus()) as sim:
        yield EngineLoaded(private_copy(world, tmp_path / "views"), sim)


@pytest.fixture(scope="session")
def parity(tmp_path_factory: pytest.TempPathFactory, postgres_uri: str) -> Parity:
    """The parity world: DuckDB built once per run, PostgreSQL once per worker (each has its own server)."""
    state = tmp_path_factory.mktemp("parity-postgres-state")
    template = postgres_world(postgres_uri, PARITY, Parity.dataset, state)
    return Parity(engine_world(tmp_path_factory, PARITY), template, state)
