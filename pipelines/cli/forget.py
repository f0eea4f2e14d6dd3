"""``chatsync forget``: erase an end user or a conversation everywhere; list and lift suppressions."""

from __future__ import annotations

import argparse

from rich.table import Table

from sources.common.errors import ConfigurationError

from ..engine.exit_codes import ExitCode
from ..engine.factory import locked_pipeline
from ..engine.registry import spec_of
from ..engine.runner import hashing_key
from ..engine.target import describe_warehouse
from ..warehouse.forget import forget
from ..warehouse.suppressions import SuppressionList
from ..warehouse.suppressions import enforce as enforce_suppressions
from .console import (
    confirmed,
    stdout,
    warn,
)
from .parser import target_of


def forget_command(args: argparse.Namespace) -> int:
    """``chatsync forget``: erase an end user or a conversation, list suppressions, or lift one."""
    if args.list:
        return list_suppressions(args)
    if args.undo is not None:
        return undo_suppression(args)
    if args.provider is None:
        raise ConfigurationError("forget needs --provider with --user-id, --email or --conversation")
    if args.email is not None:
        return forget_by_email(args)
    who = "end user" if args.user_id is not None else "conversation"
    value = args.user_id if args.user_id is not None else args.conversation
    if not value.strip():
        raise ConfigurationError(f"forget: the {who} id is empty; nothing recorded")
    return _erase(args, who, args.user_id, args.conversation)


def forget_by_email(args: argparse.Namespace) -> int:
    """``forget --email``: the provider's API names the end user's ids; each is erased as ``--user-id`` is.

    The address itself is never written anywhere: only the ids' keyed hashes are recorded.
    """
    find = spec_of(args.provider).find_users
    if find is None:
        raise ConfigurationError(f"{args.provider}: its API cannot look up end users by e-mail; use --user-id")
    email = args.email.strip()
    if "@" not in email:
        raise ConfigurationError("forget: --email needs an e-mail address")
    ids = find(email)
    if not ids:
        stdout.print(f"{args.provider}: no end user with that e-mail address: nothing erased", highlight=False)
        return ExitCode.OK
    for user_id in ids:
        _erase(args, "end user", user_id, None)
    return ExitCode.OK


def _erase(args: argparse.Namespace, who: str, user_id: str | None, conversation_id: str | None) -> int:
    target = target_of(args)
    with locked_pipeline(target) as pipeline:
        key = hashing_key(target.paths, warn)
        erasure = forget(
            pipeline,
            args.provider,
            key,
            user_id=user_id,
            conversation_id=conversation_id,
            list_file=target.paths.suppressions_file,
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


def list_suppressions(args: argparse.Namespace) -> int:
    """``forget --list``: the suppressions in force, hashes only."""
    from rich import box

    entries = SuppressionList(target_of(args).paths.suppressions_file).active(args.provider)
    table = Table(title=f"suppressions in force: {len(entries)}", box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False)
    for column in ("provider", "kind", "recorded", "hash"):
        table.add_column(column, no_wrap=True)
    for entry in entries:
        table.add_row(entry.provider, entry.kind, entry.created_at, entry.key_hash)
    stdout.print(table)
    return ExitCode.OK


def undo_suppression(args: argparse.Namespace) -> int:
    """``forget --undo HASH``: lift one suppression, after confirmation, here and at every warehouse's next run."""
    target = target_of(args)
    list_file = target.paths.suppressions_file
    project = SuppressionList(list_file)
    found = [e for e in project.find(args.undo.strip()) if args.provider in (None, e.provider)]
    if not args.undo.strip() or not found:
        raise ConfigurationError(f"forget --undo: no suppression in force has the hash {args.undo!r} (forget --list)")
    described = ", ".join(f"{e.provider} {e.kind} {e.key_hash}" for e in found)
    if not confirmed("forget --undo", f"lift {described}", "Later runs may load its data again.", args.yes):
        return ExitCode.OK
    for entry in found:
        project.undo(entry)
    project.save()
    with locked_pipeline(target) as pipeline:
        enforce_suppressions(pipeline, list_file, hashing_key(target.paths, warn))
    stdout.print(
        f"lifted {described}; new data is loaded again by later runs, while rows erased earlier come back "
        "only by a reset or backfill of that provider",
        highlight=False,
        soft_wrap=True,
    )
    return ExitCode.OK
