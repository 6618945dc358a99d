"""Reading the log: pages for clients, the head for status, and chain verification."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from domain.chain import ChainReport, ChainVerifier
from domain.errors import NotFound
from domain.events import LogHead, RecordedEvent
from domain.ports import UnitOfWorkFactory

Progress = Callable[[int], None]


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
        """Recompute the whole chain from seq 1; stops at the first break."""
        verifier = ChainVerifier()
        after = 0
        while True:
            async with self._uow_factory() as uow:
                page = await uow.events.read(after_seq=after, limit=page_size)
            if not page or not verifier.feed(page):
                break
            after = page[-1].seq
            if progress:
                progress(len(page))
        return verifier.report()
