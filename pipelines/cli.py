"""chatsync: scheduled incremental loads, backfills, erasure, the simulator and the demo.

Exit status: 0 ok, 1 a provider failed, 2 usage or configuration error, 3 partial (some
conversations skipped), 75 another run holds the lock (skipped), 130/143 stopped by SIGINT/SIGTERM.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from datetime import UTC, date, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import dlt
from rich.markup import escape

from simulator.base import FEEDLOOP_SHAPES
from sources.common.errors import ChatsyncError, ConfigurationError
from sources.common.observer import RunObserver

from .analytics import refresh_views
from .console import (
    console,
    emit,
    live_progress,
    print_report,
    route_dlt_logs,
    say_error,
    say_info,
    say_skipped,
    set_quiet,
    stdout,
    use_json_log,
    use_text_log,
    warn,
)
from .destinations import SUPPORTED
from .locking import RunLocked
from .registry import PROVIDERS, configured_providers, register_configured_secrets, unconfigured_providers
from .runner import (
    DATASET_NAME,
    PIPELINE_NAME,
    ExitCode,
    RunReport,
    Target,
    describe_failure,
    describe_warehouse,
    execute,
    hashing_key,
    locked_pipeline,
    scrub,
)
from .status import record_runs
from .suppressions import SuppressionList
from .suppressions import enforce as enforce_suppressions
from .workspace import keep_private, require_project

# commands that bring their own configuration: the simulator, and the demo in its own folder
OUTSIDE_A_PROJECT = frozenset({"simulate", "demo"})


def _iso_date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {value!r}") from None


def _add_target_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--destination", default="duckdb", choices=SUPPORTED, help="warehouse (default duckdb)")
    parser.add_argument("--dataset", default=DATASET_NAME, help=f"dataset/schema (default {DATASET_NAME})")
    parser.add_argument(
        "--pipelines-dir", default=None, help="pipeline state (default .chatsync/pipelines, or DLT_DATA_DIR)"
    )


EXAMPLES = {
    "run": "chatsync run                      # every configured provider\n"
    "  chatsync run --provider owlbot --destination postgres",
    "backfill": "chatsync backfill --provider chatnode --since 2026-03-01 --until 2026-03-08",
    "forget": "chatsync forget --provider owlbot --user-id 5c1d2e3f-...\n"
    "  chatsync forget --provider chatnode --conversation 2qdrh8m-1772360528382",
    "report": "chatsync report --html report.html",
    "status": "chatsync status --json",
    "reset": "chatsync reset --provider owlbot --yes             # re-read every OwlBot session next run\n"
    "  chatsync reset --provider feedloop --conversation 08fc3e54-... --drop-data",
    "check": "chatsync check                    # run this first, after filling in .dlt/secrets.toml",
    "simulate": "chatsync simulate --port 8765 --faults 429=0.05,503=0.02",
    "demo": "chatsync demo --dir demo",
}
EXIT_CODES = (
    "exit status: 0 ok, 1 a provider failed, 2 usage or configuration error, 3 partial (some conversations\n"
    "skipped), 75 another run holds the lock, 130/143 stopped by SIGINT/SIGTERM"
)


def _add_global_options(parser: argparse.ArgumentParser, defaults: bool) -> None:
    """``-q``, ``-v`` and ``--log-format``: accepted before the command and after it.

    After it, an option left out must not reset what was given before it: a sub-command's
    defaults are ``SUPPRESS`` (absent), so only the top-level parser supplies defaults.
    """
    default: Any = {} if defaults else {"default": argparse.SUPPRESS}
    quiet = {"default": False} if defaults else default
    parser.add_argument(
        "-q", "--quiet", action="store_true", help="only warnings and errors: a clean run prints nothing", **quiet
    )
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="also dlt's own INFO lines and tracebacks", **quiet
    )
    parser.add_argument(
        "--log-format",
        choices=("text", "json"),
        help="json: one JSON object per event on stderr",
        **({"default": "text"} if defaults else default),
    )


def _command(commands: Any, name: str, help_text: str) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = commands.add_parser(
        name,
        help=help_text,
        description=help_text,
        epilog=f"example:\n  {EXAMPLES[name]}\n\n{EXIT_CODES}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _add_global_options(parser, defaults=False)
    return parser


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every sub-command."""
    parser = argparse.ArgumentParser(
        prog="chatsync",
        description="Sync chatbot conversation histories from provider APIs into a SQL warehouse.",
        epilog=f"example:\n  chatsync run\n\n{EXIT_CODES}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"chatsync {_version()}")
    _add_global_options(parser, defaults=True)
    commands = parser.add_subparsers(dest="command", required=True)

    run = _command(commands, "run", "incremental load of the configured providers (cron-safe)")
    run.add_argument(
        "--provider", action="append", choices=sorted(PROVIDERS), help="repeatable; default: every configured one"
    )
    _add_target_options(run)

    backfill = _command(commands, "backfill", "re-read a date window without moving cursors")
    backfill.add_argument("--provider", required=True, choices=sorted(PROVIDERS))
    backfill.add_argument("--since", required=True, type=_iso_date, help="first day (inclusive), YYYY-MM-DD")
    backfill.add_argument("--until", type=_iso_date, help="last boundary (exclusive), YYYY-MM-DD; default now")
    _add_target_options(backfill)

    simulate = _command(commands, "simulate", "serve the four provider APIs on loopback")
    simulate.add_argument("--port", type=int, default=8765)
    simulate.add_argument("--host", default="127.0.0.1")
    simulate.add_argument("--seed", type=int, default=7)
    simulate.add_argument("--size", type=int, default=2_000, help="approximate number of messages")
    simulate.add_argument("--bots", type=int, default=2, help="bots per provider")
    simulate.add_argument("--span-days", type=float, default=14.0, help="days of history, ending 2026-03-15")
    simulate.add_argument("--faults", default="", help="e.g. 429=0.05,503=0.02,reset=0.01,truncate=0.01")
    simulate.add_argument("--latency-ms", type=int, default=0, help="added to every provider response")
    simulate.add_argument("--feedloop-shape", default="role_content", choices=FEEDLOOP_SHAPES)

    check = _command(commands, "check", "prove each provider's setup works (URL, key, bots, conversations)")
    check.add_argument("--provider", action="append", choices=sorted(PROVIDERS), help="repeatable; default: configured")

    status = _command(commands, "status", "last run and warehouse contents per provider; no network")
    status.add_argument("--json", action="store_true", help="one JSON object instead of a table")
    status.add_argument("--wide", action="store_true", help="every column (about 190 characters wide)")
    _add_target_options(status)

    reset = _command(commands, "reset", "forget one provider's (or conversation's) incremental state")
    reset.add_argument("--provider", required=True, choices=sorted(PROVIDERS))
    reset.add_argument("--conversation", help="only this conversation (a session or lead id)")
    reset.add_argument("--drop-data", action="store_true", help="also delete exactly those rows from the warehouse")
    reset.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    reset.add_argument(
        "--pipeline",
        default=PIPELINE_NAME,
        help=f"whose state (default {PIPELINE_NAME}; a shard's: {PIPELINE_NAME}__<provider>__<shard>)",
    )
    _add_target_options(reset)

    forget = _command(commands, "forget", "erase one end user (or conversation); later runs never load it")
    forget.add_argument("--provider", choices=sorted(PROVIDERS), help="required to erase; filters --list")
    who = forget.add_mutually_exclusive_group(required=True)
    who.add_argument("--user-id", help="the end user's id as the provider sends it (example_ai, owlbot)")
    who.add_argument("--conversation", help="one conversation id")
    who.add_argument("--list", action="store_true", help="the suppressions in force: provider, kind, when, hash")
    who.add_argument("--undo", metavar="HASH", help="lift one suppression (its hash, from --list)")
    forget.add_argument("--yes", action="store_true", help="--undo without asking")
    _add_target_options(forget)

    report = _command(commands, "report", "summary of the warehouse; --html writes an offline report")
    report.add_argument("--html", metavar="PATH", help="also write a self-contained HTML report with charts")
    _add_target_options(report)

    demo = _command(commands, "demo", "simulator, full load, clock advance, incremental load, report")
    demo.add_argument("--dir", default="demo", help="where the demo's DuckDB file and state go")
    demo.add_argument("--seed", type=int, default=7)
    demo.add_argument("--size", type=int, default=5_000)
    return parser


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
        if args.command == "simulate":
            from .simulate import serve

            return serve(args)
        if args.command == "demo":
            from .demo import run_demo

            return run_demo(args.dir, seed=args.seed, size=args.size)
        if args.command == "report":
            return _report(args)
        if args.command == "forget":
            return _forget(args)
        if args.command == "check":
            return _check(args)
        if args.command == "status":
            return _status(args)
        if args.command == "reset":
            return _reset(args)
        return _load(args)
    except RunLocked as exc:
        say_skipped(str(exc))
        return ExitCode.LOCKED
    except ChatsyncError as exc:
        say_error(str(exc))
        return ExitCode.USAGE
    except KeyboardInterrupt:
        console.print("[red]interrupted[/]")
        return ExitCode.SIGINT


def _load(args: argparse.Namespace) -> int:
    target = Target(destination=args.destination, dataset=args.dataset, pipelines_dir=args.pipelines_dir)
    if args.command == "backfill":
        if args.until and args.until <= args.since:
            raise ConfigurationError("--until must be after --since")
        providers, window = [args.provider], (args.since, args.until)
    else:
        providers, window = args.provider or configured_providers(), None
        if not args.provider:
            for name in unconfigured_providers():
                say_info(f"{name} not configured (no api_key, or the example placeholder); skipped")
    if not providers:
        raise ConfigurationError(
            "no provider configured: set [sources.<provider>] api_key in .dlt/secrets.toml, "
            "or SOURCES__<PROVIDER>__API_KEY (see README, first run)"
        )
    emit("run_start", f"{args.command}: {', '.join(providers)}", command=args.command, providers=providers)
    report = run_with_progress(target, providers, window, quiet=args.quiet or args.log_format == "json")
    record_runs(report, target)
    print_report(report, "chatsync backfill" if window else "chatsync run")
    emit("wrote", describe_target(target))
    return report.exit_code()


def _reset(args: argparse.Namespace) -> int:
    from .reset import reset

    if args.conversation is not None and not args.conversation.strip():
        raise ConfigurationError("reset: the conversation id is empty; nothing reset")
    what = f"{args.provider} conversation {args.conversation}" if args.conversation else f"all of {args.provider}"
    action = "forget the incremental state" + (" and delete the rows" if args.drop_data else "")
    if not args.yes:
        if not sys.stdin.isatty():
            raise ConfigurationError(f"reset would {action} of {what}; add --yes to do it without a terminal")
        if input(f"{action} of {what}? Other providers are not touched. [y/N] ").strip().lower() not in ("y", "yes"):
            stdout.print("reset: nothing done")
            return ExitCode.OK
    target = Target(
        destination=args.destination,
        dataset=args.dataset,
        pipelines_dir=args.pipelines_dir,
        pipeline_name=args.pipeline,
    )
    with locked_pipeline(target) as pipeline:
        done = reset(pipeline, args.provider, args.conversation, args.drop_data)
    deleted = ", ".join(f"{count} {table}" for table, count in done.deleted.items())
    stdout.print(
        f"reset {what}: {done.state_entries} state entries forgotten"
        + (f", deleted {deleted}" if done.deleted else "")
        + (f", {done.markers_cleared} change markers cleared" if done.markers_cleared else "")
        + "; the next run re-reads it",
        highlight=False,
        soft_wrap=True,
    )
    return ExitCode.OK


STATUS_COLUMNS = ("provider", "last run", "outcome", "messages", "conversations", "newest message")
WIDE_COLUMNS = (*STATUS_COLUMNS, "new / rewritten", "oldest message", "open sync errors")


def _status(args: argparse.Namespace) -> int:
    from rich import box
    from rich.table import Table

    from .status import collect

    target = _target(args)
    try:
        found = collect(target)
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
        table.add_row(*_status_cells(provider, item)[: len(columns)])
    stdout.print(table)
    errors = {provider: item.get("open_sync_errors", 0) for provider, item in found.items()}
    for provider, open_errors in errors.items():
        if open_errors and not args.wide:
            say_info(f"{provider}: {open_errors} conversation(s) with open sync errors (chatsync status --wide)")
    return ExitCode.OK


def _status_cells(provider: str, item: dict[str, Any]) -> list[str]:
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


def _check(args: argparse.Namespace) -> int:
    from .check import check_provider

    providers = args.provider or configured_providers()
    if not providers:
        raise ConfigurationError(
            "no provider configured: set [sources.<provider>] api_key in .dlt/secrets.toml, "
            "or SOURCES__<PROVIDER>__API_KEY (see README, first run)"
        )
    results = [check_provider(provider) for provider in providers]
    for ok, line, warnings in results:
        if ok:
            stdout.print(f"ok: {escape(line)}", highlight=False, soft_wrap=True)
        else:
            say_error(line)
        for warning in warnings:
            warn(warning)
    return ExitCode.OK if all(ok for ok, _, _ in results) else ExitCode.FAILED


def _forget(args: argparse.Namespace) -> int:
    from .forget import forget

    if args.list:
        return _list_suppressions(args)
    if args.undo is not None:
        return _undo_suppression(args)
    if args.provider is None:
        raise ConfigurationError("forget needs --provider with --user-id or --conversation")
    who = "end user" if args.user_id is not None else "conversation"
    value = args.user_id if args.user_id is not None else args.conversation
    if not value.strip():
        raise ConfigurationError(f"forget: the {who} id is empty; nothing recorded")
    target = _target(args)
    with locked_pipeline(target) as pipeline:
        key = hashing_key(target, warn)
        erasure = forget(
            pipeline,
            args.provider,
            key,
            user_id=args.user_id,
            conversation_id=args.conversation,
            pipelines_dir=target.resolved().pipelines_dir,
        )
    if erasure.nothing:
        stdout.print(
            f"{args.provider}: that {who} matches nothing in {describe_warehouse(target)}: nothing erased; "
            "the suppression is recorded anyway, so no run into any destination loads it "
            "(chatsync forget --list shows it, --undo lifts it)",
            highlight=False,
            soft_wrap=True,
        )
        return ExitCode.OK
    counts = ", ".join(f"{count} {table}" for table, count in erasure.deleted.items())
    stdout.print(
        f"{args.provider}: erased that {who}: {counts} deleted; suppression recorded (keyed hashes only), "
        "and applied to every other destination at its next run",
        highlight=False,
        soft_wrap=True,
    )
    return ExitCode.OK


def _list_suppressions(args: argparse.Namespace) -> int:
    from rich import box
    from rich.table import Table

    entries = SuppressionList(_target(args).resolved().pipelines_dir).active(args.provider)
    table = Table(title=f"suppressions in force: {len(entries)}", box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    for column in ("provider", "kind", "recorded", "hash"):
        table.add_column(column, no_wrap=True)
    for entry in entries:
        table.add_row(entry.provider, entry.kind, entry.created_at, entry.key_hash)
    stdout.print(table)
    return ExitCode.OK


def _undo_suppression(args: argparse.Namespace) -> int:
    target = _target(args)
    project = SuppressionList(target.resolved().pipelines_dir)
    found = [e for e in project.find(args.undo.strip()) if args.provider in (None, e.provider)]
    if not args.undo.strip() or not found:
        raise ConfigurationError(f"forget --undo: no suppression in force has the hash {args.undo!r} (forget --list)")
    described = ", ".join(f"{e.provider} {e.kind} {e.key_hash}" for e in found)
    if not args.yes:
        if not sys.stdin.isatty():
            raise ConfigurationError(f"forget --undo would lift {described}; add --yes to do it without a terminal")
        if input(f"lift {described}? Later runs may load its data again. [y/N] ").strip().lower() not in ("y", "yes"):
            stdout.print("forget --undo: nothing done")
            return ExitCode.OK
    for entry in found:
        project.undo(entry)
    project.save()
    with locked_pipeline(target) as pipeline:
        enforce_suppressions(pipeline, target.resolved().pipelines_dir, hashing_key(target, warn))
    stdout.print(
        f"lifted {described}; new data is loaded again by later runs, while rows erased earlier come back "
        "only by a reset or backfill of that provider",
        highlight=False,
        soft_wrap=True,
    )
    return ExitCode.OK


def _target(args: argparse.Namespace) -> Target:
    return Target(destination=args.destination, dataset=args.dataset, pipelines_dir=args.pipelines_dir)


def _report(args: argparse.Namespace) -> int:
    target = Target(destination=args.destination, dataset=args.dataset, pipelines_dir=args.pipelines_dir)
    return write_report(target, args.html)


def write_report(target: Target, html_path: str | None) -> int:
    """Prints the terminal summary and, with ``html_path``, writes the HTML report.

    It refreshes the views, so it takes the run lock like a load (DuckDB allows one writer): while
    a run is in progress it exits 75 at once.

    Args:
        target: The warehouse to read.
        html_path: Where to write the HTML report, if anywhere.

    Returns:
        The exit status.

    Raises:
        RunLocked: A run holds the lock.
    """
    from .console import stdout
    from .report import collect, print_report, write_html

    with locked_pipeline(target) as pipeline:
        if not refresh_views(pipeline):
            raise ConfigurationError(f"nothing loaded yet in dataset {target.dataset!r}: run `chatsync run` first")
        data = collect(pipeline)
    print_report(data, stdout)
    if html_path:
        written = write_html(data, Path(html_path), target.dataset, datetime.now(UTC))
        stdout.print(f"report: [bold]{written}[/]")
    return ExitCode.OK


def run_with_progress(
    target: Target, providers: list[str], window: tuple[date, date | None] | None = None, quiet: bool = False
) -> RunReport:
    """Runs the providers under the run lock, with a live progress display unless ``quiet``.

    Raises:
        RunLocked: Another run holds the lock.
    """
    observers: list[RunObserver] = []
    if quiet:
        return execute(target, providers, backfill=window, on_repair=warn)
    with live_progress(observers):
        return execute(target, providers, backfill=window, on_start=observers.append, on_repair=warn)


def describe_target(target: Target) -> str:
    """Where a run wrote: the destination, its file or database (credentials masked), the dataset."""
    resolved = target.resolved()
    if resolved.destination == "duckdb":
        where = f"duckdb {resolved.duckdb_path}"
    else:
        credentials: Any = dlt.secrets.get(f"destination.{resolved.destination}.credentials")
        where = f"{resolved.destination} {scrub(str(credentials)) if isinstance(credentials, str) else ''}".strip()
    state = resolved.pipelines_dir or "DLT_DATA_DIR/pipelines"
    return f"{where}, dataset {resolved.dataset}; pipeline state in {state}"


def _version() -> str:
    try:
        return version("chatsync")
    except PackageNotFoundError:
        return "unknown"


if __name__ == "__main__":
    sys.exit(main())
