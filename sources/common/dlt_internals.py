"""Every use of dlt that is not its public API, in one place, each with the reason no public API serves.

A dlt upgrade that changes one of them must fail ``tests/test_dlt_internals.py`` loudly, rather than
chatsync silently; nothing else in chatsync imports a private name of dlt or depends on its
folder layout or its hint names. What was private and now goes through public API instead:
parsed bodies (a ``requests`` response hook returns a ``ParsedResponse``; the response's ``json``
is no longer replaced), and the working folders are rebuilt with ``pipeline.drop`` and
``sync_destination``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final, TypeVar

from dlt.common.storages import NormalizeStorage
from dlt.pipeline.pipeline import with_runtime_trace
from dlt.sources.helpers.requests import Client
from dlt.sources.helpers.requests.retry import DEFAULT_RETRY_EXCEPTIONS, _make_retry, retry_if_status
from dlt.sources.helpers.requests.session import Session
from requests.adapters import HTTPAdapter
from tenacity import Retrying

__all__ = [
    "DEFAULT_RETRY_EXCEPTIONS",
    "EXTRACTED_FOLDER",
    "HARMLESS_DLT_WARNINGS",
    "PACKAGE_FILES",
    "PACKAGE_FOLDERS",
    "STAGED_DEDUPLICATED",
    "SessionFinishingClient",
    "retry_if_status",
    "run_trace",
]

# dlt's Client builds its tenacity ``Retrying`` inside ``_make_session`` and takes neither a sleep
# function (chatsync's back-off must end on SIGINT/SIGTERM: a ``Retry-After: 60`` would hold Ctrl-C
# for a minute) nor a predicate over exceptions (a connection that cannot succeed is not retried),
# nor a wrapper around ``send`` (the rate limiter paces every attempt). Subclassing is the only way.


class SessionFinishingClient(Client):
    """dlt's retrying ``Client``, whose session chatsync finishes (``finish_session``) before use.

    Keeps dlt's configuration of the session (timeouts, adapter, ``[runtime]`` retry settings)
    and hands the subclass the session and dlt's own ``Retrying`` to change.
    """

    def _make_session(self) -> Session:
        session = Session(**self._session_kwargs)  # type: ignore[arg-type]
        adapter = self.make_adapter(self._adapter)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        return self.finish_session(session, _make_retry(**self._retry_kwargs))

    def make_adapter(self, configured: HTTPAdapter) -> HTTPAdapter:
        """Overridden to mount another adapter than dlt's ``configured`` one."""
        return configured

    @property
    def retry_settings(self) -> Mapping[str, Any]:
        """dlt's retry settings: ``exceptions``, ``status_codes``, attempts and delays."""
        settings: Mapping[str, Any] = self._retry_kwargs
        return settings

    def finish_session(self, session: Session, retry: Retrying) -> Session:
        """Overridden to change the session, e.g. ``session.send = retry.wraps(session.send)``."""
        session.send = retry.wraps(session.send)  # type: ignore[method-assign]
        return session


F = TypeVar("F", bound=Callable[..., Any])


def run_trace(send_state: bool = False) -> Callable[[F], F]:
    """Makes a function that takes the pipeline first one dlt trace of all the steps it runs.

    A run's extract, normalize and load of every provider, its views and insights show as one
    trace (``dlt pipeline … trace``): ``pipeline.run`` traces only itself, and dlt's
    ``with_runtime_trace``, which does this, is not exported.
    """
    decorator: Callable[[F], F] = with_runtime_trace(send_state=send_state)
    return decorator


# The table hint with which dlt's merge skips de-duplicating staged rows (no public constant).
STAGED_DEDUPLICATED: Final = "x-stage-data-deduplicated"

# dlt's working folders, which crash recovery (pipelines.engine.recovery) inspects and repairs: dlt
# repairs none of what a kill leaves there, and has no API for a package's schema, which a resumed
# merge must be told to de-duplicate again. A broken package is not repaired but dropped, through
# the public ``pipeline.drop`` and ``sync_destination``.
EXTRACTED_FOLDER: Final = NormalizeStorage.EXTRACTED_FOLDER  # normalize/<this>/<load id>
PACKAGE_FOLDERS: Final = ("new_jobs", "started_jobs", "completed_jobs", "failed_jobs")  # in every package
PACKAGE_FILES: Final = ("schema.json",)  # every package's schema, which a resumed merge reads

# dlt warnings that say nothing an operator can act on, matched by their text (dlt logs no codes):
# Postgres loads without the optional ADBC driver fall back from parquet to dlt's own insert format,
# once per table; a stopped run's pool says it stops (chatsync's own ``stopped:`` line says what that
# means); a load job's retries (the provider's own error line names the final cause). Should dlt
# reword one, the warning merely shows again; the test says which.
HARMLESS_DLT_WARNINGS: Final = (
    "ADBC driver for",
    "Exiting runner due to signal",
    "Transient exception in job",
    "retried in load",
    "was not fully loaded. Load job pool is successfully drained",
)
