"""Reading the log: pages for clients, the head for status, and chain verification."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from domain.chain import ChainReport, ChainVerifier
from domain.errors import NotFound
from domain.events import LogHead, RecordedEvent
from domain.ports import UnitOfWorkFactory

Progress = Callable[[int], None]


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
        """Recompute the whole chain from seq 1; stops at the first break.

        Rows come as the text their hashes cover (`SealedRow`); a row whose text does not
        hash right is read in full and judged by its parsed content, as `hash_of` judges
        any event. (Reading the next page while hashing this one bought nothing: the
        driver's thread and the hashing contend for the GIL row by row.)"""
        verifier = ChainVerifier()
        after = 0
        while True:
            async with self._uow_factory() as uow:
                rows = await uow.events.read_sealed(after_seq=after, limit=page_size)
                at = verifier.feed_sealed(rows)
                while at < len(rows) and not verifier.broken:
                    event = await uow.events.get(rows[at][0])
                    if event is None or not verifier.feed([event]):
                        break
                    at = verifier.feed_sealed(rows, at + 1)
            if not rows or verifier.broken:
                break
            after = rows[-1][0]
            if progress:
                progress(len(rows))
        return verifier.report()
