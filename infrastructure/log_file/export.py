"""The log as a helionyx-log file (infrastructure/log_file/lines.py), streamed.

A consistent snapshot at constant memory: the head is read first, then the events up to
it, a page at a time, each page in a short read transaction of its own (rows at or below
a head never change: the triggers refuse it, so the pages join into one moment's log
while the service goes on appending after it). Payload and metadata are selected as the
text the database keeps, as the PostgreSQL verification selects them, and written as
they are.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator
from typing import BinaryIO

from sqlalchemy import Row, select

from domain.chain import iso_utc
from domain.events import LogHead
from domain.ports import Clock
from infrastructure.log_file.lines import Header, event_line, header_line
from infrastructure.tables import STORED_EVENT_COLUMNS, events, helionyx_meta
from infrastructure.unit_of_work import SqlUnitOfWorkFactory

PAGE_SIZE = 2000

_STORED = select(*STORED_EVENT_COLUMNS).order_by(events.c.seq)
_LOG_ID = select(helionyx_meta.c.value).where(helionyx_meta.c.key == "log_id")


async def snapshot_head(uow_factory: SqlUnitOfWorkFactory) -> tuple[str, LogHead]:
    """The log's id and its head now: what an export started now goes up to."""
    async with uow_factory() as uow:
        head = await uow.events.head()
        log_id = await uow.connection.scalar(_LOG_ID)
    return str(log_id or ""), head


async def stored_pages(
    uow_factory: SqlUnitOfWorkFactory, upto: int, *, page_size: int = PAGE_SIZE
) -> AsyncIterator[list[Row]]:
    """The rows with seq 1..upto as stored, in seq order, `page_size` at a time."""
    after = 0
    while after < upto:
        async with uow_factory() as uow:
            query = _STORED.where(events.c.seq > after, events.c.seq <= upto).limit(page_size)
            rows = list(await uow.connection.execute(query))
        if not rows:
            return
        yield rows
        after = rows[-1][0]


async def jsonl_export(
    uow_factory: SqlUnitOfWorkFactory, clock: Clock, *, page_size: int = PAGE_SIZE
) -> AsyncIterator[bytes]:
    """The header, then a chunk per page of events."""
    log_id, head = await snapshot_head(uow_factory)
    yield header_line(Header(log_id, iso_utc(clock.now()), head))
    async for rows in stored_pages(uow_factory, head.last_seq, page_size=page_size):
        yield "".join([event_line(*row) for row in rows]).encode("utf-8")


async def write_chunks(chunks: AsyncIterable[bytes], stream: BinaryIO) -> int:
    """Write an export to a binary stream as it is read; returns the bytes written."""
    written = 0
    async for chunk in chunks:
        stream.write(chunk)
        written += len(chunk)
    return written
