"""``chatsync reset``: forget one provider's (or conversation's) incremental state, after confirmation."""

from __future__ import annotations

import argparse
import sys

from sources.common.errors import ConfigurationError

from ..engine.factory import locked_pipeline
from ..engine.target import ExitCode, Target
from ..warehouse.reset import reset
from .console import (
    stdout,
)


def reset_command(args: argparse.Namespace) -> int:
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
