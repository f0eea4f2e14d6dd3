"""Concurrent fan-out of per-conversation requests, bounded and order-preserving."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

from dlt.common.runtime import signals

from .errors import ProviderError
from .isolation import Breaker

Item = TypeVar("Item")
Result = TypeVar("Result")


def fan_out(
    items: Iterable[Item],
    work: Callable[[Item], Result],
    workers: int,
    tolerate: tuple[type[ProviderError], ...] = (),
    breaker: Breaker | None = None,
) -> Iterator[tuple[Item, Result | ProviderError]]:
    """Runs ``work`` on every item with at most ``workers`` threads, yielding in input order.

    At most ``2 * workers`` results wait in memory. An exception of a ``tolerate`` type is
    yielded in place of that item's result; any other stops the fan-out and is raised. Once
    ``breaker`` trips, or SIGINT/SIGTERM arrives, no further item starts.

    Args:
        items: The inputs, e.g. conversation ids.
        work: Fetches one item.
        workers: Maximum concurrent calls (1 runs them one at a time).
        tolerate: Error types that concern one item only.
        breaker: Counts outcomes and says when to stop asking.

    Yields:
        ``(item, result or tolerated error)`` pairs.
    """

    def guarded(item: Item) -> Result | ProviderError:
        signals.raise_if_signalled()
        if breaker is not None and breaker.tripped:
            raise _Stopped()
        try:
            outcome: Result | ProviderError = work(item)
        except tolerate as exc:
            outcome = exc
        if breaker is not None:
            breaker.record(outcome)
        return outcome

    with ThreadPoolExecutor(max_workers=max(1, workers), thread_name_prefix="fanout") as pool:
        pending: deque[tuple[Item, Future[Result | ProviderError]]] = deque()
        try:
            for item in items:
                if breaker is not None and breaker.tripped:
                    break
                pending.append((item, pool.submit(guarded, item)))
                if len(pending) >= 2 * max(1, workers):
                    head, future = pending.popleft()
                    yield head, future.result()
            while pending:
                head, future = pending.popleft()
                yield head, future.result()
        except _Stopped:
            return
        finally:
            for _, future in pending:
                future.cancel()


class _Stopped(Exception):
    """An item not started because the breaker had tripped."""
