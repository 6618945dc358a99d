"""Any payload and metadata the log accepts read back as they were sealed, on SQLite and
PostgreSQL alike, and the chain then verifies: the hash covers what the database holds
(numbers included: 1e16 stays a float, -0.0 keeps its sign, integers of any length keep
every digit)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.chain import canonical_json
from domain.events import NewEvent

# Numbers JSONB would have spelled otherwise, and the edges of a double.
_AWKWARD_FLOATS = [
    -0.0,
    0.0,
    1e16,
    -1e16,
    1.5e300,
    12345678901234567890.0,
    5e-324,
    -5e-324,
    1e-7,
    1.7976931348623157e308,
    2.2250738585072014e-308,
    123.0,
]
_AWKWARD_INTS = [
    2**53 + 1,
    2**63,
    2**64,
    -(2**63) - 1,
    10**16,
    2**70,
    10**300,
    10**4299,
    -(10**4299),
]  # 10**4299: 4300 digits, Python's limit

_text = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=12)
_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(10**400), max_value=10**400),
    st.sampled_from(_AWKWARD_INTS),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(_AWKWARD_FLOATS),
    _text,
)
_json = st.recursive(
    _scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(_text, children, max_size=4),
    max_leaves=12,
)
_objects = st.dictionaries(_text, _json, max_size=5)
_events = st.lists(st.tuples(_objects, _objects), min_size=1, max_size=3)


async def test_arbitrary_json_reads_back_as_sealed_and_the_chain_verifies(container):
    factory = container.uow_factory()
    loop = asyncio.get_running_loop()
    appended: list[str] = []  # every event's sealed payload and metadata, in seq order

    async def round_trip(drawn: list[tuple[dict, dict]]) -> None:
        news = []
        for n, (payload, metadata) in enumerate(drawn):
            news.append(
                NewEvent(
                    type="test.happened",
                    aggregate_type="test",
                    aggregate_id=f"a{len(appended) + n}",
                    payload=payload,
                    metadata=metadata,
                    occurred_at=datetime(2026, 12, 6, 12, 0, 0, 123456, tzinfo=UTC),
                )
            )
        async with factory(write=True) as uow:
            recorded = await uow.events.append(news)
            await uow.commit()
        expected = [canonical_json([payload, metadata]) for payload, metadata in drawn]
        assert [canonical_json([e.payload, e.metadata]) for e in recorded] == expected
        async with factory() as uow:
            got = [await uow.events.get(e.seq) for e in recorded]
            page = await uow.events.read(after_seq=recorded[0].seq - 1, limit=len(recorded))
        for events in (got, page):
            assert [canonical_json([e.payload, e.metadata]) for e in events] == expected
            assert [e.hash for e in events] == [e.hash for e in recorded]
        appended.extend(expected)

    # Hypothesis runs its examples here, in a thread; each one runs on the test's event
    # loop, where the container's engine belongs.
    @settings(
        max_examples=40,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(_events)
    def examples(drawn: list[tuple[dict, dict]]) -> None:
        asyncio.run_coroutine_threadsafe(round_trip(drawn), loop).result(timeout=60)

    await asyncio.to_thread(examples)

    assert appended
    for report in (
        await container.event_log().verify(),
        await container.chain_verification().verify(),
    ):
        assert report.intact, report.problem
        assert report.count == len(appended)
    async with factory() as uow:
        everything = await uow.events.read(after_seq=0, limit=len(appended) + 1)
    assert [canonical_json([e.payload, e.metadata]) for e in everything] == appended
