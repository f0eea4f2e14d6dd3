"""One DuckDB database open across all of dlt's load jobs, instead of one opening per job.

dlt's DuckDB connection pool closes the database whenever its last borrowed connection is
returned, which is after every load job, and DuckDB checkpoints a database as it closes it: a
load of one package rewrote the file once per job (about half of a 100k-message load step,
``bench/RESULTS.md``). A connection held here for the load keeps DuckDB's instance alive, so the
jobs' connections share it and the file is checkpointed once, when the load ends. Committed work
is in DuckDB's write-ahead log either way, so a kill during the load loses nothing more.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import dlt


@contextmanager
def kept_open(pipeline: dlt.Pipeline) -> Iterator[None]:
    """Holds the pipeline's DuckDB database open for the block (nothing for another warehouse).

    The connection comes from dlt's own SQL client, so it is opened exactly as the load jobs open
    theirs (DuckDB refuses a second opening of a file with other settings in one process), and
    waits, like them, for readers of other processes to let go.
    """
    if pipeline.destination is None or pipeline.destination.destination_name != "duckdb":
        yield
        return
    with pipeline.sql_client():
        yield
