"""The insights step of the orchestrators: after the loads and the views, as ``chatsync run`` does it."""

from __future__ import annotations

import dlt

from ..engine.destinations import loader_file_format
from ..engine.target import Target
from ..insights.settings import InsightsSettings


def refresh_insights_of(target: Target, pipeline: dlt.Pipeline) -> str | None:
    """Brings the insights of ``target``'s dataset up to date; None when ``[insights] enabled = false``.

    Args:
        target: The warehouse.
        pipeline: A pipeline of it, held by the caller's lock.

    Returns:
        What was done, one line.
    """
    settings = InsightsSettings.from_config()
    if not settings.enabled:
        return None
    from ..insights.refresh import refresh_insights  # heavy: scikit-learn and the models

    return refresh_insights(pipeline, settings, file_format=loader_file_format(target.destination)).describe()
