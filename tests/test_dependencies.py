"""Every third-party module chatsync imports is a dependency it declares, not one that arrives through dlt."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OWN = {"pipelines", "sources", "simulator", "tests", "bench"}
# extras: what only the orchestration paths import, declared under [project.optional-dependencies]
EXTRAS = {"dagster", "dagster_dlt", "airflow"}


def imported_top_levels() -> set[str]:
    found: set[str] = set()
    for package in ("pipelines", "sources", "simulator"):
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Import):
                    found.update(alias.name.split(".")[0] for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    found.add(node.module.split(".")[0])
    return {name for name in found if name not in sys.stdlib_module_names and name not in OWN}


def declared() -> tuple[set[str], set[str]]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]

    def names(requirements: list[str]) -> set[str]:
        return {re.split(r"[\[<>=!~; ]", r, maxsplit=1)[0].lower().replace("_", "-") for r in requirements}

    extras = {name for group in project["optional-dependencies"].values() for name in names(group)}
    return names(project["dependencies"]), extras


def test_every_import_is_a_declared_dependency() -> None:
    distributions = packages_distributions()
    required, optional = declared()
    missing = {}
    for module in sorted(imported_top_levels()):
        owners = {d.lower().replace("_", "-") for d in distributions.get(module, [])}
        if module in EXTRAS:
            assert owners & optional or not owners, f"{module}: not in an extra"
            continue
        if not owners & required:
            missing[module] = sorted(owners)
    assert missing == {}, f"imported but not declared in [project] dependencies: {missing}"
