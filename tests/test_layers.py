"""The layering contract (``[tool.importlinter]`` in pyproject.toml) breaks on an upward import.

That the code keeps the contracts is lint: ``make lint`` runs ``lint-imports``. Here, that a planted
violation of each contract is caught: one case in ``make test``, the others in the slow tier.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT = Path(sys.executable).with_name("lint-imports")


def lint(project: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(LINT), "--no-cache"], cwd=project, capture_output=True, text=True, timeout=300)


@pytest.fixture
def copy_of_the_code(tmp_path: Path) -> Path:
    for package in ("pipelines", "sources", "simulator"):
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    return tmp_path


@pytest.mark.parametrize(
    ("module", "upward"),
    [
        ("pipelines/warehouse/queries.py", "from pipelines.engine import runner"),  # warehouse over engine
        pytest.param(  # engine over the CLI
            "pipelines/engine/target.py", "from pipelines.cli import main", marks=pytest.mark.slow
        ),
        pytest.param(  # sources over pipelines
            "sources/common/tables.py", "import pipelines.warehouse.analytics", marks=pytest.mark.slow
        ),
        pytest.param(  # one provider on another
            "sources/owlbot/helpers.py", "from sources.chatnode import helpers", marks=pytest.mark.slow
        ),
        pytest.param(  # the fake on the real thing
            "simulator/corpus.py", "import sources.common.secrets", marks=pytest.mark.slow
        ),
    ],
)
def test_an_upward_import_breaks_the_contract(copy_of_the_code: Path, module: str, upward: str) -> None:
    path = copy_of_the_code / module
    path.write_text(path.read_text() + f"\n{upward}  # noqa\n")
    done = lint(copy_of_the_code)
    assert done.returncode != 0 and "BROKEN" in done.stdout, done.stdout[-2000:]


@pytest.mark.slow
def test_an_import_circle_between_siblings_breaks_the_contract(copy_of_the_code: Path) -> None:
    tables = copy_of_the_code / "sources/common/tables.py"
    tables.write_text(tables.read_text() + "\nfrom sources.common import batching  # noqa\n")  # batching imports tables
    done = lint(copy_of_the_code)
    assert done.returncode != 0 and "BROKEN" in done.stdout, done.stdout[-2000:]


def test_the_cli_starts_without_the_simulator() -> None:
    """Only ``simulate`` and ``demo`` load the server and the corpus; every other command starts without them."""
    code = "import sys, pipelines.cli.app; print(sorted(m for m in sys.modules if m.startswith('simulator')))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert done.stdout.strip() == "['simulator', 'simulator.options']", done


def test_the_sources_never_read_the_warehouse() -> None:
    """What the warehouse holds reaches a source through the ledger it is handed (the engine's WarehouseLedger)."""
    reads = ("sql_client(", "execute_sql(", "pipeline.dataset(", "DatabaseUndefinedRelation")
    offenders = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "sources").rglob("*.py")
        if any(read in path.read_text(encoding="utf-8") for read in reads)
    ]
    assert offenders == []
