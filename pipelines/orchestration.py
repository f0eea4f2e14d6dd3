"""Dagster entry point: ``dg dev`` (``make dagster``; ``[tool.dg]`` names this module) serves the assets.

``defs`` holds one asset group per provider, sharded by bot (OwlBot, ChatNode) or conversation set
(example-ai, Feedloop), a daily-partitioned backfill twin of each shard, the analytics views
downstream, ``chatsync_incremental_job`` on a schedule (every 15 minutes unless
``[chatsync.orchestration] schedule`` says otherwise) and ``chatsync_backfill_job``. Needs the
extra: ``pip install -e ".[dagster]"``. See the README, "Orchestration".
"""

from __future__ import annotations

from .orchestrators.dagster.definitions import build_definitions

defs = build_definitions()
