"""SIGINT and SIGTERM during a run: stop at the next safe point, as dlt does, in chatsync's words."""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from signal import SIGINT, SIGTERM
from typing import Any

from dlt.common.runtime import signals

from sources.common.timeutil import stamp


@contextmanager
def stop_on_signals() -> Iterator[None]:
    """dlt's signal handling (stop at the next safe point; a second signal forces), in chatsync's words.

    dlt's handler writes its own "CTRL-C received…" line to a terminal; this one writes a
    ``stopping:`` line in chatsync's format instead and otherwise does what dlt's does.
    """
    with signals.intercepted_signals():
        if threading.current_thread() is threading.main_thread():
            for number in (SIGINT, SIGTERM):
                if signal.getsignal(number) is signals._signal_receiver:
                    signal.signal(number, _on_signal)
        yield


def _on_signal(number: int, frame: Any) -> None:
    if signals._signal_counts.get(number):  # the second: dlt escalates (force stop)
        signals._signal_receiver(number, frame)
        return
    signals._signal_counts[number] = 1
    signals.set_received_signal(number)
    name = "SIGTERM" if number == SIGTERM else "SIGINT"
    line = f"{stamp()} stopping: {name} received; finishing at the next safe point (again to force)\n"
    with suppress(OSError):  # no logging or printing in a signal handler
        os.write(sys.stderr.fileno(), line.encode())
    signals.exit_event.set()


def received_signal() -> int:
    """The number of the signal dlt's handler received (only valid once one was)."""
    interrupt = signals.exception_for_signal()
    return int(getattr(interrupt, "signal_code", SIGINT))
