"""Loading a helionyx-log file into an empty database, as it is: the same seqs, ids,
payload and metadata text, times and hashes. Nothing is sealed again.

The file is checked whole first (infrastructure/log_file/reading.py), then read again
inside one write unit of work, checked again line by line as it goes in (the file could
change between the two readings) and inserted in batches; any problem rolls the whole
import back, so a bad file or a database that is not empty stores nothing. Then the
caller verifies the chain as the database sees it and rebuilds the read models.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import Text, bindparam

from domain.events import LogHead
from infrastructure.log_file.lines import Header
from infrastructure.log_file.reading import FileProblem, LogFileReader, check_file
from infrastructure.sealing import Sealed
from infrastructure.tables import events
from infrastructure.unit_of_work import SqlUnitOfWorkFactory

BATCH_SIZE = 1000
# Payload and metadata bound as the text the file holds, not serialized again by the
# column's type (infrastructure.tables.CanonicalJson), on either database.
_INSERT = events.insert().values(
    payload=bindparam("payload", type_=Text()), metadata=bindparam("metadata", type_=Text())
)


class DatabaseNotEmpty(Exception):
    def __init__(self, head: LogHead) -> None:
        super().__init__(
            f"the database already holds {head.last_seq} events (head seq {head.last_seq})"
        )
        self.head = head


async def import_log(
    uow_factory: SqlUnitOfWorkFactory,
    path: Path,
    *,
    batch_size: int = BATCH_SIZE,
    progress: Callable[[int], None] | None = None,
) -> Header:
    """The file's events, in one transaction. FileProblem (the first bad line),
    DatabaseNotEmpty, OSError (the file cannot be read): nothing was stored."""
    async with uow_factory() as uow:  # before reading a large file for nothing
        head = await uow.events.head()
    if head.last_seq:
        raise DatabaseNotEmpty(head)
    header = check_file(path).header
    async with uow_factory(write=True) as uow:
        head = await uow.events.head()  # again, under the writer lock
        if head.last_seq:
            raise DatabaseNotEmpty(head)
        with path.open("rb") as stream:
            reader = LogFileReader(stream)
            if reader.header != header:
                raise FileProblem(1, "changed while it was being imported")
            batch: list[dict[str, Any]] = []
            for sealed in reader.events():
                batch.append(_row(sealed))
                if len(batch) == batch_size:
                    await uow.connection.execute(_INSERT, batch)
                    if progress is not None:
                        progress(len(batch))
                    batch = []
            if batch:
                await uow.connection.execute(_INSERT, batch)
                if progress is not None:
                    progress(len(batch))
        await uow.commit()
    return header


def _row(sealed: Sealed) -> dict[str, Any]:
    values = sealed.event._asdict()
    values["payload"], values["metadata"] = sealed.payload_json, sealed.metadata_json
    return values
