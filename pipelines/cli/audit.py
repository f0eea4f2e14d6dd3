"""``chatsync audit``: a table per provider, one ``incomplete:`` line per incomplete conversation, the exit status."""

from __future__ import annotations

import argparse
import json

from rich.table import Table

from sources.common.errors import ConfigurationError

from ..audit.audit import AuditReport, ProviderAudit, audit
from ..audit.verdicts import CAPPED, COMPLETE, DELETED, INCOMPLETE, UNREADABLE
from ..engine.alerts import alert_on_audit
from ..engine.registry import configured_providers
from .console import emit, say_error, stdout
from .parser import target_of


def audit_command(args: argparse.Namespace) -> int:
    """Audits, repairs when asked, prints the outcome; returns the exit status."""
    if args.sample is not None and not args.full:
        raise ConfigurationError("--sample needs --full (the quick audit reads no conversation whole)")
    providers = args.provider or configured_providers()
    if not providers:
        raise ConfigurationError("no provider configured: set [sources.<provider>] api_key (see README, first run)")
    report = audit(target_of(args), providers, full=args.full, sample=args.sample, repair=args.repair)
    if args.json:
        stdout.print_json(
            json.dumps(
                {
                    "mode": report.mode,
                    "exit_code": int(report.exit_code()),
                    "providers": {a.provider: a.to_json() for a in report.audits},
                }
            )
        )
    else:
        print_audit(report)
    alert_on_audit(report.mode, {a.provider: a.count(INCOMPLETE) for a in report.audits}, report.exit_code())
    return report.exit_code()


def print_audit(report: AuditReport) -> None:
    """The table, the sample checked, then one line per conversation not complete, and failures."""
    table = Table(title=f"chatsync audit ({report.mode})")
    capped = any(a.count(CAPPED) for a in report.audits)  # a column only where an API caps a conversation
    columns = ("provider", "checked", "complete", *(("capped",) if capped else ()), "incomplete", "deleted")
    for column in (*columns, "unreadable", "requests", "seconds"):
        table.add_column(column, justify="left" if column == "provider" else "right")
    for a in report.audits:
        counts = (
            a.checked,
            a.count(COMPLETE),
            *((a.count(CAPPED),) if capped else ()),
            a.count(INCOMPLETE),
            a.count(DELETED),
            a.count(UNREADABLE),
        )
        table.add_row(a.provider, *(str(n) for n in counts), str(a.requests), f"{a.seconds:.1f}")
    stdout.print(table)
    for a in report.audits:
        _print_provider(a, sample=report.mode == "sample")


def _print_provider(a: ProviderAudit, sample: bool) -> None:
    if a.checked_whole is not None and sample:
        emit("checked", f"{a.provider}: read whole: {', '.join(a.checked_whole)}", provider=a.provider)
    if a.repair is not None:
        emit("repair", f"{a.provider}: re-read the incomplete conversations (exit {int(a.repair.exit_code())})")
    for v in a.verdicts:
        if v.kind == INCOMPLETE:
            bot = f"bot {v.bot_id}, " if v.bot_id else ""
            emit("incomplete", f"{a.provider}: {bot}conversation {v.conversation_id}: {v.detail}", provider=a.provider)
        elif v.kind == CAPPED:
            emit("capped", f"{a.provider}: conversation {v.conversation_id}: {v.detail}", provider=a.provider)
        elif v.kind == UNREADABLE:
            emit("warning", f"{a.provider}: conversation {v.conversation_id} could not be read: {v.detail}")
    if a.error:
        say_error(a.error)
