"""What the SQLite backend's driver errors mean to the domain, in one place.

`sqlite3.IntegrityError` is a unique key already taken (the only constraint a write of
ours can break: an idempotency key, which the writer looked up under the lock, so only a
second process could have taken it since; or an object's id or number): `Conflict`.
Any other `sqlite3.Error` (a full disk, a locked or unreadable file, I/O) is the
database's fault, not the request's:
`StorageUnavailable`, naming the driver's own words (never a secret). SQLAlchemy wraps the
same errors as `DBAPIError` on the statements that go through it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.exc import DBAPIError, IntegrityError

from domain.errors import Conflict, StorageUnavailable
from infrastructure.database import cause

DRIVER_ERRORS = (DBAPIError, sqlite3.Error, OSError)


@contextmanager
def translated(doing: str, taken: str = "an idempotency key") -> Iterator[None]:
    """`doing`: what failed, for the message ("take the events"); `taken`: what a unique
    key already taken would be."""
    try:
        yield
    except (sqlite3.IntegrityError, IntegrityError) as e:
        raise Conflict(f"{taken} is already recorded") from e
    except DRIVER_ERRORS as e:
        raise StorageUnavailable(f"the database did not {doing} ({cause(e)})") from e
