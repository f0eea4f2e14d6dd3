"""Files written whole or not at all: a temporary file beside the target, fsync, then into place."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_atomically(path: Path, text: str, *, overwrite: bool) -> None:
    """Writes ``path`` whole or not at all; a crash or a full disk never leaves half a file under its name.

    The temporary file has a unique name, so two writers never share one.

    Args:
        path: The file.
        text: Its whole content.
        overwrite: Replace an existing file; without it an existing file wins.

    Raises:
        FileExistsError: ``path`` exists and ``overwrite`` is false.
        OSError: The write failed (nothing was put in place).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        if overwrite:
            os.replace(temporary, path)
        else:
            os.link(temporary, path)  # fails if it exists
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
