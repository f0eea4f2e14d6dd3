"""``chatsync reset``: forget one provider's (or conversation's) incremental state, after confirmation."""

from __future__ import annotations

import argparse

from sources.common.errors import ConfigurationError

from ..engine.exit_codes import ExitCode
from ..engine.factory import locked_pipeline
from ..warehouse.reset import reset
from .console import (
    confirmed,
    stdout,
)
from .parser import target_of


def reset_command(args: argparse.Namespace) -> int:
    """``chatsync reset``: forget a provider's or a conversation's state, after confirmation."""
    if args.conversation is not None and not args.conversation.strip():
        raise ConfigurationError("reset: the conversation id is empty; nothing reset")
    what = f"{args.provider} conversation {args.conversation}" if args.conversation else f"all of {args.provider}"
    action = "forget the incremental state" + (" and delete the rows" if args.drop_data else "")
    if not confirmed("reset", f"{action} of {what}", "Other providers are not touched.", args.yes):
        return ExitCode.OK
    target = target_of(args, pipeline_name=args.pipeline)
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
