"""Group commit: concurrent single-message ingests share a transaction and one commit, and
the log stays what it must be: gap-free seq, an unbroken chain, one event per message, each
caller answered only after its commit, and one item's failure never another's."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from domain.errors import IdempotencyConflict, StorageUnavailable
from domain.event_log import EventLog
from domain.events import NewEvent
from domain.ingest import IngestService
from domain.messages import IncomingMessage
from infrastructure.database import create_engine
from infrastructure.group_commit import GroupCommit
from infrastructure.migrate import upgrade
from infrastructure.unit_of_work import SqlUnitOfWorkFactory
from tests.fakes import FakeClock


def grouped(factory) -> IngestService:
    """An ingest service whose single messages are group-committed, as the container's."""
    return IngestService(factory, writes=GroupCommit(factory))


class CountingFactory:
    """The real unit-of-work factory, counting the write transactions it opens."""

    def __init__(self, inner: SqlUnitOfWorkFactory, *, fail_commits: bool = False) -> None:
        self.inner = inner
        self.writes = 0
        self.fail_commits = fail_commits

    def __call__(self, *, write: bool = False):
        uow = self.inner(write=write)
        if write:
            self.writes += 1
            if self.fail_commits:

                async def commit() -> None:
                    raise StorageUnavailable("the database did not commit")

                uow.commit = commit  # type: ignore[method-assign]
        return uow


@pytest.fixture
async def sql_factory(database_url: str) -> AsyncIterator[SqlUnitOfWorkFactory]:
    engine = create_engine(database_url)
    await upgrade(engine, "dev")
    try:
        yield SqlUnitOfWorkFactory(engine, FakeClock())
    finally:
        await engine.dispose()


async def stored(factory) -> list:
    async with factory() as uow:
        return await uow.events.read(after_seq=0, limit=100_000)


async def assert_log_intact(factory, count: int) -> None:
    events = await stored(factory)
    assert [e.seq for e in events] == list(range(1, count + 1))
    report = await EventLog(factory).verify()
    assert report.intact and report.count == count, report


async def test_concurrent_ingests_share_commits_and_keep_the_chain(sql_factory):
    factory = CountingFactory(sql_factory)
    service = grouped(factory)
    results = await asyncio.gather(
        *(service.ingest(IncomingMessage(f"message {n}")) for n in range(120))
    )
    await service.close()
    assert sorted(r.event.seq for r in results) == list(range(1, 121))
    assert factory.writes < 120, "no two messages shared a commit"
    events = {e.seq: e for e in await stored(sql_factory)}
    for n, result in enumerate(results):
        assert events[result.event.seq] == result.event
        assert result.event.payload["text"] == f"message {n}"
    await assert_log_intact(sql_factory, 120)


async def test_concurrent_api_ingests_keep_seq_gap_free(client, container):
    async def post(n: int):
        return await client.post("/api/v1/ingest/message", json={"text": f"note {n}"})

    responses = await asyncio.gather(*(post(n) for n in range(100)))
    assert {r.status_code for r in responses} == {201}
    assert sorted(r.json()["seq"] for r in responses) == list(range(1, 101))
    report = await container.event_log().verify()
    assert report.intact and report.count == 100


async def test_one_key_twice_in_a_group_is_a_replay_of_the_first(sql_factory):
    factory = CountingFactory(sql_factory)
    service = grouped(factory)
    message = IncomingMessage("pay the rent", source="telegram", source_id="update-7")
    first, second, third = await asyncio.gather(
        service.ingest(message, idempotency_key="k-1"),
        service.ingest(message, idempotency_key="k-1"),
        service.ingest(message),
    )  # the same (source, source_id): the same message again
    await service.close()
    assert factory.writes == 1, "the three were not grouped"
    assert not first.replayed and second.replayed and third.replayed
    assert first.event == second.event == third.event
    await assert_log_intact(sql_factory, 1)


async def test_the_api_answers_a_repeated_key_in_one_group_with_the_original(client):
    async def post():
        return await client.post(
            "/api/v1/ingest/message", json={"text": "once"}, headers={"Idempotency-Key": "same-key"}
        )

    responses = await asyncio.gather(*(post() for _ in range(10)))
    assert sorted(r.status_code for r in responses) == [200] * 9 + [201]
    assert len({r.json()["event_id"] for r in responses}) == 1
    state = (await client.get("/api/v1/state")).json()
    assert state["events"]["count"] == 1


async def test_a_conflicting_item_does_not_fail_its_neighbours(sql_factory):
    service = grouped(sql_factory)
    await service.ingest(IncomingMessage("the original"), idempotency_key="taken")
    factory = CountingFactory(sql_factory)
    service = grouped(factory)
    outcomes = await asyncio.gather(
        service.ingest(IncomingMessage("before")),
        service.ingest(IncomingMessage("another message"), idempotency_key="taken"),
        service.ingest(IncomingMessage("first use"), idempotency_key="new"),
        service.ingest(IncomingMessage("second use, other text"), idempotency_key="new"),
        service.ingest(IncomingMessage("after")),
        return_exceptions=True,
    )
    await service.close()
    assert factory.writes == 1
    before, taken, first_use, second_use, after = outcomes
    assert isinstance(taken, IdempotencyConflict)
    assert isinstance(second_use, IdempotencyConflict)
    assert [before.event.seq, first_use.event.seq, after.event.seq] == [2, 3, 4]
    texts = [e.payload["text"] for e in await stored(sql_factory)]
    assert texts == ["the original", "before", "first use", "after"]
    await assert_log_intact(sql_factory, 4)


async def test_storage_unavailable_fails_every_item_and_stores_nothing(sql_factory):
    service = grouped(CountingFactory(sql_factory, fail_commits=True))
    outcomes = await asyncio.gather(
        *(service.ingest(IncomingMessage(f"lost {n}")) for n in range(6)), return_exceptions=True
    )
    await service.close()
    assert all(isinstance(o, StorageUnavailable) for o in outcomes), outcomes
    assert await stored(sql_factory) == []


async def test_an_unexpected_failure_retries_each_item_alone(sql_factory):
    async def write(uow, items):
        if "poison" in items:
            raise RuntimeError("a bug, say")
        recorded = await uow.events.append(
            [NewEvent("test.happened", "test", item, {"item": item}) for item in items]
        )
        return [event.seq for event in recorded]

    factory = CountingFactory(sql_factory)
    writer = GroupCommit(factory)
    outcomes = await asyncio.gather(
        *(writer.submit(write, item) for item in ["a", "b", "poison", "c"]), return_exceptions=True
    )
    await writer.close()
    assert isinstance(outcomes[2], RuntimeError)
    assert outcomes[:2] + outcomes[3:] == [1, 2, 3]
    assert factory.writes == 5  # the group, rolled back, then each of the four alone
    await assert_log_intact(sql_factory, 3)


async def test_close_commits_what_is_queued_then_writes_alone(sql_factory):
    factory = CountingFactory(sql_factory)
    service = grouped(factory)
    pending = [
        asyncio.ensure_future(service.ingest(IncomingMessage(f"in flight {n}"))) for n in range(20)
    ]
    await asyncio.sleep(0)  # queued, not yet committed
    await service.close()
    assert all(task.done() and task.exception() is None for task in pending)
    late = await service.ingest(IncomingMessage("after close"))
    assert late.event.seq == 21
    await assert_log_intact(sql_factory, 21)


async def rounds(count: int) -> None:
    """Let the event loop go round `count` times."""
    for _ in range(count):
        await asyncio.sleep(0)


class SizeRecorder:
    """A write function that stores nothing and records each group's size."""

    def __init__(self) -> None:
        self.sizes: list[int] = []

    async def __call__(self, uow, items):
        self.sizes.append(len(items))
        return list(items)


async def test_groups_are_bounded(sql_factory):
    factory = CountingFactory(sql_factory)
    write = SizeRecorder()
    writer = GroupCommit(factory, max_batch=8, max_queued=16)
    assert await asyncio.gather(*(writer.submit(write, n) for n in range(50))) == list(range(50))
    await writer.close()
    assert max(write.sizes) <= 8 and sum(write.sizes) == 50


async def staggered_groups(writer: GroupCommit) -> list[int]:
    """The sizes of the groups 16 callers make, each reaching the queue 0-3 rounds of the
    event loop after the start, as requests do after their bytes arrive."""
    write = SizeRecorder()

    async def caller(n: int) -> int:
        await rounds(n % 4)
        return await writer.submit(write, n)

    assert await asyncio.gather(*(caller(n) for n in range(16))) == list(range(16))
    await writer.close()
    return write.sizes


async def test_callers_that_arrive_over_a_few_rounds_share_one_commit(sql_factory):
    """Committing at once would split them into two groups or more."""
    assert await staggered_groups(GroupCommit(sql_factory)) == [16]


async def test_the_writer_need_not_wait(sql_factory):
    """Without rounds to wait, the writer takes only what is queued when it wakes."""
    sizes = await staggered_groups(GroupCommit(sql_factory, quiet_rounds=0, max_rounds=0))
    assert len(sizes) > 1 and sum(sizes) == 16
    with pytest.raises(ValueError):
        GroupCommit(sql_factory, quiet_rounds=-1)


async def test_a_caller_that_comes_every_round_does_not_hold_a_group_back(sql_factory):
    """The writer waits for a quiet round, but not for ever: a group is committed within
    `max_rounds` rounds of the loop, however busy."""
    write = SizeRecorder()
    writer = GroupCommit(sql_factory, max_rounds=32)  # and max_batch 256
    first = asyncio.ensure_future(writer.submit(write, 0))
    later = []
    while not first.done() and len(later) < 1000:
        later.append(asyncio.ensure_future(writer.submit(write, len(later) + 1)))
        await rounds(1)
    assert await first == 0
    # The first caller, then one a round: 32 rounds, and the one of the round it began.
    assert write.sizes[0] <= 34, f"the first group waited for {write.sizes[0]} callers"
    assert await asyncio.gather(*later) == list(range(1, len(later) + 1))
    await writer.close()


async def test_a_writer_cancelled_while_it_gathers_leaves_no_caller_waiting(sql_factory):
    writer = GroupCommit(sql_factory)
    caller = asyncio.ensure_future(writer.submit(SizeRecorder(), 1))
    await rounds(2)  # queued; the writer has taken it and is letting the loop run
    [group] = writer._groups.values()
    assert group._writer is not None and not group._writer.done()
    group._writer.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(caller, timeout=5)
    assert await stored(sql_factory) == []
