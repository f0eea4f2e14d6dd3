"""The suite's own structure: worlds are private where a test writes, and xdist keeps a world's tests together."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb

from tests.worlds import Loaded, database_uri, postgres_copy, postgres_sql


def test_a_private_copy_is_the_world_and_changes_only_itself(demo: Loaded, demo_copy: Loaded) -> None:
    count = "SELECT COUNT(*) FROM chat_history.messages"
    assert demo_copy.rows(count) == demo.rows(count), "a copy holds what the world holds"
    with duckdb.connect(str(demo_copy.warehouse)) as db:
        db.execute("DELETE FROM chat_history.messages")
    assert demo_copy.rows(count) == [(0,)]
    assert demo.rows(count)[0][0] > 1000, "the world itself is untouched"


def test_a_postgres_copy_is_made_from_the_template_and_changes_only_itself(postgres_uri: str) -> None:
    postgres_sql(postgres_uri, "DROP DATABASE IF EXISTS world_probe", "CREATE DATABASE world_probe")
    template = database_uri(postgres_uri, "world_probe")
    postgres_sql(template, "CREATE TABLE t AS SELECT 1 AS one")
    copy = postgres_copy(template, "probe_copy")
    postgres_sql(copy, "INSERT INTO t VALUES (2)")
    assert postgres_sql(copy, "SELECT one FROM t ORDER BY one") == [(1,), (2,)]
    assert postgres_sql(template, "SELECT one FROM t") == [(1,)], "the template is untouched"


GROUPED = """
import pytest

@pytest.mark.xdist_group("world")
@pytest.mark.parametrize("n", range(6))
def test_in_a_world(n):
    pass
"""


def test_xdist_runs_the_tests_of_a_group_on_one_worker(tmp_path: Path) -> None:
    """``make test``'s --dist loadgroup: broken silently by pytest 9.2 with pytest-xdist 3.8 (pinned off)."""
    (tmp_path / "test_grouped.py").write_text(GROUPED)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-n", "2", "--dist", "loadgroup", "-p", "no:cacheprovider", "-v"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout[-2000:]
    workers = {line.split()[0] for line in done.stdout.splitlines() if "PASSED" in line and "in_a_world" in line}
    assert len(workers) == 1, done.stdout[-2000:]
    assert "test_in_a_world[0]@world" in done.stdout
