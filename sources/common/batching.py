"""The one funnel every provider's rows pass before dlt: privacy, erasures, de-duplication, batches, hints.

Rows arrive in small ``TableRows`` pieces; ``batched`` gathers them into a few large items per
table (dlt validates every item's hints), applies the personal-data policy and the erasures,
drops repeats, and hands DuckDB Arrow tables, other destinations dicts.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any, Final

import dlt
import orjson
import pyarrow as pa
from dlt.common.configuration import resolve_configuration
from dlt.common.normalizers.utils import generate_dlt_ids
from dlt.common.schema.typing import C_DLT_ID
from dlt.common.schema.utils import dlt_id_column
from dlt.extract.items import DataItemWithMeta
from dlt.normalize.configuration import ItemsNormalizerConfiguration

from .dlt_internals import STAGED_DEDUPLICATED
from .ledger import EmptyLedger, LedgerFactory
from .privacy import PrivacyPolicy
from .rows import TableRows
from .tables import CONVERSATIONS, KNOWLEDGE_CITATIONS, MERGE, MESSAGES, OWNERS, SYNC_ERRORS, TABLES, bigquery_hints

_ARROW_TYPES: Final = {
    "text": pa.string(),
    "timestamp": pa.timestamp("us", tz="UTC"),
    "bigint": pa.int64(),
    "bool": pa.bool_(),
    "json": pa.string(),  # the JSON text; the column hint makes it JSON in the warehouse
}

_OWNER: Final = itemgetter("provider", "conversation_id")  # a row's conversation

# ``_dlt_id`` as dlt's normalize declares it, so a table's hints are the same whoever adds the column
ROW_ID_HINT: Final = {C_DLT_ID: dlt_id_column()}

# Destinations that load Arrow as parquet and read a JSON column from its text faithfully. Elsewhere
# rows stay dicts: BigQuery, for one, would load that text as a JSON string instead of an object.
ARROW_DESTINATIONS: Final = frozenset({"duckdb"})


def arrow_table(table: str, rows: list[dict[str, Any]], row_ids: bool = False) -> pa.Table:
    """Canonical rows as one Arrow table of the table's columns; ``raw`` becomes JSON text.

    dlt writes an Arrow table to parquet as it is, which costs a fraction of normalizing the same
    rows as dicts (measured with ``make bench``).

    Args:
        table: The canonical table.
        rows: Its rows.
        row_ids: Add dlt's ``_dlt_id`` column last, from dlt's own generator (see ``funnel_adds_row_ids``).
    """
    _, columns = TABLES[table]
    fields, arrays = [], []
    for name, column in columns.items():
        values = [row.get(name) for row in rows]
        if column["data_type"] == "json":
            values = [None if value is None else orjson.dumps(value).decode() for value in values]
        kind = _ARROW_TYPES[str(column["data_type"])]
        fields.append(pa.field(name, kind, nullable=column.get("nullable", True)))
        arrays.append(pa.array(values, type=kind))
    built = pa.Table.from_arrays(arrays, schema=pa.schema(fields))
    return with_row_ids(built) if row_ids else built


def with_row_ids(table: pa.Table) -> pa.Table:
    """``table`` with dlt's ``_dlt_id`` column last, from dlt's own generator (see ``funnel_adds_row_ids``).

    Declare the column with ``ROW_ID_HINT``, as dlt's normalize would.
    """
    ids = pa.array(generate_dlt_ids(table.num_rows), type=pa.string())
    return table.append_column(pa.field(C_DLT_ID, pa.string(), nullable=False), ids)


class _JsonAsTextNotice(logging.Filter):
    """Drops dlt's warning that an Arrow column's type differs from its hint.

    ``arrow_table`` builds its columns from the same definitions as the hints, so the one
    difference is ``raw``: JSON text in Arrow, ``json`` by its hint, which is what is wanted.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return "when merging arrow schema with dlt schema" not in record.getMessage()


def current_destination() -> str | None:
    """The destination of the pipeline extracting now (``duckdb``, ``postgres``, ``bigquery``), if any."""
    try:
        destination = dlt.current.pipeline().destination
    except Exception:  # no active pipeline: a plain iteration of the resource
        return None
    return None if destination is None else str(destination.destination_name)


def _parquet_normalizer() -> ItemsNormalizerConfiguration:
    return resolve_configuration(ItemsNormalizerConfiguration(), sections=("normalize", "parquet_normalizer"))


def loads_arrow(destination: str | None) -> bool:
    """Whether canonical rows go to ``destination`` (see ``current_destination``) as Arrow tables.

    Only into ``ARROW_DESTINATIONS``, and only when the tables end up with dlt's ``_dlt_load_id``
    (added by dlt's extract: ``[normalize.parquet_normalizer] add_dlt_load_id``, chatsync's default)
    and ``_dlt_id`` (see ``funnel_adds_row_ids``): without them an Arrow load would not fit a table
    that dict items created.
    """
    return destination in ARROW_DESTINATIONS and bool(_parquet_normalizer().add_dlt_load_id)


def funnel_adds_row_ids() -> bool:
    """Whether Arrow tables get ``_dlt_id`` from the funnel rather than from dlt's normalize.

    With dlt's ``add_dlt_id`` off (chatsync's default), the funnel adds the column, declared as
    dlt declares it, and dlt's normalize imports each parquet file as it is instead of rewriting it
    to add one column (0.4 s of a 100k-message load, ``docs/performance.md``). With it on, dlt adds it.
    """
    return not _parquet_normalizer().add_dlt_id


def _with_hints(
    table: str, rows: Any, as_arrow: bool = False, destination: str | None = None, row_ids: bool = False
) -> DataItemWithMeta:
    # Per-item table hints: one resource fills both tables, each with only its own columns
    key, columns = TABLES[table]
    as_table = as_arrow and table != SYNC_ERRORS
    row_id_column = ROW_ID_HINT if as_table and row_ids else {}
    table_hints: dict[str, Any] = {STAGED_DEDUPLICATED: True}  # see ``UniqueRows``
    if destination == "bigquery":
        columns, layout = bigquery_hints(table)
        table_hints |= layout
    hints = dlt.mark.make_hints(
        table_name=table,
        write_disposition=dict(MERGE),  # type: ignore[arg-type]
        primary_key=list(key),
        columns={name: column.copy() for name, column in columns.items()} | row_id_column,
        additional_table_hints=table_hints,
    )
    item = arrow_table(table, rows, row_ids) if as_table else rows
    return dlt.mark.with_hints(item, hints, create_table_variant=True)


class Suppressed:
    """Conversations and end users erased with ``chatsync forget``: never loaded again.

    Holds keyed hashes only, as recorded in ``suppressions``; a row is suppressed when the hash of
    its conversation id, or of its user or sender id, is among them. A conversation whose row names
    a suppressed user is remembered, so its messages (which may carry no user id) go too.
    """

    def __init__(self, hashes: dict[tuple[str, str], set[str]], privacy: PrivacyPolicy) -> None:
        self._hashes = hashes
        self._privacy = privacy
        self.conversations: set[tuple[str, str]] = set()

    def __bool__(self) -> bool:
        return bool(self._hashes)

    def _has(self, provider: str, kind: str, value: Any) -> bool:
        hashes = self._hashes.get((provider, kind), set())
        return bool(hashes) and value is not None and self._privacy.hash(value) in hashes

    def drops(self, table: str, row: dict[str, Any]) -> bool:
        """Whether ``row`` (raw, before the privacy policy) belongs to an erased conversation or user."""
        provider, conversation = row["provider"], row["conversation_id"]
        if (provider, conversation) in self.conversations or self._has(provider, "conversation", conversation):
            return True
        user = row.get("user_id") if table == CONVERSATIONS else row.get("sender_id")
        if self._has(provider, "user", user):
            self.conversations.add((provider, conversation))
            return True
        return False


class UniqueRows:
    """Keeps each table's rows unique by key within one run, which is one load package.

    dlt would otherwise deduplicate the staged rows of every merge with a window over all of them
    (``ROW_NUMBER() OVER (PARTITION BY key)``), which costs DuckDB as much memory as the package
    and most of the load step. The tables' hints declare the rows deduplicated instead
    (``x-stage-data-deduplicated``), and this is what makes that true:

    - every provider yields a conversation's rows of one table in one piece per run, so a later
      piece for the same conversation (a listing that names a session twice) is a repeat, and
      the first copy is kept;
    - within a piece, the first row of each key is kept.

    Holds one key per conversation and table (about 10 MB for 100k conversations).
    """

    def __init__(self) -> None:
        self._conversations: dict[str, set[tuple[str, str]]] = {table: set() for table in TABLES}
        self._key_of = {table: itemgetter(*key) for table, (key, _) in TABLES.items()}

    def admit(self, table: str, rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        """The rows of one piece that are not repeats."""
        earlier = self._conversations[table]
        keys = list(map(self._key_of[table], rows))
        owners = set(map(_OWNER, rows))
        if len(set(keys)) == len(keys) and earlier.isdisjoint(owners):  # nearly always: nothing to drop
            earlier.update(owners)
            return list(rows)
        kept: list[dict[str, Any]] = []
        seen: set[tuple[Any, ...]] = set()
        for key, row in zip(keys, rows, strict=True):
            if key in seen or _OWNER(row) in earlier:
                continue
            seen.add(key)
            kept.append(row)
        earlier.update(map(_OWNER, kept))
        return kept


def batched(
    stream: Iterable[TableRows],
    privacy: PrivacyPolicy | None = None,
    suppressed: Suppressed | None = None,
    size: int = 10_000,
    as_arrow: bool = False,
    destination: str | None = None,
) -> Iterator[DataItemWithMeta]:
    """Gathers a resource's rows into large batches per table, ready for dlt, under the privacy policy.

    dlt validates the table hints of every item it is given (about 2 ms each), so one small item
    per conversation would dominate a run; a few large items cost nothing. Every row passes the
    personal-data policy and the erasures here, the one funnel of every provider, before dlt sees
    it, and repeats are dropped (``UniqueRows``). Buffers are not released when a ``conversations``
    piece comes in, so that the messages yielded just before it can still be dropped with it.

    Args:
        stream: Rows per table, in any number of small pieces.
        privacy: The personal-data policy; None leaves rows as they are.
        suppressed: Erased conversations and users.
        size: Rows per table to gather before releasing a batch.
        as_arrow: Release ``messages`` and ``conversations`` as Arrow tables (see ``arrow_table``).
        destination: Where the rows go; BigQuery's tables get partition and cluster hints.

    Yields:
        The rows with their table's hints.
    """
    pending: dict[str, list[dict[str, Any]]] = {table: [] for table in TABLES}
    row_ids = as_arrow and funnel_adds_row_ids()
    unique = UniqueRows()
    create_empty: set[str] = set()
    for piece in stream:
        if piece.create_empty:
            create_empty.add(piece.table)
        if piece.table == OWNERS:
            if suppressed:
                _drop_owned_by_suppressed(piece.rows, suppressed, pending)
            continue
        if piece.table != CONVERSATIONS:
            for table, rows in pending.items():
                if len(rows) >= size:
                    yield _with_hints(table, rows, as_arrow, destination, row_ids)
                    pending[table] = []
        rows = unique.admit(piece.table, piece.rows)
        if suppressed and piece.table != SYNC_ERRORS:
            rows = [row for row in rows if not suppressed.drops(piece.table, row)]
            if piece.table == CONVERSATIONS and suppressed.conversations:
                gone = suppressed.conversations
                for table in (MESSAGES, KNOWLEDGE_CITATIONS):
                    pending[table] = [r for r in pending[table] if (r["provider"], r["conversation_id"]) not in gone]
        if privacy is not None and piece.table != SYNC_ERRORS:
            rows = privacy.apply_rows(piece.table, rows)
        pending[piece.table].extend(rows)
    for table, rows in pending.items():
        if rows:
            yield _with_hints(table, rows, as_arrow, destination, row_ids)
        elif table in create_empty:
            yield _with_hints(table, dlt.mark.materialize_table_schema(), False, destination)


def _drop_owned_by_suppressed(
    owners: Sequence[dict[str, Any]], suppressed: Suppressed, pending: dict[str, list[dict[str, Any]]]
) -> None:
    """Remembers conversations of suppressed users, and drops what is already gathered of them."""
    if not any([suppressed.drops(CONVERSATIONS, row) for row in owners]):
        return
    gone = suppressed.conversations
    for table in (MESSAGES, KNOWLEDGE_CITATIONS):
        pending[table] = [r for r in pending[table] if (r["provider"], r["conversation_id"]) not in gone]


@dataclass(frozen=True)
class Extraction:
    """What a provider's resource runs with besides its own arguments.

    Args:
        privacy: The personal-data policy every row passes (None: rows as they are).
        ledger: What the warehouse holds (the engine's ``WarehouseLedger``); by default nothing.
    """

    privacy: PrivacyPolicy | None = None
    ledger: LedgerFactory = EmptyLedger


def emits_canonical_rows(
    produce: Callable[..., Iterable[TableRows]],
) -> Callable[..., Iterator[DataItemWithMeta]]:
    """Decorates a resource body that yields ``TableRows`` so it hands dlt ``batched`` items.

    The body takes a keyword-only ``extraction`` (an ``Extraction``): its privacy policy goes to
    ``batched``, and its ledger tells which conversations and users are erased.

    Args:
        produce: The generator function; put ``@dlt.resource`` above this decorator.

    Returns:
        The generator function dlt runs (with the body's own signature).
    """

    @functools.wraps(produce)
    def resource_body(*args: Any, **kwargs: Any) -> Iterator[DataItemWithMeta]:
        extraction: Extraction = kwargs["extraction"]  # keyword-only in every resource body
        suppressed = None
        if extraction.privacy is not None:
            with extraction.ledger() as ledger:
                suppressed = Suppressed(ledger.suppressions(), extraction.privacy)
        destination = current_destination()
        rows = produce(*args, **kwargs)
        as_arrow = loads_arrow(destination)
        yield from batched(rows, extraction.privacy, suppressed, as_arrow=as_arrow, destination=destination)

    return resource_body


logging.getLogger("dlt").addFilter(_JsonAsTextNotice())
