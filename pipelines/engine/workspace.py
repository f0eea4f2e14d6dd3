"""Where a run keeps its state: inside the project, never shared with another checkout by accident.

dlt's default pipelines dir (``~/.dlt/pipelines``) belongs to the user account, and dlt resolves
a relative DuckDB path against the directory where the pipeline was first created. Two checkouts
would therefore share cursors and even a warehouse file. chatsync instead keeps pipeline state in
``.chatsync/pipelines`` of the project and makes the DuckDB path absolute at start-up.
``--pipelines-dir`` and ``DLT_DATA_DIR`` still choose another place.

The project is the folder holding ``.dlt/``: ``DLT_PROJECT_DIR`` when set (dlt reads its
configuration there too), else the working directory. Commands refuse to run outside one, so that
a run from the wrong folder never starts a second, empty state, warehouse and hashing key.
"""

from __future__ import annotations

import errno
import os
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import dlt
from dlt.common.runtime import telemetry

from sources.common.errors import ConfigurationError, StorageError
from sources.common.files import write_atomically

STATE_DIR: Final = ".chatsync"
CONFIG_DIR: Final = ".dlt"
PROJECT_ENV: Final = "DLT_PROJECT_DIR"
PRIVATE_DIR_MODE: Final = 0o700
PRIVATE_UMASK: Final = 0o077  # files 0600, folders 0700
# dlt settings that keep loaded data from piling up in working folders and staging tables
RETENTION: Final = {"load.delete_completed_jobs": True, "load.truncate_staging_dataset": True}
# DuckDB's working memory during a load (its default is 80% of RAM); beyond it DuckDB spills to disk.
# A 1M-message OwlBot load peaks at 581 MB with 128 MB (697 MB with 256 MB, 2 GB with DuckDB's
# default); its load step takes 19 s instead of 17 s (make bench-1m).
DUCKDB_MEMORY: Final = {"destination.duckdb.credentials.global_config": {"memory_limit": "128MB"}}
# Arrow items (DuckDB) get dlt's own columns too, as dict items do: which load wrote a row (dlt's
# extract adds it), and a row id (chatsync's funnel adds it, so dlt's normalize need not rewrite files)
ARROW_COLUMNS: Final = {
    "normalize.parquet_normalizer.add_dlt_load_id": True,
    "normalize.parquet_normalizer.add_dlt_id": False,
}


def make_private(folder: Path) -> Path:
    """Creates ``folder`` (and parents) readable by its owner only; returns it."""
    folder.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR_MODE)
    return folder


def project_dir() -> Path:
    """The project folder: ``DLT_PROJECT_DIR`` when set, else the working directory."""
    explicit = os.environ.get(PROJECT_ENV)
    return Path(explicit).expanduser().resolve() if explicit else Path.cwd().resolve()


def require_project() -> Path:
    """The project folder, which must hold ``.dlt/``.

    Returns:
        The project folder.

    Raises:
        ConfigurationError: There is no ``.dlt/`` where chatsync looked (named in the message).
    """
    root = project_dir()
    if (root / CONFIG_DIR).is_dir():
        return root
    where = f"{PROJECT_ENV} ({root})" if os.environ.get(PROJECT_ENV) else f"the working directory ({root})"
    raise ConfigurationError(
        f"not a chatsync project: no {CONFIG_DIR}/ folder in {where}; run chatsync from the project folder "
        f"or set {PROJECT_ENV} to it"
    )


def state_dir() -> Path:
    """``.chatsync`` of the project: pipeline state, locks, the hashing key, suppressions."""
    return project_dir() / STATE_DIR


def default_pipelines_dir(explicit: str | None) -> str | None:
    """The pipelines dir a run uses.

    Args:
        explicit: ``--pipelines-dir``, if given.

    Returns:
        An absolute path, or None to let dlt use ``DLT_DATA_DIR`` when that is set.
    """
    if explicit:
        return str(Path(explicit).resolve())
    if os.environ.get("DLT_DATA_DIR"):
        return None
    return str(state_dir() / "pipelines")


def lock_dir(pipelines_dir: str | None) -> Path:
    """Where run locks live: beside the pipelines they protect."""
    if pipelines_dir:
        return Path(pipelines_dir)
    return Path(os.environ["DLT_DATA_DIR"], "pipelines") if os.environ.get("DLT_DATA_DIR") else state_dir()


def absolute_duckdb_path(path: str) -> str:
    """A DuckDB path made absolute from the project folder (``:memory:`` and URIs unchanged)."""
    if path.startswith(":") or "://" in path:
        return path
    return str((project_dir() / Path(path).expanduser()).resolve())


def keep_private() -> None:
    """Everything this process creates from now on is readable by its owner only."""
    os.umask(PRIVATE_UMASK)


# dlt reports anonymous usage to dltHub unless told not to; a tool that moves personal data into
# the user's own warehouse calls nowhere else unless the user opts in.
NO_TELEMETRY: Final = {"runtime.dlthub_telemetry": False}


def configure_dlt_defaults() -> None:
    """chatsync's defaults for dlt's own settings, unless the configuration says otherwise.

    Completed load jobs are deleted and staging tables truncated after each load; Arrow items
    carry ``_dlt_load_id`` and ``_dlt_id`` like dict items (the row id from chatsync's funnel);
    DuckDB works within 128 MB; dlt's anonymous telemetry is off (``[runtime] dlthub_telemetry = true`` turns it on).
    """
    if dlt.config.get("runtime.dlthub_telemetry") is None and telemetry.is_telemetry_started():
        telemetry.stop_telemetry()  # started on ``import dlt`` with dlt's default; restarted below without it
    for key, value in {**RETENTION, **ARROW_COLUMNS, **DUCKDB_MEMORY, **NO_TELEMETRY}.items():
        if dlt.config.get(key) is None:
            dlt.config[key] = value


def prune_loaded_packages(working_dir: str, keep: int = 1) -> int:
    """Deletes completed load packages but the newest ``keep`` (kept for ``dlt pipeline … info``).

    Args:
        working_dir: The pipeline's working folder.
        keep: How many of the newest loaded packages to keep.

    Returns:
        How many were deleted.
    """
    loaded = Path(working_dir, "load", "loaded")
    packages = sorted(p for p in loaded.iterdir() if p.is_dir()) if loaded.is_dir() else []
    stale = packages[:-keep] if keep else packages
    for package in stale:
        shutil.rmtree(package, ignore_errors=True)
    return len(stale)


PII_KEY_FILE: Final = "pii.key"
SUPPRESSIONS_FILE: Final = "suppressions.json"


@dataclass(frozen=True)
class StatePaths:
    """Where a target's state lives, resolved once for a run: the run locks, the hashing key, the erasures.

    Args:
        locks: The folder of the run locks (the pipelines dir, or DLT_DATA_DIR's).
        key_file: The generated key that hashes personal data, beside it.
        suppressions_file: The project's list of erasures, beside the key.
    """

    locks: Path
    key_file: Path
    suppressions_file: Path

    @classmethod
    def of(cls, pipelines_dir: str | None) -> StatePaths:
        """The paths of the state kept for ``pipelines_dir`` (None: DLT_DATA_DIR's, else the project's)."""
        locks = lock_dir(pipelines_dir)
        return cls(locks, locks.parent / PII_KEY_FILE, locks.parent / SUPPRESSIONS_FILE)


MIN_KEY_LENGTH: Final = 16


def key_at(path: Path, configured: bytes | None) -> tuple[bytes, str | None]:
    """The key that hashes personal data: the configured one, else the one kept in ``path``.

    A generated key is saved atomically (temporary file, fsync, link into place) before it is
    used, so that nothing is ever hashed with a key that was not saved; a key file that exists but
    is empty or malformed (e.g. left by a full disk) is refused, not replaced.

    Args:
        path: The key file (``StatePaths.key_file``).
        configured: ``chatsync.pii_key``, which always wins.

    Returns:
        The key, and a notice when it was just generated (to be printed once).

    Raises:
        ConfigurationError: The key file is empty or malformed.
        StorageError: The key cannot be saved (e.g. a full disk).
    """
    if configured:
        return configured, None
    if path.exists():
        return _read_key(path), None
    key = secrets.token_hex(32)
    try:
        make_private(path.parent)
        write_atomically(path, key + "\n", overwrite=False)
    except FileExistsError:  # another run saved one first: use it
        return _read_key(path), None
    except OSError as exc:
        raise StorageError(
            f"cannot save the key that hashes personal data to {path}: {describe_os_error(exc, path)}; "
            "nothing was hashed or loaded"
        ) from None
    notice = (
        f"generated the key that hashes personal data: {path.resolve()}; back it up (or set chatsync.pii_key), "
        "since hashes made with another key will not match"
    )
    return key.encode(), notice


def _read_key(path: Path) -> bytes:
    try:
        text = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"cannot read the key that hashes personal data, {path}: {exc}") from None
    if len(text) < MIN_KEY_LENGTH or any(c.isspace() for c in text):
        state = "empty" if not text else "malformed"
        raise ConfigurationError(
            f"the key that hashes personal data, {path}, is {state}: restore it from your backup (hashes made "
            "with another key match nothing already stored), or delete it to start a new key"
        )
    return text.encode()


FULL_DISK: Final = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})


def describe_os_error(exc: OSError, path: Path | None = None) -> str:
    """``No space left on device (12 MB free on /data)``, or the error's own text.

    Args:
        exc: The error.
        path: The file being written, for errors that do not name one (a failed ``write``).
    """
    reason = exc.strerror or str(exc)
    written = exc.filename or path
    if exc.errno in FULL_DISK and written:
        return reason + free_space_note(Path(str(written)).parent)
    return reason


def free_space_note(folder: Path) -> str:
    """`` (12 MB free on /data)``, or nothing when the space cannot be told."""
    while not folder.exists() and folder != folder.parent:  # a folder the full disk did not let us create
        folder = folder.parent
    try:
        return f" ({shutil.disk_usage(folder).free / 1_000_000:,.0f} MB free on {folder})"
    except OSError:
        return ""
