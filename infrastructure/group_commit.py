"""Group commit: one writer drains queued writes and commits them together; a `Writes`
policy (domain/ports.py) the container turns on for the service's single messages.

Every durable commit costs an fsync (SQLite `synchronous=FULL`, PostgreSQL
`synchronous_commit=on`) and a round of statements, and writers serialize on the chain
head anyway. So instead of each request taking the writer lock and committing alone,
requests queue their items; a single writer task takes whatever has queued up (at most
`max_batch`), hands it to `write` inside one write unit of work, commits once, and only
then resolves each caller. While it commits, the next group gathers; and before it
begins, the writer lets the event loop run until a round of it brings nothing new, so that
requests already read off their sockets join this commit rather than wait out the next
one (`_gather`). Seq stays gap-free
and the chain unforked for the same reason as before: everything happens under the one
writer lock, in queue order.

`write(uow, items)` returns one outcome per item: a result, or a `DomainError` for an
item it refused without writing anything for it (an idempotency conflict); the others
still commit. If `write` raises instead, part of the group may be in the transaction:
it is rolled back and each item is written again alone, in its own transaction, so one
bad item cannot fail its neighbours. `StorageUnavailable` (the database would not begin
or commit) fails the whole group: nothing of it is stored, and every caller hears so.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, NamedTuple, TypeVar

from domain.errors import DomainError, StorageUnavailable
from domain.ports import UnitOfWorkFactory, Write

Item = TypeVar("Item")
Result = TypeVar("Result")

log = logging.getLogger(__name__)

# Before each commit, the writer lets the event loop run while it brings more to the group
# (`_Group._gather`): it stops after this many rounds in a row that bring nothing, and
# after this many rounds in all. Chosen by measurement (docs/PERFORMANCE.md, round 14).
QUIET_ROUNDS = 4
MAX_ROUNDS = 32


@dataclass
class _Queued(Generic[Item]):
    item: Item
    done: asyncio.Future[Any] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class GroupCommit:
    """`Writes` by groups: each write function gets its queue and its writer task."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        *,
        max_batch: int = 256,
        max_queued: int = 4096,
        quiet_rounds: int = QUIET_ROUNDS,
        max_rounds: int = MAX_ROUNDS,
    ) -> None:
        if max_batch < 1 or max_queued < 1:
            raise ValueError("max_batch and max_queued must be at least 1")
        if quiet_rounds < 0 or max_rounds < 0:
            raise ValueError("quiet_rounds and max_rounds must not be negative")
        self._uow_factory = uow_factory
        self._limits = _Limits(max_batch, max_queued, quiet_rounds, max_rounds)
        self._groups: dict[Write[Any, Any], _Group[Any, Any]] = {}
        self._closed = False

    async def submit(self, write: Write[Item, Result], item: Item) -> Result:
        """Write `item` with the next group of `write`'s items; returns once that group
        has committed. After `close()`, the item is written alone."""
        group = self._groups.get(write)
        if group is None:
            group = self._groups[write] = _Group(self._uow_factory, write, self._limits)
            if self._closed:
                await group.close()
        result: Result = await group.submit(item)
        return result

    async def close(self) -> None:
        """Stop grouping; write and commit what is already queued. Safe to call twice."""
        self._closed = True
        for group in list(self._groups.values()):
            await group.close()


class _Limits(NamedTuple):
    max_batch: int  # items in one group
    max_queued: int  # items waiting, beyond which a caller waits for room
    quiet_rounds: int  # rounds of the event loop in a row that bring nothing: commit
    max_rounds: int  # rounds the writer lets run before a commit, at most


class _Group(Generic[Item, Result]):
    def __init__(
        self, uow_factory: UnitOfWorkFactory, write: Write[Item, Result], limits: _Limits
    ) -> None:
        self._uow_factory = uow_factory
        self._write = write
        self._limits = limits
        self._queue: asyncio.Queue[_Queued[Item] | None] | None = None
        self._writer: asyncio.Task[None] | None = None
        self._closed = False

    async def submit(self, item: Item) -> Result:
        """Write `item` with the next group; returns once that group has committed.

        After `close()`, the item is written alone, in its own transaction."""
        if self._closed:
            return await self._alone(item)
        queued: _Queued[Item] = _Queued(item)
        await self._start().put(queued)  # a full queue holds the caller back
        result: Result = await queued.done
        return result

    async def close(self) -> None:
        """Stop grouping; write and commit what is already queued. Safe to call twice."""
        self._closed = True
        if self._writer is None or self._queue is None:
            return
        await self._queue.put(None)
        await self._writer
        self._writer = None
        # Callers that were still waiting for room when the writer stopped.
        leftovers: list[_Queued[Item]] = []
        while not self._queue.empty():
            if (queued := self._queue.get_nowait()) is not None:
                leftovers.append(queued)
        await self._one_by_one(leftovers)

    def _start(self) -> asyncio.Queue[_Queued[Item] | None]:
        if self._queue is None:
            self._queue = asyncio.Queue(self._limits.max_queued)
        if self._writer is None:
            self._writer = asyncio.get_running_loop().create_task(self._drain())
        return self._queue

    async def _drain(self) -> None:
        assert self._queue is not None
        stopping = False
        while not stopping:
            batch = [await self._queue.get()]
            try:
                await self._gather(self._queue, batch)
            except BaseException:  # cancelled while it gathered: no caller left waiting
                _cancel(batch)
                raise
            stopping = None in batch
            # A caller that gave up (was cancelled) before its turn has nothing recorded.
            live = [q for q in batch if q is not None and not q.done.done()]
            if not live:
                continue
            try:
                await self._commit(live)
            except Exception as e:  # the writer must outlive any one group
                _fail(live, e)
            except BaseException:
                _cancel(live)
                raise

    async def _gather(
        self, queue: asyncio.Queue[_Queued[Item] | None], batch: list[_Queued[Item] | None]
    ) -> None:
        """Add to `batch` what is queued, and what the event loop brings while it runs,
        until `quiet_rounds` rounds of it in a row bring nothing (or after `max_rounds`,
        or with a full group, or once `close()` has asked to stop).

        A request reaches the queue some rounds after its bytes do (read, parsed, routed).
        Committing at once splits the callers into cohorts that wait out each other's
        commits: 16 busy connections settled into groups of 1 and 15 by turns, twice the
        commits the same messages need in groups of 16, and each commit's fixed cost (the
        writer lock, the head, the fsync's round) paid twice. Letting the requests already
        read join the group kept the groups at 16 and took the same load from a median of
        1,463 to 1,781 requests/s on SQLite (seven alternated pairs), and from 1,267-1,413
        to 1,519-1,700 on PostgreSQL (docs/PERFORMANCE.md, round 14). With nothing else to
        do, a round takes microseconds: a message alone waits only those few."""
        limits = self._limits
        quiet = rounds = 0
        while True:
            while len(batch) < limits.max_batch and not queue.empty():
                batch.append(queue.get_nowait())
                quiet = 0
            if (
                len(batch) >= limits.max_batch
                or batch[-1] is None
                or quiet >= limits.quiet_rounds
                or rounds >= limits.max_rounds
            ):
                return
            await asyncio.sleep(0)  # one round of the event loop
            rounds += 1
            quiet += 1

    async def _commit(self, batch: list[_Queued[Item]]) -> None:
        try:
            async with self._uow_factory(write=True) as uow:
                outcomes = await self._write(uow, [q.item for q in batch])
                await uow.commit()
        except StorageUnavailable as e:
            _fail(batch, e)
            return
        except Exception as e:
            if len(batch) == 1:
                _fail(batch, e)
                return
            log.warning(
                "a group of %d writes failed; writing each alone", len(batch), exc_info=True
            )
            await self._one_by_one(batch)
            return
        for queued, outcome in zip(batch, outcomes, strict=True):
            _resolve(queued, outcome)

    async def _one_by_one(self, batch: list[_Queued[Item]]) -> None:
        for queued in batch:
            if queued.done.done():
                continue
            try:
                _resolve(queued, await self._alone(queued.item))
            except Exception as e:
                _resolve(queued, e)

    async def _alone(self, item: Item) -> Result:
        async with self._uow_factory(write=True) as uow:
            [outcome] = await self._write(uow, [item])
            if isinstance(outcome, DomainError):
                raise outcome
            await uow.commit()
            return outcome


def _resolve(queued: _Queued[Any], outcome: Any) -> None:
    if queued.done.done():
        return
    if isinstance(outcome, BaseException):
        queued.done.set_exception(outcome)
    else:
        queued.done.set_result(outcome)


def _cancel(batch: Sequence[_Queued[Any] | None]) -> None:
    for queued in batch:
        if queued is not None:
            queued.done.cancel()


def _fail(batch: list[_Queued[Any]], error: Exception) -> None:
    for queued in batch:
        _resolve(queued, error)
