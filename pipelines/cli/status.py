"""``chatsync status``: each provider's last run and what the warehouse holds, in 100 columns."""

from __future__ import annotations

import argparse
import json
from typing import Any

from rich.table import Table

from sources.common.errors import ChatsyncError
from sources.common.wording import counted

from ..engine.exit_codes import ExitCode
from ..engine.failures import describe_failure
from ..engine.status import collect_status
from ..engine.target import describe_warehouse
from .console import (
    say_error,
    say_info,
    stdout,
)
from .parser import target_of

STATUS_COLUMNS = ("provider", "last run", "outcome", "messages", "conversations", "newest message")

WIDE_COLUMNS = (*STATUS_COLUMNS, "new / rewritten", "oldest message", "open sync errors")


def status_command(args: argparse.Namespace) -> int:
    """``chatsync status``: the last runs and the warehouse, in 100 columns (``--wide``, ``--json``)."""
    from rich import box

    target = target_of(args)
    try:
        found = collect_status(target)
    except ChatsyncError:
        raise
    except Exception as exc:  # e.g. DuckDB's file lock while a run writes: one line, not a traceback
        say_error(describe_failure("warehouse", exc) + " (a run may be writing the DuckDB file; try again after it)")
        return ExitCode.FAILED
    if args.json:
        print(json.dumps(found, indent=1, default=str))
        return ExitCode.OK
    columns = WIDE_COLUMNS if args.wide else STATUS_COLUMNS
    table = Table(
        title=f"chatsync status · {describe_warehouse(target)}", box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False
    )
    for column in columns:
        table.add_column(column, no_wrap=column in ("last run", "newest message", "oldest message"))
    for provider, item in found.items():
        table.add_row(*status_cells(provider, item)[: len(columns)])
    stdout.print(table)
    errors = {provider: item.get("open_sync_errors", 0) for provider, item in found.items()}
    for provider, open_errors in errors.items():
        if open_errors and not args.wide:
            say_info(
                f"{provider}: {counted(open_errors, 'conversation')} with open sync errors (chatsync status --wide)"
            )
    if any(item.get("messages") for item in found.values()):
        same = f" --warehouse {args.warehouse}" if args.warehouse else ""
        stdout.print(f"read them in your browser: chatsync explore{same}", highlight=False, soft_wrap=True)
    return ExitCode.OK


def status_cells(provider: str, item: dict[str, Any]) -> list[str]:
    """One provider's row of the wide table (the narrow one takes the first columns)."""
    run = item.get("last_run") or {}
    loaded, new = run.get("rows_loaded", {}).get("messages", 0), run.get("rows_new", {}).get("messages", 0)
    return [
        provider,
        run.get("finished_at", "never"),
        run.get("status", "-"),
        str(item.get("messages", 0)),
        str(item.get("conversations", 0)),
        str(item.get("newest_message") or "-"),
        f"{new} / {loaded - new}",
        str(item.get("oldest_message") or "-"),
        str(item.get("open_sync_errors", 0)),
    ]
