"""The docs tell the truth: generated pages match what they are made from, SQL examples run."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb
import pytest

from pipelines.cli.parser import build_parser
from pipelines.cli.reference import PAGES, page, subcommands
from tests.worlds import Loaded

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
SQL_BLOCK = re.compile(r"```sql\n(.*?)```", re.S)


@pytest.mark.parametrize("name", sorted(PAGES))
def test_generated_pages_match_what_they_are_made_from(name: str) -> None:
    assert (DOCS / name).read_text(encoding="utf-8") == page(name), f"run `make docs-reference`: docs/{name} drifted"


def test_every_command_and_option_is_in_the_cli_reference() -> None:
    reference = (DOCS / "cli-reference.md").read_text(encoding="utf-8")
    commands = subcommands(build_parser())
    assert len(commands) >= 9
    for name, command in commands.items():
        section = reference.split(f"## chatsync {name}\n", 1)[1].split("\n## ", 1)[0]
        for option in command._actions:
            for flag in option.option_strings:
                assert flag in section, f"chatsync {name} {flag} is undocumented"


def test_the_readme_is_short_and_every_docs_link_resolves() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(readme.splitlines()) <= 150
    for target in re.findall(r"\]\((docs/[^)#]+)", readme):
        assert (ROOT / target).is_file(), target
    assert "../shared" not in readme + "".join(p.read_text() for p in DOCS.rglob("*.md"))


def sql_examples() -> list[tuple[str, str]]:
    return [
        (f"{path.relative_to(DOCS)}#{n}", sql.strip().rstrip(";"))
        for path in sorted(DOCS.rglob("*.md"))
        for n, sql in enumerate(SQL_BLOCK.findall(path.read_text(encoding="utf-8")))
    ]


def test_the_docs_have_sql_examples() -> None:
    assert len(sql_examples()) >= 3


@pytest.mark.parametrize(("where", "sql"), sql_examples(), ids=[w for w, _ in sql_examples()])
def test_every_sql_example_runs_on_the_demo_warehouse(demo: Loaded, where: str, sql: str) -> None:
    with duckdb.connect(str(demo.warehouse), read_only=True) as con:
        columns = [d[0] for d in con.execute(sql).description]
        rows = con.fetchall()
    if "sync_errors" not in sql:  # a clean load skipped nothing
        assert rows, f"{where} returns nothing on the demo"
    if len(rows) > 1:  # the reader compares what they see with the docs: the order must not be DuckDB's whim
        assert "ORDER BY" in sql.upper() or "GROUP BY ALL ORDER BY ALL" in sql.upper(), f"{where} has no ORDER BY"
    if "median_first_reply_s" in columns:  # the figure the docs put first must be a plausible reply time
        seconds = [row[columns.index("median_first_reply_s")] for row in rows]
        assert all(s is None or 0 <= s < 600 for s in seconds), seconds


def test_the_analytics_page_and_the_report_give_the_same_containment(demo: Loaded) -> None:
    """Both weight by conversation (with a user message); the page's query is the report's figure."""
    from pipelines.report.data import _KPIS

    (sql,) = [sql for where, sql in sql_examples() if where.startswith("analytics.md") and "containment" in sql]
    with duckdb.connect(str(demo.warehouse), read_only=True) as con:
        page_rows = {(p, b): c for p, b, _, c, _ in con.execute(sql).fetchall()}
        con.execute("SET schema = 'chat_history'")
        report_rows = {(p, b): c for p, b, _, c, *_ in con.execute(_KPIS).fetchall()}
    assert page_rows.keys() == report_rows.keys()
    for key, containment in report_rows.items():
        assert (page_rows[key] is None) == (containment is None), key
        if containment is not None:
            assert page_rows[key] == round(containment, 3), key


def test_the_command_synopsis_names_every_command_and_option() -> None:
    """docs/cli.md's synopsis drifts from --help the day a command or an option is added: this catches it."""
    synopsis = (DOCS / "cli.md").read_text(encoding="utf-8").split("```bash\n", 1)[1].split("```", 1)[0]
    lines = [(line.split()[1], line) for line in synopsis.splitlines() if line.startswith("chatsync ")]
    for name, command in subcommands(build_parser()).items():
        shown = " ".join(line for key, line in lines if key == name)
        assert shown, f"chatsync {name} is missing from the synopsis in docs/cli.md"
        for option in command._actions:
            flags = [f for f in option.option_strings if f.startswith("--") and f not in GLOBAL_FLAGS]
            if "[target options]" in shown and set(flags) <= TARGET_FLAGS:
                continue
            if flags and not any(flag in shown for flag in flags):
                raise AssertionError(f"chatsync {name} {flags[0]} is missing from the synopsis in docs/cli.md")


GLOBAL_FLAGS = {"--help", "--quiet", "--verbose", "--log-format"}

TARGET_FLAGS = {"--destination", "--warehouse", "--dataset", "--pipelines-dir"}


def test_the_orchestration_page_names_every_job_and_schedule() -> None:
    from pipelines.orchestrators.dagster import constants

    page = (DOCS / "orchestration.md").read_text(encoding="utf-8")
    jobs = [v for k, v in vars(constants).items() if k.endswith("_JOB") and isinstance(v, str)]
    assert len(jobs) >= 3
    for job in jobs:
        assert f"`{job}`" in page, f"{job} is not on the orchestration page"
