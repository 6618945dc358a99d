"""Reading the log: pages for clients, the head for status, and chain verification."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Protocol

from domain.chain import ChainReport, ChainVerifier, SealedRow, sealed_text_of
from domain.errors import NotFound
from domain.events import LogHead, RecordedEvent
from domain.ports import EventStore, UnitOfWorkFactory

Progress = Callable[[int], None]
OpenEvents = Callable[[], AbstractAsyncContextManager[EventStore]]


class ChainVerification(Protocol):
    """Recomputes the hash chain (`EventLog`, or a store's faster way to do the same)."""

    async def head(self) -> LogHead: ...

    async def verify(self, *, progress: Progress | None = None) -> ChainReport:
        """`progress` is told how many more events were checked, now and then."""
        ...


class EventLog:
    def __init__(self, uow_factory: UnitOfWorkFactory) -> None:
        self._uow_factory = uow_factory

    async def page(
        self, *, after_seq: int = 0, limit: int = 100, types: Sequence[str] | None = None
    ) -> list[RecordedEvent]:
        async with self._uow_factory() as uow:
            return await uow.events.read(after_seq=after_seq, limit=limit, types=types)

    async def get(self, seq: int) -> RecordedEvent:
        async with self._uow_factory() as uow:
            event = await uow.events.get(seq)
        if event is None:
            raise NotFound(f"no event with seq {seq}")
        return event

    async def head(self) -> LogHead:
        async with self._uow_factory() as uow:
            return await uow.events.head()

    async def verify(self, *, page_size: int = 10_000, progress: Progress | None = None
                     ) -> ChainReport:
        """Recompute the whole chain from seq 1, a unit of work per page (`verify_events`)."""
        return await verify_events(self._events, page_size=page_size, progress=progress)

    @asynccontextmanager
    async def _events(self) -> AsyncIterator[EventStore]:
        async with self._uow_factory() as uow:
            yield uow.events


async def verify_events(open_events: OpenEvents, *, page_size: int = 10_000,
                        progress: Progress | None = None, store_spelling: bool = True
                        ) -> ChainReport:
    """Recompute the chain from seq 1, naming every problem (`ChainVerifier`); each page
    is read from the store `open_events()` gives.

    Rows come as the text their hashes cover (`SealedRow`); a row whose text does not
    hash right is read in full and judged by its parsed content, as `hash_of` judges any
    event. With `store_spelling=False` that text is spelled here from the parsed events
    rather than by the store, for a caller that must not trust the store's spelling to be
    unambiguous. (Reading the next page while hashing this one bought nothing: the
    driver's thread and the hashing contend for the GIL row by row.)"""
    verifier = ChainVerifier()
    after = 0
    while True:
        async with open_events() as events:
            rows = await (events.read_sealed(after_seq=after, limit=page_size)
                          if store_spelling else _spelled_here(events, after, page_size))
            for row in verifier.rows_to_judge(rows):
                await _judge(events, verifier, row)
        if not rows:
            break
        after = rows[-1][0]
        if progress:
            progress(len(rows))
    return verifier.report()


async def _judge(events: EventStore, verifier: ChainVerifier, row: SealedRow) -> None:
    try:
        event = await events.get(row[0])
        if event is None:  # gone since the page was read: nothing left to judge it by
            verifier.unreadable(row, "it is no longer there")
        else:
            verifier.feed([event])
    except (TypeError, ValueError) as e:  # not JSON, not a time, not text
        verifier.unreadable(row, str(e))


async def _spelled_here(events: EventStore, after: int, limit: int) -> list[SealedRow]:
    try:
        return [(e.seq, e.prev_hash, e.hash, sealed_text_of(e))
                for e in await events.read(after_seq=after, limit=limit)]
    except (TypeError, ValueError):  # a row of the page cannot be read: each on its own
        return [(*row[:3], None) for row in await events.read_sealed(after_seq=after,
                                                                      limit=limit)]
