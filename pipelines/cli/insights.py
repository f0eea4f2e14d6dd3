"""``chatsync insights``: topics, outcomes, sentiment and knowledge gaps, brought up to date."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict
from typing import Any

from sources.common.errors import ConfigurationError

from ..engine.destinations import loader_file_format
from ..engine.exit_codes import ExitCode
from ..engine.factory import build_pipeline, locked_pipeline
from ..engine.failures import describe_failure
from ..engine.target import insights_target
from ..insights.settings import InsightsSettings
from ..warehouse.queries import has_tables
from ..warehouse.read_model import pipeline_read_model
from .console import emit, say_error, stdout
from .parser import target_of


def insights_command(args: argparse.Namespace) -> int:
    """Recomputes the insights of new and changed conversations (all of them with ``--refit``).

    Runs whatever ``[insights] enabled`` says: that setting is about ``chatsync run``.

    Returns:
        0, or 1 when the computation failed (2 for configuration, 75 when a run holds the lock).
    """
    settings = InsightsSettings.from_config()
    target = target_of(args)
    with locked_pipeline(target) as pipeline:
        if not has_tables(pipeline, ["messages", "conversations"]):
            raise ConfigurationError(f"nothing loaded yet in dataset {target.dataset!r}: run `chatsync run` first")
        from ..insights.refresh import refresh_insights  # heavy: scikit-learn and the models

        writer = build_pipeline(insights_target(target))  # under the lock taken above: its own small state
        try:
            summary = refresh_insights(
                writer, settings, args.provider, args.refit, loader_file_format(target.destination)
            )
        except Exception as exc:
            writer.abort_packages()
            say_error(describe_failure("insights", exc))
            return ExitCode.FAILED
    if args.json:  # asked for: printed under -q too: the counts, then the topics and gaps as the explorer shows them
        with pipeline_read_model(build_pipeline(target)) as model:
            found = {**asdict(summary), "topics": [_topic(t) for t in model.topics()], "gaps": model.gaps()}
        print(json.dumps(found, indent=1, default=str, ensure_ascii=False))
    else:
        emit("insights", summary.describe())
        mix = ", ".join(f"{count:,} {outcome}" for outcome, count in sorted(summary.outcomes.items()))
        stdout.print(f"outcomes: {mix or 'none'}", highlight=False)
    return ExitCode.OK


def _topic(topic: dict[str, Any]) -> dict[str, Any]:
    """A topic for ``--json``: its figures, without the columns kept for older readers."""
    return {k: v for k, v in topic.items() if k not in ("question_1", "question_2", "question_3")}
