"""The suite's own structure: worlds are private where a test writes, and xdist keeps a world's tests together."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import duckdb

from tests.worlds import Loaded, database_uri, postgres_copy


def test_a_private_copy_is_the_world_and_changes_only_itself(explored: Loaded, small: Loaded) -> None:
    count = "SELECT COUNT(*) FROM chat_history.messages"
    assert small.rows(count) == explored.rows(count), "a copy holds what the world holds"
    with duckdb.connect(str(small.warehouse)) as db:
        db.execute("DELETE FROM chat_history.messages")
    assert small.rows(count) == [(0,)]
    assert explored.rows(count)[0][0] > 1000, "the world itself is untouched"


def test_a_postgres_copy_is_made_from_the_template_and_changes_only_itself(postgres_uri: str) -> None:
    import psycopg2

    def run(uri: str, sql: str) -> list[tuple[object, ...]]:
        with psycopg2.connect(uri.replace("localhost/", "/", 1)) as connection, connection.cursor() as cursor:
            cursor.execute(sql)
            return cursor.fetchall() if cursor.description else []

    admin = psycopg2.connect(postgres_uri.replace("localhost/", "/", 1))
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute("DROP DATABASE IF EXISTS world_probe")
        cursor.execute("CREATE DATABASE world_probe")
    admin.close()
    template = database_uri(postgres_uri, "world_probe")
    run(template, "CREATE TABLE t AS SELECT 1 AS one")
    copy = postgres_copy(template, "probe_copy")
    run(copy, "INSERT INTO t VALUES (2)")
    assert run(copy, "SELECT one FROM t ORDER BY one") == [(1,), (2,)]
    assert run(template, "SELECT one FROM t") == [(1,)], "the template is untouched"


GROUPED = '''
import pytest

@pytest.mark.xdist_group("world")
@pytest.mark.parametrize("n", range(6))
def test_in_a_world(n):
    pass
'''


def test_xdist_runs_the_tests_of_a_group_on_one_worker(tmp_path: Path) -> None:
    """``make test``'s --dist loadgroup: broken silently by pytest 9.2 with pytest-xdist 3.8 (pinned off)."""
    (tmp_path / "test_grouped.py").write_text(GROUPED)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-n", "2", "--dist", "loadgroup", "-p", "no:cacheprovider", "-v"],
        capture_output=True, text=True, cwd=tmp_path, timeout=120,
    )
    assert done.returncode == 0, done.stdout[-2000:]
    workers = {line.split()[0] for line in done.stdout.splitlines() if "PASSED" in line and "in_a_world" in line}
    assert len(workers) == 1, done.stdout[-2000:]
    assert "test_in_a_world[0]@world" in done.stdout
