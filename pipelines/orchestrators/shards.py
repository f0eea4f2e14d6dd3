"""Shards: one provider's load split by bot or by conversation set, each with its own pipeline.

A shard has its own dlt pipeline name, hence its own state and run lock, so shards can run in
parallel (where the warehouse allows it) and all merge into the one dataset. OwlBot and ChatNode
shard by bot; example-ai and Feedloop, whose APIs have no bots, by set of conversations.

Configuration (``.dlt/config.toml`` or the environment)::

    [chatsync.orchestration]
    conversation_shards = 4          # example-ai and Feedloop ids split into this many sets

    [chatsync.orchestration.shards.feedloop]
    support = ["08fc3e54-...", "1b2c..."]   # explicit named shards replace the default split

or, in the environment, ``CHATSYNC__ORCHESTRATION__SHARDS__FEEDLOOP='{"support": ["08fc3e54-..."]}'``.
"""

from __future__ import annotations

import hashlib
import json
import re
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any, Final

import dlt

from sources.common.errors import ConfigurationError
from sources.common.settings import id_list
from sources.common.wording import counted
from sources.registry import SPECS

from ..engine.destinations import SUPPORTED
from ..engine.registry import PROVIDERS, configured_providers
from ..engine.target import DATASET_NAME, PIPELINE_NAME, Target

# The setting each provider's ids are passed in, and those that split by bot (from their declarations).
ID_SETTINGS: Final = {name: spec.ids_setting for name, spec in SPECS.items() if spec.ids_setting}
PER_BOT: Final = frozenset(name for name, spec in SPECS.items() if spec.per_bot)
# A provider that lists its bots, without bot ids configured, reads every bot of the account.
ALL_BOTS: Final = "all_bots"
_UNSAFE: Final = re.compile(r"[^A-Za-z0-9_]")
DEFAULT_SCHEDULE: Final = "*/15 * * * *"

DEFAULT_AUDIT_SCHEDULE: Final = "30 5 * * *"  # the quick audit, daily (docs/running-unattended.md)


def setting(name: str, default: Any) -> Any:
    """``[chatsync.orchestration] <name>`` from dlt config, else ``default``."""
    value: Any = dlt.config.get(f"chatsync.orchestration.{name}")
    return default if value is None else value


def orchestration_target() -> Target:
    """Where an orchestrator's shards load: ``destination`` and ``dataset`` of ``[chatsync.orchestration]``.

    Raises:
        ConfigurationError: The destination is not one chatsync supports.
    """
    destination = str(setting("destination", "duckdb"))
    if destination not in SUPPORTED:
        raise ConfigurationError(
            f"chatsync.orchestration.destination {destination!r} is not one of {', '.join(SUPPORTED)}"
        )
    return Target(destination=destination, dataset=str(setting("dataset", DATASET_NAME))).resolved()


def orchestration_schedule() -> str:
    """The incremental schedule, a cron expression in UTC (``[chatsync.orchestration] schedule``)."""
    return str(setting("schedule", DEFAULT_SCHEDULE))


@dataclass(frozen=True)
class Shard:
    """One provider's ids that load together, through their own pipeline."""

    provider: str
    name: str
    ids: tuple[str, ...] | None  # None: whatever the provider's own configuration says

    @property
    def key(self) -> str:
        """``<provider>__<name>``: unique across shards, usable as a Dagster name."""
        return f"{self.provider}__{self.name}"

    @property
    def pipeline_name(self) -> str:
        """The shard's own dlt pipeline (state and run lock)."""
        return f"{PIPELINE_NAME}__{self.key}"

    @property
    def source_options(self) -> dict[str, Any]:
        """Arguments that narrow the provider's source to this shard."""
        return {} if self.ids is None else {ID_SETTINGS[self.provider]: list(self.ids)}

    def target(self, base: Target) -> Target:
        """``base`` (destination, dataset, paths) with this shard's pipeline name and staging dataset.

        dlt merges through a staging dataset whose tables each load truncates and refills: two
        shards merging at once through the same one would lose each other's rows. On DuckDB the
        shards' loads are serialised anyway, so they keep the one staging dataset.
        """
        if base.destination == "duckdb":
            return replace(base, pipeline_name=self.pipeline_name)
        return replace(base, pipeline_name=self.pipeline_name, staging_layout=self.staging_layout)

    @property
    def staging_layout(self) -> str:
        """``<dataset>_staging_<provider>_<hash>``: short enough for Postgres' 63-character names."""
        digest = hashlib.sha1(self.key.encode()).hexdigest()[:8]
        return f"%s_staging_{self.provider}_{digest}"

    def describe(self) -> str:
        """One line for humans: which ids the shard reads."""
        if self.provider not in ID_SETTINGS:
            return f"{self.provider}: every conversation its API lists"
        kind = ID_SETTINGS[self.provider].removesuffix("_ids")
        if self.ids is None:
            return f"{self.provider}: every {kind} its configuration names"
        shown = ", ".join(self.ids[:3]) + (f" and {len(self.ids) - 3} more" if len(self.ids) > 3 else "")
        return f"{self.provider}: {counted(len(self.ids), kind)}: {shown}"


def safe_name(text: str) -> str:
    """``text`` with every character outside ``[A-Za-z0-9_]`` replaced by ``_``."""
    return _UNSAFE.sub("_", text) or "_"


def plan_shards(providers: Iterable[str] | None = None) -> list[Shard]:
    """The shards of every configured provider (or of ``providers``), from configuration.

    Args:
        providers: Provider keys; by default those with an ``api_key``.

    Returns:
        Shards in provider order, each provider's in name order.

    Raises:
        ConfigurationError: Explicit shards are malformed, or two ids map to one shard name.
    """
    shards: list[Shard] = []
    for provider in providers if providers is not None else configured_providers():
        shards += _provider_shards(provider)
    return shards


def _provider_shards(provider: str) -> list[Shard]:
    if provider not in PROVIDERS:
        raise ConfigurationError(f"unknown provider {provider!r}; known: {', '.join(PROVIDERS)}")
    if provider not in ID_SETTINGS:  # nothing to split: the API lists what changed, one shard reads it all
        return [Shard(provider, "all", None)]
    explicit: Any = dlt.config.get(f"chatsync.orchestration.shards.{provider}")
    if explicit:
        return _explicit_shards(provider, explicit)
    ids = id_list(dlt.config.get(f"sources.{provider}.{ID_SETTINGS[provider]}"), provider, "ids", required=False)
    if not ids:  # the provider's own defaults apply; a missing setting fails that shard, visibly
        return [Shard(provider, ALL_BOTS if provider in PER_BOT else "all", None)]
    if provider in PER_BOT:
        return _unique([Shard(provider, safe_name(bot), (bot,)) for bot in ids])
    return _conversation_sets(provider, ids, _conversation_shard_count())


def _explicit_shards(provider: str, explicit: Any) -> list[Shard]:
    if isinstance(explicit, str):  # from the environment: a JSON object
        try:
            explicit = json.loads(explicit)
        except ValueError:
            explicit = None
    if not isinstance(explicit, dict):
        raise ConfigurationError(
            f"chatsync.orchestration.shards.{provider} must be a table of shard name = [ids]; "
            f"set [chatsync.orchestration.shards.{provider}] in .dlt/config.toml, or "
            f'CHATSYNC__ORCHESTRATION__SHARDS__{provider.upper()}=\'{{"name": ["id", ...]}}\''
        )
    shards = [
        Shard(provider, safe_name(name), tuple(id_list(ids, provider, f"shard {name}")))
        for name, ids in sorted(explicit.items())
    ]
    return _unique(shards)


def _conversation_shard_count() -> int:
    count: Any = dlt.config.get("chatsync.orchestration.conversation_shards") or 1
    try:
        value = int(count)
    except (TypeError, ValueError):
        value = 0
    if value < 1:
        raise ConfigurationError(
            f"chatsync.orchestration.conversation_shards must be a whole number >= 1, not {count!r}"
        )
    return value


def _conversation_sets(provider: str, ids: list[str], count: int) -> list[Shard]:
    """Ids split by a stable hash, so adding a conversation never moves the others between shards."""
    if count == 1:
        return [Shard(provider, "all", tuple(ids))]
    sets: dict[int, list[str]] = {}
    for conversation_id in ids:
        sets.setdefault(zlib.crc32(conversation_id.encode()) % count, []).append(conversation_id)
    return [Shard(provider, f"set_{number + 1}_of_{count}", tuple(sets[number])) for number in sorted(sets)]


def _unique(shards: list[Shard]) -> list[Shard]:
    seen: dict[str, Shard] = {}
    for shard in shards:
        if shard.name in seen:
            raise ConfigurationError(
                f"{shard.provider}: shards {seen[shard.name].ids} and {shard.ids} share the name {shard.name!r}"
            )
        seen[shard.name] = shard
    return shards
