"""What a message becomes in the log, decided without the database: its idempotency keys,
its fingerprint and its `message.ingested` event.

Kept apart from the ingest service (and its asyncio) so that a worker process preparing
an import (infrastructure/chatgpt/worker.py) imports little.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

from domain.events import NewEvent
from domain.ids import new_uuids
from domain.messages import MESSAGE_INGESTED, IncomingMessage


class PreparedMessage(NamedTuple):
    """A message made ready for the log: its keys, its fingerprint (empty without keys)
    and its event. An import prepares these in a worker process while it writes."""

    keys: list[str]
    fingerprint: str
    event: NewEvent


def prepare(
    messages: Sequence[IncomingMessage], context: Mapping[str, Any]
) -> list[PreparedMessage]:
    return [
        prepare_one(message, context, aggregate_id)
        for message, aggregate_id in zip(messages, new_uuids(len(messages)), strict=True)
    ]


def prepare_one(
    message: IncomingMessage,
    context: Mapping[str, Any],
    aggregate_id: str,
    *,
    idempotency_key: str | None = None,
) -> PreparedMessage:
    keys = keys_of(message, idempotency_key)
    fingerprint = message.fingerprint() if keys else ""
    return PreparedMessage(
        keys, fingerprint, message_event(message, keys, context, fingerprint, aggregate_id)
    )


def message_event(
    message: IncomingMessage,
    keys: list[str],
    context: Mapping[str, Any],
    fingerprint: str,
    aggregate_id: str,
) -> NewEvent:
    metadata = context  # with nothing of its own, the message shares the request's
    if keys or message.metadata:
        metadata = own = dict(context)
        if keys:
            # Only a message with keys can be asked about again; rebuild takes its
            # idempotency records from these two (ingest.idempotency_records_of).
            own["request_hash"] = fingerprint
            own["idempotency_keys"] = keys
        if message.metadata:
            own["client"] = dict(message.metadata)
    return NewEvent(
        type=MESSAGE_INGESTED,
        aggregate_type="message",
        aggregate_id=aggregate_id,
        payload=message.payload(),
        metadata=metadata,
        idempotency_key=keys[0] if keys else None,
        occurred_at=message.occurred_at,
    )


def keys_of(message: IncomingMessage, idempotency_key: str | None) -> list[str]:
    return [key for key in (idempotency_key, message.source_key()) if key]
