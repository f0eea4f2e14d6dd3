"""Optional alerts: one JSON message to ``[chatsync.alerts] webhook_url`` when a run fails or is partial,
or when an audit finds incomplete conversations.

The body is Slack-compatible (``text``) with the details beside it (``chatsync``). Every string
passes the secret scrubber, and the webhook URL, itself a credential, is registered as a secret.
An alert that cannot be delivered is a warning; it never changes the command's exit status.
"""

from __future__ import annotations

import logging
from typing import Any, Final

import dlt
import requests

from sources.common.secrets import register, scrub, scrub_value

from .exit_codes import ExitCode
from .outcome import RunReport

TIMEOUT_SECONDS: Final = 10
_log = logging.getLogger("chatsync.alerts")


def webhook_url() -> str | None:
    """``[chatsync.alerts] webhook_url`` (secrets.toml, config.toml or CHATSYNC__ALERTS__WEBHOOK_URL), if set."""
    url: object = dlt.secrets.get("chatsync.alerts.webhook_url") or dlt.config.get("chatsync.alerts.webhook_url")
    if not url:
        return None
    register(str(url))
    return str(url)


def post_alert(text: str, details: dict[str, Any]) -> bool:
    """Posts one alert, if a webhook is configured.

    Args:
        text: The one-line message (Slack's ``text``).
        details: The structured facts.

    Returns:
        True when one was delivered.
    """
    url = webhook_url()
    if url is None:
        return False
    body = {"text": scrub(text), "chatsync": scrub_value(details)}
    try:
        response = requests.post(url, json=body, timeout=TIMEOUT_SECONDS)
        response.raise_for_status()
    except requests.RequestException as exc:
        _log.warning("alert not delivered: %s", scrub(f"{type(exc).__name__}: {exc}"))
        return False
    return True


def alert_on_run(command: str, report: RunReport) -> bool:
    """Alerts when a run failed or was partial (a skipped run, exit 75, is not a failure)."""
    code = report.exit_code()
    if code in (ExitCode.OK, ExitCode.LOCKED):
        return False
    bad = {p: o for p, o in report.to_json().items() if o["status"] != "ok"}
    names = ", ".join(f"{p} {o['status']}" for p, o in bad.items()) or "setup failed"
    details = {"event": command, "exit_code": int(code), "providers": bad, "error": report.setup_error}
    return post_alert(f"chatsync {command}: exit {int(code)} ({names})", details)


def alert_on_audit(mode: str, incomplete: dict[str, int], code: ExitCode) -> bool:
    """Alerts when an audit found incomplete conversations, or failed."""
    if code == ExitCode.OK:
        return False
    found = ", ".join(f"{p}: {n}" for p, n in incomplete.items() if n) or "the audit failed"
    details = {"event": "audit", "mode": mode, "exit_code": int(code), "incomplete": incomplete}
    return post_alert(f"chatsync audit ({mode}): exit {int(code)}, incomplete conversations: {found}", details)
