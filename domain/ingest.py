"""Ingestion: record what the owner said, once, whatever the channel, and derive from it.

The extractor runs before the write transaction opens: an LLM call can take seconds and
must not hold the database's writer lock. The message event and everything derived from
it are then recorded in one transaction, so either all of it is in the log or none is.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from domain.derivation import FollowUp, caused_by, deriving
from domain.errors import IdempotencyConflict
from domain.events import NewEvent, RecordedEvent
from domain.extraction import Extractor
from domain.messages import MESSAGE_INGESTED, IncomingMessage
from domain.ports import Clock, IdempotencyRecord, UnitOfWork, UnitOfWorkFactory


@dataclass(frozen=True)
class IngestResult:
    event: RecordedEvent
    derived: list[RecordedEvent] = field(default_factory=list)
    replayed: bool = False


@dataclass(frozen=True)
class BatchItemResult:
    index: int
    result: IngestResult | None = None
    error: str | None = None


def idempotency_records_of(event: RecordedEvent) -> list[IdempotencyRecord]:
    """The idempotency records a message event implies; rebuild derives them the same way."""
    if event.type != MESSAGE_INGESTED:
        return []
    keys = event.metadata.get("idempotency_keys", [])
    request_hash = event.metadata.get("request_hash", "")
    return [IdempotencyRecord(key, event.seq, request_hash) for key in keys]


async def _nothing(uow: Any, message: RecordedEvent) -> list[RecordedEvent]:
    return []


class IngestService:
    """Without an extractor, messages are recorded and nothing is derived from them."""

    def __init__(
        self,
        uow_factory: UnitOfWorkFactory,
        extractor: Extractor | None = None,
        clock: Clock | None = None,
    ) -> None:
        if extractor is not None and clock is None:
            raise ValueError("an extractor needs a clock, to know what 'tomorrow' means")
        self._uow_factory = uow_factory
        self._extractor = extractor
        self._clock = clock

    async def ingest(
        self,
        message: IncomingMessage,
        *,
        idempotency_key: str | None = None,
        context: Mapping[str, Any] | None = None,
        follow_up: FollowUp | None = None,
    ) -> IngestResult:
        """Record the message and run `follow_up` (by default: derive what the extractor
        finds in the text) in the same transaction; a replay returns the original result."""
        keys = _keys(message, idempotency_key)
        if follow_up is None:
            [follow_up] = await self._derivations([message], [keys])
        async with self._uow_factory(write=True) as uow:
            result = await self._ingest_one(uow, message, keys, context or {}, follow_up)
            if not result.replayed:
                await uow.commit()
            return result

    async def ingest_batch(
        self,
        messages: Sequence[IncomingMessage],
        *,
        context: Mapping[str, Any] | None = None,
        extractor: Extractor | None = None,
    ) -> list[BatchItemResult]:
        """All messages in one transaction; a conflicting item is reported, not fatal.

        `extractor` replaces the service's own for this batch (an import of thousands of
        old messages should not cost thousands of LLM calls)."""
        keys = [_keys(message, None) for message in messages]
        follow_ups = await self._derivations(messages, keys, extractor)
        results: list[BatchItemResult] = []
        async with self._uow_factory(write=True) as uow:
            for index, message in enumerate(messages):
                try:
                    result = await self._ingest_one(
                        uow, message, keys[index], context or {}, follow_ups[index]
                    )
                except IdempotencyConflict as e:
                    results.append(BatchItemResult(index, error=str(e)))
                else:
                    results.append(BatchItemResult(index, result=result))
            await uow.commit()
        return results

    async def _derivations(
        self,
        messages: Sequence[IncomingMessage],
        keys: list[list[str]],
        extractor: Extractor | None = None,
    ) -> list[FollowUp]:
        """Extract from each message, one after another, outside any write transaction;
        a message already recorded (a redelivery) costs no extractor call."""
        extractor = extractor or self._extractor
        if extractor is None or self._clock is None:
            return [_nothing] * len(messages)
        known = [False] * len(messages)
        if any(keys):
            async with self._uow_factory() as uow:
                known = [await _any_recorded(uow, message_keys) for message_keys in keys]
        now = self._clock.now()
        follow_ups: list[FollowUp] = []
        for message, replay in zip(messages, known, strict=True):
            # "tomorrow" in an old message means the day after it was said.
            today = (message.occurred_at or now).date()
            extraction = None if replay else await extractor.extract(message.text, today=today)
            follow_ups.append(deriving(extraction) if extraction and extraction.items else _nothing)
        return follow_ups

    async def _ingest_one(
        self,
        uow: UnitOfWork,
        message: IncomingMessage,
        keys: list[str],
        context: Mapping[str, Any],
        follow_up: FollowUp,
    ) -> IngestResult:
        fingerprint = message.fingerprint()
        for key in keys:
            record = await uow.idempotency.get(key)
            if record is None:
                continue
            if record.request_hash != fingerprint:
                raise IdempotencyConflict(
                    f"{_describe(key)} was already used for a different message"
                )
            return await self._replay(uow, record.event_seq)

        metadata: dict[str, Any] = {**context, "request_hash": fingerprint}
        if keys:
            metadata["idempotency_keys"] = keys
        if message.metadata:
            metadata["client"] = dict(message.metadata)
        new = NewEvent(
            type=MESSAGE_INGESTED,
            aggregate_type="message",
            aggregate_id=str(uuid.uuid4()),
            payload=message.payload(),
            metadata=metadata,
            idempotency_key=keys[0] if keys else None,
            occurred_at=message.occurred_at,
        )
        [event] = await uow.events.append([new])
        for record in idempotency_records_of(event):
            await uow.idempotency.add(record)
        derived = await follow_up(uow, event)
        return IngestResult(event, derived)

    async def _replay(self, uow: UnitOfWork, seq: int) -> IngestResult:
        event = await uow.events.get(seq)
        assert event is not None, f"idempotency record points at missing seq {seq}"
        return IngestResult(event, await caused_by(uow.events, event), replayed=True)


async def _any_recorded(uow: UnitOfWork, keys: list[str]) -> bool:
    for key in keys:
        if await uow.idempotency.get(key) is not None:
            return True
    return False


def _keys(message: IncomingMessage, idempotency_key: str | None) -> list[str]:
    return [key for key in (idempotency_key, message.source_key()) if key]


def _describe(key: str) -> str:
    if key.startswith("source:"):
        return "this source and source_id"
    return "this Idempotency-Key"
