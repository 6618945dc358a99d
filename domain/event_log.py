"""Reading the log: pages for clients and the head for status; what verifies the chain."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from domain.chain import ChainReport, ChainVerifier
from domain.errors import NotFound
from domain.events import LogHead, RecordedEvent
from domain.listing import BY_NUMBER, Key, Page, number, page_of
from domain.ports import UnitOfWorkFactory

Progress = Callable[[int], None]


class ChainVerification(Protocol):
    """Recomputes the hash chain with `domain.chain.ChainVerifier`, every row judged as
    `hash_of` judges it; each backend has its own (infrastructure/sqlite/verification.py,
    infrastructure/postgres/verification.py)."""

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

    async def listed(
        self,
        *,
        after: str | None = None,
        after_seq: int = 0,
        limit: int = 100,
        types: Sequence[str] | None = None,
    ) -> Page[RecordedEvent]:
        """By seq, after the cursor `after` or else after `after_seq`; `total` counts the
        events of `types` (every event when none: the head's seq, as seq has no gaps)."""
        async with self._uow_factory() as uow:

            async def read(key: Key | None, n: int) -> list[RecordedEvent]:
                start = after_seq if key is None else number(key[0])
                return await uow.events.read(after_seq=start, limit=n, types=types)

            async def total() -> int:
                if not types:
                    return (await uow.events.head()).count
                counts = await uow.events.count_by_type()
                return sum(counts.get(name, 0) for name in set(types))

            return await page_of(
                "events", BY_NUMBER, after, limit, read, lambda event: (event.seq,), total
            )

    async def get(self, seq: int) -> RecordedEvent:
        async with self._uow_factory() as uow:
            event = await uow.events.get(seq)
        if event is None:
            raise NotFound(f"no event with seq {seq}")
        return event

    async def head(self) -> LogHead:
        async with self._uow_factory() as uow:
            return await uow.events.head()

    async def verify(
        self, *, page_size: int = 10_000, progress: Progress | None = None
    ) -> ChainReport:
        """The chain recomputed from the events as the store reads them back, every one
        judged by `hash_of`: the specification's verification, which each backend's own
        (faster, and naming rows it cannot read) agrees with. It serves the in-memory
        stores; a row that cannot be read raises."""
        verifier = ChainVerifier()
        after = 0
        while True:
            async with self._uow_factory() as uow:
                page = await uow.events.read(after_seq=after, limit=page_size)
            if not page:
                return verifier.report()
            verifier.feed(page)
            after = page[-1].seq
            if progress:
                progress(len(page))
