"""What the PostgreSQL backend's driver errors mean to the domain, in one place.

A unique key already taken (an idempotency key a second process recorded first) is
`Conflict`. Anything else asyncpg or the socket raises (a dropped connection, a server
shutting down, a full disk on the server) is the database's fault, not the request's:
the unit of work turns it into `StorageUnavailable` (infrastructure/unit_of_work.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import asyncpg
from sqlalchemy.exc import DBAPIError, IntegrityError

from domain.errors import Conflict

# asyncpg's own: what it raises to the calls made on it directly (driver.py,
# pending_rows.py). InternalClientError is what a statement gets on a connection whose
# end the server has announced but asyncpg has not finished reading ("cannot switch to
# state ...; another operation is in progress").
DRIVER_ERRORS = (
    DBAPIError,
    OSError,
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    asyncpg.exceptions.InternalClientError,
)


@contextmanager
def translated() -> Iterator[None]:
    try:
        yield
    except IntegrityError as e:
        raise Conflict("an idempotency key is already recorded") from e
