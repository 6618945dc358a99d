"""Making a file's name, not only its content, survive a power loss."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path


def fsync_directory(path: Path) -> None:
    """fsync a directory, so the names created or replaced in it are durable
    (https://man7.org/linux/man-pages/man2/fsync.2.html, "Calling fsync() does not
    necessarily ensure that the entry in the directory containing the file has also
    reached disk"). Where a file system refuses to fsync a directory, nothing more can
    be done."""
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
