"""Deriving objects from an extraction, and ingestion that derives them in one transaction."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from domain.derivation import caused_by, derivation_metadata, derive_objects
from domain.events import NewEvent, RecordedEvent
from domain.extraction import (
    ExtractedDecision,
    ExtractedNote,
    ExtractedTodo,
    ExtractedTrack,
    Extraction,
)
from domain.ingest import IngestService
from domain.messages import IncomingMessage
from domain.rules_extractor import RulesExtractor
from tests.fakes import InMemoryUnitOfWorkFactory

ITEMS = (
    ExtractedTodo("buy milk", "semi-skimmed", "high", date(2026, 11, 27), ("home",)),
    ExtractedNote("wifi", "on the router", ("home",)),
    ExtractedTrack("running", None, 3),
    ExtractedDecision("Use PostgreSQL", "two writers", ("SQLite", "PostgreSQL")),
)


class CountingExtractor:
    """Records every call; answers with fixed items, or with the rules."""

    def __init__(self, extraction: Extraction | None = None) -> None:
        self.extraction = extraction
        self.calls: list[tuple[str, datetime]] = []

    async def extract(self, text: str, *, now: datetime) -> Extraction:
        self.calls.append((text, now))
        if self.extraction is not None:
            return self.extraction
        return await RulesExtractor().extract(text, now=now)


@pytest.fixture
def factory():
    return InMemoryUnitOfWorkFactory()


async def record_message(uow, text: str = "a message") -> RecordedEvent:
    new = NewEvent("message.ingested", "message", "m-1", IncomingMessage(text).payload())
    [message] = await uow.events.append([new])
    return message


async def test_each_item_becomes_an_object_linked_to_the_message(factory):
    extraction = Extraction(ITEMS, extractor="llm", model="gpt-test")
    async with factory(write=True) as uow:
        message = await record_message(uow)
        events = await derive_objects(uow, extraction, message)
        await uow.commit()

    assert [e.type for e in events] == [
        "todo.created",
        "note.recorded",
        "track.started",
        "decision.recorded",
    ]
    assert [e.seq for e in events] == [2, 3, 4, 5]
    for event in events:
        assert event.metadata == {"caused_by_seq": 1, "extractor": "llm", "model": "gpt-test"}
        assert event.payload["source_event_seq"] == 1
    async with factory() as uow:
        todo = await uow.todos.get_by_number(1)
        note = await uow.notes.get_by_number(1)
        track = await uow.tracks.get_by_number(1)
        decision = await uow.decisions.get_by_number(1)
    assert (todo.title, todo.description, todo.priority) == ("buy milk", "semi-skimmed", "high")
    assert (todo.due, todo.tags, todo.source_event_seq) == (date(2026, 11, 27), ("home",), 1)
    assert (note.title, note.content, note.tags) == ("wifi", "on the router", ("home",))
    assert (track.title, track.check_in_every) == ("running", 3)
    assert (decision.rationale, decision.options) == ("two writers", ("SQLite", "PostgreSQL"))


def test_metadata_names_the_fallback_and_omits_what_is_unknown():
    fallen_back = Extraction((), extractor="rules", fallback_reason="http 500")
    assert derivation_metadata(fallen_back, 7) == {
        "caused_by_seq": 7,
        "extractor": "rules",
        "fallback_reason": "http 500",
    }
    assert derivation_metadata(Extraction((), extractor="rules"), 7) == {
        "caused_by_seq": 7,
        "extractor": "rules",
    }


async def test_an_empty_extraction_records_nothing(factory):
    async with factory(write=True) as uow:
        message = await record_message(uow)
        assert await derive_objects(uow, Extraction((), extractor="rules"), message) == []
        assert (await uow.events.head()).last_seq == 1


async def test_an_item_the_services_refuse_is_skipped(factory):
    extraction = Extraction((ExtractedTodo("  "), ExtractedNote("kept", "")), extractor="llm")
    async with factory(write=True) as uow:
        message = await record_message(uow)
        events = await derive_objects(uow, extraction, message)
    assert [e.type for e in events] == ["note.recorded"]


async def test_caused_by_reads_the_run_after_the_message_across_pages(factory):
    many = tuple(ExtractedNote(f"note {i}", "") for i in range(60))
    async with factory(write=True) as uow:
        first = await record_message(uow, "first")
        derived = await derive_objects(uow, Extraction(many, extractor="llm"), first)
        second = await record_message(uow, "second")
        await derive_objects(uow, Extraction(many[:1], extractor="llm"), second)
        assert await caused_by(uow.events, first) == derived
        assert len(await caused_by(uow.events, second)) == 1


async def test_ingest_derives_with_the_clock_date_in_the_same_transaction(factory):
    extractor = CountingExtractor()
    service = IngestService(factory, extractor, factory.clock)

    result = await service.ingest(IncomingMessage("todo: buy milk tomorrow !high #home"))

    assert extractor.calls == [("todo: buy milk tomorrow !high #home", factory.clock.now())]
    assert extractor.calls[0][1].date() == date(2026, 11, 26)
    assert result.event.type == "message.ingested"
    [created] = result.derived
    assert created.type == "todo.created"
    assert created.metadata == {"caused_by_seq": result.event.seq, "extractor": "rules"}
    assert created.payload["due"] == "2026-11-27"
    async with factory() as uow:
        todo = await uow.todos.get_by_number(1)
    assert (todo.priority, todo.tags, todo.source_event_seq) == ("high", ("home",), 1)


async def test_unprefixed_text_derives_nothing_with_the_rules(factory):
    service = IngestService(factory, RulesExtractor(), factory.clock)
    result = await service.ingest(IncomingMessage("just thinking aloud"))
    assert not result.derived
    assert len(factory.state.events) == 1


async def test_without_an_extractor_nothing_is_derived(factory):
    result = await IngestService(factory).ingest(IncomingMessage("todo: buy milk"))
    assert not result.derived and factory.state.todos == {}


def test_an_extractor_needs_a_clock(factory):
    with pytest.raises(ValueError, match="clock"):
        IngestService(factory, RulesExtractor())


async def test_a_replay_returns_the_original_derived_events_and_skips_the_extractor(factory):
    extractor = CountingExtractor()
    service = IngestService(factory, extractor, factory.clock)
    message = IncomingMessage("todo: buy milk", source="telegram", source_id="42")

    first = await service.ingest(message, idempotency_key="k-1")
    await service.ingest(IncomingMessage("note: something else"))
    again = await service.ingest(message, idempotency_key="k-1")

    assert again.replayed and not first.replayed
    assert again.event == first.event
    assert again.derived == first.derived and len(first.derived) == 1
    assert len(extractor.calls) == 2  # the replay did not extract again
    assert len(factory.state.todos) == 1 and len(factory.state.events) == 4


async def test_the_extractor_runs_before_the_write_lock_is_taken(factory):
    class LockSensingExtractor(CountingExtractor):
        async def extract(self, text: str, *, now: datetime) -> Extraction:
            self.locked = factory._lock.locked()
            return await super().extract(text, now=now)

    extractor = LockSensingExtractor()
    await IngestService(factory, extractor, factory.clock).ingest(IncomingMessage("todo: x"))
    assert extractor.locked is False


async def test_a_batch_derives_per_message_and_replays_duplicates(factory):
    extractor = CountingExtractor()
    service = IngestService(factory, extractor, factory.clock)
    messages = [
        IncomingMessage("todo: one", source="import", source_id="1"),
        IncomingMessage("plain words", source="import", source_id="2"),
        IncomingMessage("decide: two because reasons", source="import", source_id="3"),
        IncomingMessage("todo: one", source="import", source_id="1"),
    ]

    results = await service.ingest_batch(messages)

    assert [len(r.result.derived) for r in results] == [1, 0, 1, 1]
    assert results[3].result.replayed
    assert results[3].result.derived == results[0].result.derived
    assert [e.seq for e in factory.state.events] == [1, 2, 3, 4, 5]
    assert factory.state.events[4].metadata["caused_by_seq"] == 4

    again = await service.ingest_batch(messages[:1])
    assert again[0].result.replayed and again[0].result.derived == results[0].result.derived
    assert len(extractor.calls) == 4  # the whole second batch was already recorded


async def test_the_rules_run_without_looking_up_recorded_messages_first(factory):
    """Looking up which messages are recorded spares an extractor's call for each; the
    rules cost less than that lookup, so a batch they read opens its write transaction
    only. A redelivered batch is still replayed, with what it derived the first time."""
    opened: list[bool] = []

    def counting(*, write: bool = False):
        opened.append(write)
        return factory(write=write)

    messages = [
        IncomingMessage("todo: one", source="import", source_id="1"),
        IncomingMessage("plain words", source="import", source_id="2"),
    ]
    rules = IngestService(counting, RulesExtractor(), factory.clock)
    first = await rules.ingest_batch(messages)
    again = await rules.ingest_batch(messages)

    assert opened == [True, True]
    assert all(item.result.replayed for item in again)
    assert again[0].result.derived == first[0].result.derived
    assert len(factory.state.todos) == 1 and len(factory.state.events) == 3

    opened.clear()
    costly = IngestService(counting, CountingExtractor(), factory.clock)
    await costly.ingest_batch(messages)
    assert opened == [False, True]  # the lookup, then the write


async def test_a_failing_derivation_rolls_back_the_message_too(factory):
    async def failing(uow, message):
        raise RuntimeError("boom")

    service = IngestService(factory, RulesExtractor(), factory.clock)
    with pytest.raises(RuntimeError):
        await service.ingest(IncomingMessage("todo: x"), follow_up=failing)
    assert factory.state.events == []
