"""``chatsync explore``: read any conversation in the browser, search, filter and export."""

from __future__ import annotations

import argparse

from ..explorer.server import check_exposure, serve, warehouse_of
from .console import say_info, stdout, warn
from .parser import target_of


def explore_command(args: argparse.Namespace) -> int:
    """Starts the explorer on ``--host``/``--port`` and prints its URL; Ctrl-C stops it (130).

    Returns:
        130 after Ctrl-C; 2 for a configuration error (nothing loaded, a public host without a token).
    """
    warning = check_exposure(args.host, args.token)
    if warning:
        warn(warning)
    warehouse = warehouse_of(target_of(args))
    say_info(f"reading {warehouse.dialect} {warehouse.duckdb_path or ''} dataset {warehouse.dataset}, read-only")
    return serve(warehouse, args.host, args.port, args.token, lambda line: stdout.print(line, highlight=False))
