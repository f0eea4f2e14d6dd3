"""What the warehouse already holds, read for the sources while they extract (``sources.common.ledger``).

Some change detection needs one fact per conversation for ever (OwlBot's ``messagenbr``). Kept in
dlt state, that would grow with history and be rewritten on every load, which is how dlt state
breaks production pipelines (dlt#2580, #4030). The warehouse already has the fact, committed in
the same load as the rows it describes, so it is exactly "as of the last successful load". dlt
finishes any pending load package before it extracts again, so a crash cannot leave it stale.

The sources read nothing themselves: the engine hands them this class (``ledger=WarehouseLedger``).
"""

from __future__ import annotations

from typing import Any

import dlt
from dlt.common.pipeline import SupportsPipeline
from dlt.destinations.exceptions import DatabaseException

from sources.common.tables import CONVERSATIONS, MESSAGES, SUPPRESSIONS, SYNC_ERRORS

from .queries import query_table


class WarehouseLedger:
    """One connection to the warehouse for a whole extract, opened on first use.

    Use as a context manager; a table that does not exist yet reads as empty.
    """

    def __init__(self) -> None:
        self._client: Any = None
        self._missing: set[str] = set()

    def __enter__(self) -> WarehouseLedger:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._client is not None:
            self._client.__exit__(None, None, None)
            self._client = None

    def _open(self) -> Any:
        if self._client is None:
            pipeline: SupportsPipeline = dlt.current.pipeline()
            if getattr(pipeline, "destination", None) is None:
                return None
            self._client = pipeline.sql_client().__enter__()  # type: ignore[attr-defined]
        return self._client

    def query(self, table: str, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        """Runs ``sql`` with ``{table}`` replaced by the qualified name of ``table``."""
        if table in self._missing:
            return []
        client = self._open()
        if client is None:
            return []
        rows = query_table(client, table, sql, *args)
        if rows is None:
            self._missing.add(table)
        return rows or []

    def missing(self, table: str) -> bool:
        """Whether a query found ``table`` absent from the warehouse."""
        return table in self._missing

    def message_counts(self, provider: str, bot_id: str) -> dict[str, int | None]:
        """``reported_message_count`` of every loaded conversation of one bot.

        Args:
            provider: Provider key.
            bot_id: The bot.

        Returns:
            ``{conversation_id: reported_message_count}``.
        """
        rows = self.query(
            CONVERSATIONS,
            "SELECT conversation_id, reported_message_count FROM {table} WHERE provider = %s AND bot_id = %s",
            provider,
            bot_id,
        )
        return {str(cid): (None if count is None else int(count)) for cid, count in rows}

    def conversation_flags(self, provider: str, bot_id: str | None = None) -> dict[str, bool]:
        """Every loaded conversation of a provider (or of one bot), and whether it is marked deleted.

        A warehouse made before ``deleted_at`` existed has none marked.

        Args:
            provider: Provider key.
            bot_id: Only this bot's.

        Returns:
            ``{conversation_id: deleted_at is set}``.
        """
        where = "provider = %s" + (" AND bot_id = %s" if bot_id is not None else "")
        args = (provider, bot_id) if bot_id is not None else (provider,)
        sql = "SELECT conversation_id, {flag} FROM {table} WHERE " + where
        try:
            rows = self.query(CONVERSATIONS, sql.replace("{flag}", "deleted_at IS NOT NULL"), *args)
        except DatabaseException:  # no deleted_at column yet
            rows = [(cid, False) for cid, _ in self.query(CONVERSATIONS, sql.replace("{flag}", "NULL"), *args)]
        return {str(cid): bool(flag) for cid, flag in rows}

    def bot_names(self, provider: str) -> dict[str, str]:
        """The name each bot of a provider was last loaded with: ``{bot_id: bot_name}`` (none before ``bot_name``)."""
        sql = "SELECT bot_id, MAX(bot_name) FROM {table} WHERE provider = %s AND bot_name IS NOT NULL GROUP BY bot_id"
        try:
            rows = self.query(CONVERSATIONS, sql, provider)
        except DatabaseException:  # a warehouse made before bot_name existed
            return {}
        return {str(bot): str(name) for bot, name in rows}

    def message_ids(self, provider: str, conversation_id: str) -> set[str]:
        """The ``message_id`` of every loaded message of one conversation.

        Args:
            provider: Provider key.
            conversation_id: The conversation.

        Returns:
            The ids.
        """
        rows = self.query(
            MESSAGES,
            "SELECT message_id FROM {table} WHERE provider = %s AND conversation_id = %s",
            provider,
            conversation_id,
        )
        return {str(mid) for (mid,) in rows}

    def open_sync_errors(self, provider: str) -> dict[str, tuple[Any, int]]:
        """Unresolved ``sync_errors`` of one provider.

        Args:
            provider: Provider key.

        Returns:
            ``{conversation_id: (first_seen, count)}``.
        """
        rows = self.query(
            SYNC_ERRORS,
            "SELECT conversation_id, first_seen, failure_count FROM {table} "
            "WHERE provider = %s AND resolved_at IS NULL",
            provider,
        )
        return {str(cid): (first_seen, int(count)) for cid, first_seen, count in rows}

    def suppressions(self) -> dict[tuple[str, str], set[str]]:
        """Keyed hashes of erased conversations and users: ``{(provider, kind): {hash, …}}``."""
        found: dict[tuple[str, str], set[str]] = {}
        for provider, kind, key_hash in self.query(SUPPRESSIONS, "SELECT provider, kind, key_hash FROM {table}"):
            found.setdefault((str(provider), str(kind)), set()).add(str(key_hash))
        return found
