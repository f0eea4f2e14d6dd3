"""How a run uses memory: Python's garbage collector during extraction, and freed memory returned between steps."""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Final

import pyarrow

# A young collection every 50,000 new containers instead of 700, and older ones in proportion.
# Extraction makes a dozen dicts per message and keeps thousands of rows in its batches, so with
# Python's defaults the collector walks those batches again and again: about a quarter of the row
# path's CPU (docs/performance.md). The rows hold no reference cycles, so nothing waits longer to be freed.
RUN_THRESHOLDS: Final = (50_000, 20, 20)


@contextmanager
def fewer_collections() -> Iterator[None]:
    """Runs the block with ``RUN_THRESHOLDS``, then restores the collector's thresholds as they were."""
    before = gc.get_threshold()
    gc.set_threshold(*RUN_THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*before)


def release_freed_memory() -> None:
    """Returns memory freed by Python and Arrow to the operating system, where the allocator allows.

    Called between dlt's steps: extraction's peak (e.g. OwlBot's listing of every session, the
    Arrow batches) is freed by then but stays in the process, and DuckDB's working memory during
    the load would come on top of it. glibc's ``malloc_trim`` releases Python's share, Arrow's
    memory pool its own; elsewhere (macOS, musl) the peak is only higher.
    """
    gc.collect()
    pyarrow.default_memory_pool().release_unused()
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.malloc_trim(0)
    except (OSError, AttributeError):
        pass
