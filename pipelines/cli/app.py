"""chatsync: scheduled incremental loads, backfills, erasure, the simulator and the demo.

Exit status: 0 ok, 1 a provider failed, 2 usage or configuration error, 3 partial (some
conversations skipped), 4 an audit found incomplete conversations,
75 another run holds the lock (skipped), 130/143 stopped by SIGINT/SIGTERM.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Sequence
from typing import Final

from sources.common.errors import ChatsyncError, StorageError

from ..engine.exit_codes import ExitCode
from ..engine.locking import RunLocked
from ..engine.registry import register_configured_secrets
from ..engine.workspace import keep_private, require_project
from .audit import audit_command
from .check import check_command
from .console import (
    console,
    route_dlt_logs,
    say_error,
    say_skipped,
    set_quiet,
    use_json_log,
    use_text_log,
)
from .forget import forget_command
from .insights import insights_command
from .load import load_command
from .parser import build_parser
from .report import report_command
from .reset import reset_command
from .status import status_command
from .topics import topics_command

# commands that bring their own configuration: the simulator, and the demo in its own folder
OUTSIDE_A_PROJECT = frozenset({"simulate", "demo"})


def _simulate(args: argparse.Namespace) -> int:
    from .simulate import serve  # the simulator is imported only when asked for: start-up cost

    return serve(args)


def _explore(args: argparse.Namespace) -> int:
    from .explore import explore_command  # the web stack is imported only when asked for: start-up cost

    return explore_command(args)


def _demo(args: argparse.Namespace) -> int:
    from .demo import run_demo  # as above

    return run_demo(args.dir, seed=args.seed, size=args.size)


COMMANDS: Final[dict[str, Callable[[argparse.Namespace], int]]] = {
    "run": load_command,
    "backfill": load_command,
    "check": check_command,
    "audit": audit_command,
    "insights": insights_command,
    "topics": topics_command,
    "explore": _explore,
    "status": status_command,
    "reset": reset_command,
    "forget": forget_command,
    "report": report_command,
    "simulate": _simulate,
    "demo": _demo,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``chatsync`` console script."""
    args = build_parser().parse_args(argv)
    if args.verbose:
        os.environ["RUNTIME__LOG_LEVEL"] = "INFO"
    set_quiet(args.quiet)
    use_json_log() if args.log_format == "json" else use_text_log()
    route_dlt_logs(args.verbose)
    keep_private()
    register_configured_secrets()
    try:
        if args.command not in OUTSIDE_A_PROJECT:
            require_project()
        return COMMANDS[args.command](args)
    except RunLocked as exc:
        say_skipped(str(exc))
        return ExitCode.LOCKED
    except StorageError as exc:  # the machine, not the settings: a failed run
        say_error(str(exc))
        return ExitCode.FAILED
    except ChatsyncError as exc:
        say_error(str(exc))
        return ExitCode.USAGE
    except KeyboardInterrupt:
        console.print("[red]interrupted[/]")
        return ExitCode.SIGINT
