"""``chatsync topics``: list topics; rename, merge and reset them (edits kept in the warehouse)."""

from __future__ import annotations

import argparse
import json

from rich.table import Table

from sources.common.errors import ConfigurationError

from ..engine.destinations import loader_file_format
from ..engine.exit_codes import ExitCode
from ..engine.factory import build_pipeline, locked_pipeline
from ..engine.failures import describe_failure
from ..engine.target import insights_target
from ..insights.edits import check_known, edit_row, save_edits, topic_list
from ..insights.settings import InsightsSettings
from .console import emit, say_error, stdout
from .parser import target_of


def topics_command(args: argparse.Namespace) -> int:
    """Lists topics, or applies one edit and refreshes the insights so every surface shows it.

    Edits take the run lock, as other writers do (exit 75 while a run holds it).

    Returns:
        0; 1 when the refresh failed; 2 for an unknown topic id or no topics yet.
    """
    target = target_of(args)
    with locked_pipeline(target) as pipeline:
        topics = topic_list(pipeline)
        if args.action is None:
            _print(topics, args.json)
            return ExitCode.OK
        known = [str(t["topic_id"]) for t in topics]
        edits = _edits(args, known)
        from ..insights.refresh import refresh_insights  # heavy: scikit-learn and the models

        writer = build_pipeline(insights_target(target))  # under the lock taken above: its own small state
        try:
            save_edits(writer, edits, loader_file_format(target.destination))
            summary = refresh_insights(
                writer, InsightsSettings.from_config(), file_format=loader_file_format(target.destination)
            )
        except Exception as exc:
            writer.abort_packages()
            say_error(describe_failure("topics", exc))
            return ExitCode.FAILED
    emit("topics", _said(args))
    emit("insights", summary.describe())
    return ExitCode.OK


def _edits(args: argparse.Namespace, known: list[str]) -> list[dict[str, object]]:
    if args.action == "rename":
        check_known([args.topic], known)
        if not args.name.strip():
            raise ConfigurationError("a topic's name cannot be empty (chatsync topics reset drops a name)")
        return [edit_row(args.topic, name=args.name.strip())]
    if args.action == "merge":
        check_known([*args.topics, args.into], known)
        if args.into in args.topics:
            raise ConfigurationError(f"cannot merge {args.into} into itself")
        return [edit_row(topic, merged_into=args.into) for topic in args.topics]
    check_known([args.topic], known)
    return [edit_row(args.topic)]


def _said(args: argparse.Namespace) -> str:
    if args.action == "rename":
        return f"{args.topic} is named {args.name.strip()!r}"
    if args.action == "merge":
        return f"{', '.join(args.topics)} merged into {args.into}"
    return f"{args.topic}: name and merges dropped"


def _print(topics: list[dict[str, object]], as_json: bool) -> None:
    if as_json:  # asked for: printed under -q too
        print(json.dumps(topics, indent=1, default=str))
        return
    table = Table("topic", "label", "conversations", "failed", "languages", box=None, header_style="bold")
    for topic in topics:
        conversations = int(str(topic["conversations"]))
        failed = int(str(topic["failed"]))
        share = f"{failed:,} ({100 * failed / conversations:.0f}%)" if conversations else "0"
        table.add_row(str(topic["topic_id"]), str(topic["label"]), f"{conversations:,}", share, str(topic["languages"]))
    stdout.print(table)
