"""The ``chatsync`` argument parser: every command, its options, examples and exit codes."""

from __future__ import annotations

import argparse
import difflib
import re
from datetime import date
from typing import Any, NoReturn

from simulator.options import FEEDLOOP_SHAPES, HEADER_STYLES
from sources.common.errors import ConfigurationError
from sources.registry import SPECS

from ..engine.destinations import SUPPORTED
from ..engine.registry import PROVIDERS
from ..engine.target import DATASET_NAME, PIPELINE_NAME, Target
from .version import chatsync_version

EXPLORE_PORT = 8765  # the explorer and the simulator default to different ports: both can run at once
SIMULATE_PORT = 8766


def iso_date(value: str) -> date:
    """A ``YYYY-MM-DD`` argument."""
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {value!r}") from None


def percentage(value: str) -> float:
    """A ``--sample`` argument: more than 0, at most 100."""
    try:
        number = float(value)
    except ValueError:
        number = -1.0
    if not 0 < number <= 100:
        raise argparse.ArgumentTypeError(f"not a percentage in (0, 100]: {value!r}")
    return number


def add_target_options(parser: argparse.ArgumentParser, nested: bool = False) -> None:
    """``--destination``, ``--warehouse``, ``--dataset`` and ``--pipelines-dir``: where a command reads or loads.

    ``nested``: the parser is an action under a command that has them (``chatsync topics rename``):
    accepted after the action too, and an option left out there does not reset one given before it.
    """

    def default(value: Any) -> Any:
        return argparse.SUPPRESS if nested else value

    parser.add_argument(
        "--destination", default=default("duckdb"), choices=SUPPORTED, help="warehouse (default duckdb)"
    )
    parser.add_argument(
        "--warehouse",
        metavar="PATH",
        default=default(None),
        help="the DuckDB file (default [destination.duckdb] credentials, else chatsync.duckdb in the project)",
    )
    parser.add_argument("--dataset", default=default(DATASET_NAME), help=f"dataset/schema (default {DATASET_NAME})")
    parser.add_argument(
        "--pipelines-dir", default=default(None), help="pipeline state (default .chatsync/pipelines, or DLT_DATA_DIR)"
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
    "audit": "chatsync audit                    # quick: what each API gives cheaply\n"
    "  chatsync audit --full --sample 10 --repair",
    "topics": "chatsync topics                                   # topics, largest first\n"
    "  chatsync topics rename t3 'Warranty claims'       # the name every surface shows\n"
    "  chatsync topics merge t7 t9 --into t3             # one topic; later conversations follow\n"
    "  chatsync topics reset t3                          # back to the model's topic",
    "insights": "chatsync insights                 # what changed since the last run\n"
    "  chatsync insights --refit --json  # re-cluster topics from scratch (ids kept where topics survive)",
    "explore": "chatsync explore                  # http://127.0.0.1:8765/ in your browser\n"
    '  chatsync explore --host 0.0.0.0 --token "$(openssl rand -hex 16)"',
    "check": "chatsync check                    # run this first, after filling in .dlt/secrets.toml",
    "simulate": "chatsync simulate --port 8766 --faults 429=0.05,503=0.02",
    "demo": "chatsync demo --dir demo",
}

EXIT_CODES = (
    "exit status: 0 ok, 1 a provider failed, 2 usage or configuration error, 3 partial (some conversations\n"
    "skipped), 4 audit found incomplete conversations, 75 another run holds the lock, 130/143 stopped by\n"
    "SIGINT/SIGTERM"
)


def add_global_options(parser: argparse.ArgumentParser, defaults: bool) -> None:
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


CODE_MEANINGS: dict[int, str] = {
    0: "0 ok",
    1: "1 failed",
    2: "2 usage or configuration error",
    3: "3 partial (some conversations skipped)",
    4: "4 incomplete conversations found",
    75: "75 another run holds the lock",
    130: "130/143 stopped by SIGINT/SIGTERM",
}
# The exit codes each command can return (130 stands for 130 and 143).
COMMAND_CODES: dict[str, tuple[int, ...]] = {
    "run": (0, 1, 2, 3, 75, 130),
    "backfill": (0, 1, 2, 3, 75, 130),
    "check": (0, 1, 2, 130),
    "audit": (0, 1, 2, 4, 75, 130),
    "insights": (0, 1, 2, 75, 130),
    "topics": (0, 1, 2, 75, 130),
    "explore": (0, 2, 130),
    "status": (0, 2, 130),
    "reset": (0, 1, 2, 75, 130),
    "forget": (0, 1, 2, 75, 130),
    "report": (0, 2, 75, 130),
    "simulate": (0, 2, 130),
    "demo": (0, 1, 2, 3, 4, 130),
}


def exit_codes(command: str) -> str:
    """``exit status: 0 ok, …``: only the codes ``command`` can return."""
    return "exit status: " + ", ".join(CODE_MEANINGS[code] for code in COMMAND_CODES[command])


def add_command(commands: Any, name: str, help_text: str) -> argparse.ArgumentParser:
    """A sub-command with its example, its exit codes and the global options."""
    parser: argparse.ArgumentParser = commands.add_parser(
        name,
        help=help_text,
        description=help_text,
        epilog=f"example:\n  {EXAMPLES[name]}\n\n{exit_codes(name)}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_global_options(parser, defaults=False)
    return parser


class SuggestingParser(argparse.ArgumentParser):
    """argparse, with "did you mean …?" for a mistyped command, choice or option."""

    def error(self, message: str) -> NoReturn:
        """argparse's error, with the closest known spelling when there is one."""
        super().error(message + _suggestion(self, message))


def _suggestion(parser: argparse.ArgumentParser, message: str) -> str:
    choice = re.search(r"invalid choice: '([^']*)' \(choose from (.*)\)", message)
    if choice:
        known = [c.strip(" '") for c in choice.group(2).split(",")]
        return _closest(choice.group(1), known)
    unknown = re.search(r"unrecognized arguments: (\S+)", message)
    if unknown:
        options = [flag for action in parser._actions for flag in action.option_strings]
        for sub in parser._subparsers._group_actions if parser._subparsers else []:
            for child in getattr(sub, "choices", {}).values():
                options += [flag for action in child._actions for flag in action.option_strings]
        return _closest(unknown.group(1).split("=")[0], options)
    return ""


def _closest(word: str, known: list[str]) -> str:
    found = difflib.get_close_matches(word, known, n=1, cutoff=0.6)
    return f"; did you mean {found[0]!r}?" if found else ""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every sub-command."""
    parser = SuggestingParser(
        prog="chatsync",
        description="Sync chatbot conversation histories from provider APIs into a SQL warehouse.",
        epilog=f"example:\n  chatsync run\n\n{EXIT_CODES}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"chatsync {chatsync_version()}")
    add_global_options(parser, defaults=True)
    commands = parser.add_subparsers(dest="command", required=True, parser_class=SuggestingParser)

    run = add_command(commands, "run", "incremental load of the configured providers (cron-safe)")
    run.add_argument(
        "--provider", action="append", choices=sorted(PROVIDERS), help="repeatable; default: every configured one"
    )
    add_target_options(run)

    backfill = add_command(commands, "backfill", "re-read a date window without moving cursors")
    backfill.add_argument("--provider", required=True, choices=sorted(PROVIDERS))
    backfill.add_argument("--since", required=True, type=iso_date, help="first day (inclusive), YYYY-MM-DD")
    backfill.add_argument("--until", type=iso_date, help="last boundary (exclusive), YYYY-MM-DD; default now")
    add_target_options(backfill)

    simulate = add_command(commands, "simulate", "serve the four provider APIs on loopback")
    simulate.add_argument(
        "--port", type=int, default=SIMULATE_PORT, help=f"default {SIMULATE_PORT}; 0 picks a free port and prints it"
    )
    simulate.add_argument("--host", default="127.0.0.1")
    simulate.add_argument("--seed", type=int, default=7)
    simulate.add_argument("--size", type=int, default=2_000, help="approximate number of messages")
    simulate.add_argument("--bots", type=int, default=2, help="bots per provider")
    simulate.add_argument("--span-days", type=float, default=14.0, help="days of history, ending 2026-03-15")
    simulate.add_argument("--faults", default="", help="e.g. 429=0.05,503=0.02,reset=0.01,truncate=0.01")
    simulate.add_argument("--latency-ms", type=int, default=0, help="added to every provider response")
    simulate.add_argument("--feedloop-shape", default="role_content", choices=FEEDLOOP_SHAPES)
    simulate.add_argument(
        "--rate-limit",
        metavar="RATE",
        help="per API key: a token bucket (25/s, 1500/min, 25/s,burst=50) or fixed windows (25/s,window=10)",
    )
    simulate.add_argument(
        "--rate-limit-headers",
        default="x",
        choices=HEADER_STYLES,
        help="x: X-RateLimit-*; ietf: RateLimit(-Policy); none: only Retry-After on a 429",
    )
    simulate.add_argument(
        "--truth", metavar="PATH", help="write the planted truth (intent, language, close, outcome) as JSON lines; exit"
    )

    check = add_command(commands, "check", "prove each provider's setup works (URL, key, bots, conversations)")
    check.add_argument("--provider", action="append", choices=sorted(PROVIDERS), help="repeatable; default: configured")

    audit = add_command(commands, "audit", "prove the warehouse holds what each provider holds; --repair fixes it")
    audit.add_argument("--provider", action="append", choices=sorted(PROVIDERS), help="repeatable; default: configured")
    audit.add_argument("--full", action="store_true", help="re-read conversations whole, compare message by message")
    audit.add_argument("--sample", type=percentage, metavar="PCT", help="with --full: PCT %% of them, at random")
    audit.add_argument("--repair", action="store_true", help="re-read incomplete conversations, audit again")
    audit.add_argument("--json", action="store_true", help="one JSON object instead of a table")
    add_target_options(audit)

    insights = add_command(commands, "insights", "topics, outcomes, sentiment and knowledge gaps of the conversations")
    insights.add_argument(
        "--provider", action="append", choices=sorted(PROVIDERS), help="repeatable; recompute only these"
    )
    insights.add_argument("--refit", action="store_true", help="re-cluster topics from scratch, keeping matched ids")
    insights.add_argument("--json", action="store_true", help="one JSON object instead of lines")
    add_target_options(insights)

    topics = add_command(commands, "topics", "list topics; rename, merge or reset them (kept in the warehouse)")
    topics.add_argument("--json", action="store_true", help="one JSON list instead of a table")
    add_target_options(topics)
    actions = topics.add_subparsers(dest="action", metavar="ACTION")
    rename = actions.add_parser("rename", help="name a topic: every surface shows the name")
    add_target_options(rename, nested=True)
    rename.add_argument("topic", metavar="TOPIC_ID")
    rename.add_argument("name", metavar="NAME")
    merge = actions.add_parser("merge", help="merge topics into one (later conversations follow)")
    add_target_options(merge, nested=True)
    merge.add_argument("topics", metavar="TOPIC_ID", nargs="+")
    merge.add_argument("--into", required=True, metavar="TOPIC_ID", help="the topic they join")
    reset = actions.add_parser("reset", help="drop a topic's name and merges")
    add_target_options(reset, nested=True)
    reset.add_argument("topic", metavar="TOPIC_ID")

    explore = add_command(commands, "explore", "read, search, filter and export conversations in the browser")
    explore.add_argument(
        "--port", type=int, default=EXPLORE_PORT, help=f"default {EXPLORE_PORT}; 0 picks a free port and prints it"
    )
    explore.add_argument("--host", default="127.0.0.1", help="any other than loopback needs --token")
    explore.add_argument("--token", help="required by every request: ?token=… or Authorization: Bearer …")
    add_target_options(explore)

    status = add_command(commands, "status", "last run and warehouse contents per provider; no network")
    status.add_argument("--json", action="store_true", help="one JSON object instead of a table")
    status.add_argument("--wide", action="store_true", help="every column (about 190 characters wide)")
    add_target_options(status)

    reset = add_command(commands, "reset", "forget one provider's (or conversation's) incremental state")
    reset.add_argument("--provider", required=True, choices=sorted(PROVIDERS))
    reset.add_argument("--conversation", help="only this conversation (a session or lead id)")
    reset.add_argument("--drop-data", action="store_true", help="also delete exactly those rows from the warehouse")
    reset.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    reset.add_argument(
        "--pipeline",
        default=PIPELINE_NAME,
        help=f"whose state (default {PIPELINE_NAME}; a shard's: {PIPELINE_NAME}__<provider>__<shard>)",
    )
    add_target_options(reset)

    forget = add_command(commands, "forget", "erase one end user (or conversation); later runs never load it")
    forget.add_argument("--provider", choices=sorted(PROVIDERS), help="required to erase; filters --list")
    who = forget.add_mutually_exclusive_group(required=True)
    with_users = ", ".join(name for name, spec in SPECS.items() if spec.end_user_ids)
    who.add_argument("--user-id", help=f"the end user's id as the provider sends it ({with_users})")
    by_email = ", ".join(name for name, spec in SPECS.items() if spec.find_users is not None)
    who.add_argument("--email", help=f"the end user's e-mail address, looked up at the provider ({by_email})")
    who.add_argument("--conversation", help="one conversation id")
    who.add_argument("--list", action="store_true", help="the suppressions in force: provider, kind, when, hash")
    who.add_argument("--undo", metavar="HASH", help="lift one suppression (its hash, from --list)")
    forget.add_argument("--yes", action="store_true", help="--undo without asking")
    add_target_options(forget)

    report = add_command(commands, "report", "summary of the warehouse; --html writes an offline report")
    report.add_argument("--html", metavar="PATH", help="also write a self-contained HTML report with charts")
    add_target_options(report)

    demo = add_command(commands, "demo", "simulator, full load, clock advance, incremental load, report")
    demo.add_argument("--dir", default="demo", help="where the demo's DuckDB file and state go")
    demo.add_argument("--seed", type=int, default=7)
    demo.add_argument("--size", type=int, default=5_000)
    return parser


def subcommands_help(parser: argparse.ArgumentParser) -> dict[str, str]:
    """Each sub-command's ``--help`` text."""
    assert parser._subparsers is not None
    action = parser._subparsers._group_actions[0]
    return {name: child.format_help() for name, child in getattr(action, "choices", {}).items()}


def target_of(args: argparse.Namespace, **overrides: str) -> Target:
    """The target a command's ``--destination``, ``--warehouse``, ``--dataset`` and ``--pipelines-dir`` name.

    Args:
        args: The parsed command line.
        **overrides: Other ``Target`` fields, e.g. ``pipeline_name``.

    Raises:
        ConfigurationError: ``--warehouse`` with a destination other than DuckDB.
    """
    if args.warehouse and args.destination != "duckdb":
        raise ConfigurationError(
            f"--warehouse names a DuckDB file; {args.destination} is set by [destination.{args.destination}] "
            f"credentials, or DESTINATION__{args.destination.upper()}__CREDENTIALS"
        )
    return Target(
        destination=args.destination,
        dataset=args.dataset,
        pipelines_dir=args.pipelines_dir,
        duckdb_path=args.warehouse,
        **overrides,
    )
