"""Ingestion: record what the owner said, once, whatever the channel."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from domain.errors import IdempotencyConflict
from domain.events import NewEvent, RecordedEvent
from domain.messages import MESSAGE_INGESTED, IncomingMessage
from domain.ports import IdempotencyRecord, UnitOfWork, UnitOfWorkFactory


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


class IngestService:
    def __init__(self, uow_factory: UnitOfWorkFactory) -> None:
        self._uow_factory = uow_factory

    async def ingest(
        self,
        message: IncomingMessage,
        *,
        idempotency_key: str | None = None,
        context: Mapping[str, Any] | None = None,
    ) -> IngestResult:
        async with self._uow_factory(write=True) as uow:
            result = await self._ingest_one(uow, message, idempotency_key, context or {})
            if not result.replayed:
                await uow.commit()
            return result

    async def ingest_batch(
        self, messages: Sequence[IncomingMessage], *, context: Mapping[str, Any] | None = None
    ) -> list[BatchItemResult]:
        """All messages in one transaction; a conflicting item is reported, not fatal."""
        results: list[BatchItemResult] = []
        async with self._uow_factory(write=True) as uow:
            for index, message in enumerate(messages):
                try:
                    result = await self._ingest_one(uow, message, None, context or {})
                except IdempotencyConflict as e:
                    results.append(BatchItemResult(index, error=str(e)))
                else:
                    results.append(BatchItemResult(index, result=result))
            await uow.commit()
        return results

    async def _ingest_one(
        self,
        uow: UnitOfWork,
        message: IncomingMessage,
        idempotency_key: str | None,
        context: Mapping[str, Any],
    ) -> IngestResult:
        keys = [key for key in (idempotency_key, message.source_key()) if key]
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
        return IngestResult(event)

    async def _replay(self, uow: UnitOfWork, seq: int) -> IngestResult:
        event = await uow.events.get(seq)
        assert event is not None, f"idempotency record points at missing seq {seq}"
        return IngestResult(event, replayed=True)


def _describe(key: str) -> str:
    if key.startswith("source:"):
        return "this source and source_id"
    return "this Idempotency-Key"
