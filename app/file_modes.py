"""Files that hold secrets or the owner's data are for the owner alone.

Every process of the service and its commands runs with umask 077, so what it creates
(the SQLite database and its WAL, backups, manifests, digests, the run file) is 0600 in
0700 directories. At start, a `.env.<tier>` or a data directory that others can read is
refused on live and reported on dev and staging, as ssh refuses a private key others can
read (https://man.openbsd.org/ssh#FILES).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from sqlalchemy.engine import make_url

from app.settings import Settings
from infrastructure.backends import backend_for

PRIVATE_UMASK = 0o077


def keep_private() -> None:
    os.umask(PRIVATE_UMASK)


def exposed(settings: Settings) -> list[str]:
    """One line per secrets file or data directory that others may read or write."""
    found = []
    for path in _private_paths(settings):
        try:
            mode = stat.S_IMODE(path.stat().st_mode)
        except OSError:
            continue  # not there (yet): created private
        if mode & 0o077:
            fix = "chmod 600" if path.is_file() else "chmod 700"
            found.append(f"{path} is readable by others (mode {mode:o}): {fix} {path}")
    return found


def _private_paths(settings: Settings) -> list[Path]:
    paths = [
        settings.root / f".env.{settings.tier}",
        settings.root / "var" / settings.tier,
        settings.digest_dir,
    ]
    url = make_url(settings.database_url)
    database = backend_for(url).database_file(url)
    if database is not None:
        paths.append(database.parent)
    return list(dict.fromkeys(paths))
