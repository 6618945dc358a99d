"""Derivation: turning an extraction of one message into objects, in the message's transaction.

Every derived event names its message in `metadata.caused_by_seq`, next to what extracted it
(`extractor`, `model`, `fallback_reason`). The derived events are appended right after the
message, under the same writer lock, so they follow it in the log without a gap; an
idempotent replay finds them again by reading on from the message's seq.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from domain.decisions import record_decision
from domain.errors import Conflict, InvalidInput
from domain.events import RecordedEvent
from domain.extraction import (
    ExtractedDecision,
    ExtractedItem,
    ExtractedNote,
    ExtractedTodo,
    ExtractedTrack,
    Extraction,
)
from domain.notes import record_note
from domain.ports import EventStore
from domain.repositories import ObjectUnitOfWork
from domain.todos import create_todo
from domain.tracks import start_track

FollowUp = Callable[[ObjectUnitOfWork, RecordedEvent], Awaitable[list[RecordedEvent]]]
"""What a message sets off inside its own transaction, given the recorded message event;
returns the events it recorded, each with `metadata.caused_by_seq` set to the message's seq."""

CAUSED_BY_SEQ = "caused_by_seq"
_PAGE = 50


async def derive_objects(
    uow: ObjectUnitOfWork,
    extraction: Extraction,
    message: RecordedEvent,
    refusals: list[str] | None = None,
) -> list[RecordedEvent]:
    """Create one object per extracted item; returns the recorded events, in order.

    Each object happened when the message was said (an imported message keeps its time).
    An item the object services refuse (a track already running; values the extractors'
    own checks should prevent) is skipped rather than failing the message, and why is
    added to `refusals`: the owner's words are recorded either way.
    """
    metadata = derivation_metadata(extraction, message.seq)
    recorded: list[RecordedEvent] = []
    for item in extraction.items:
        try:
            recorded += await _create(uow, item, message, metadata)
        except (InvalidInput, Conflict) as refused:  # raised before anything is appended
            if refusals is not None:
                refusals.append(str(refused))
    return recorded


def deriving(extraction: Extraction, refusals: list[str] | None = None) -> FollowUp:
    """A follow-up that derives `extraction`'s objects from the message it follows."""

    async def follow_up(uow: ObjectUnitOfWork, message: RecordedEvent) -> list[RecordedEvent]:
        return await derive_objects(uow, extraction, message, refusals)

    return follow_up


def derivation_metadata(extraction: Extraction, message_seq: int) -> dict[str, Any]:
    metadata = {
        CAUSED_BY_SEQ: message_seq,
        "extractor": extraction.extractor,
        "model": extraction.model,
        "fallback_reason": extraction.fallback_reason,
    }
    return {key: value for key, value in metadata.items() if value is not None}


async def caused_by(events: EventStore, message: RecordedEvent) -> list[RecordedEvent]:
    """The events a message set off: the unbroken run after it that names it as the cause."""
    found: list[RecordedEvent] = []
    after = message.seq
    while True:
        page = await events.read(after_seq=after, limit=_PAGE)
        for event in page:
            if event.metadata.get(CAUSED_BY_SEQ) != message.seq:
                return found
            found.append(event)
        if len(page) < _PAGE:
            return found
        after = page[-1].seq


async def _create(
    uow: ObjectUnitOfWork, item: ExtractedItem, message: RecordedEvent, metadata: dict[str, Any]
) -> list[RecordedEvent]:
    common: dict[str, Any] = {
        "source_event_seq": message.seq,
        "metadata": metadata,
        "at": message.occurred_at,
    }
    if isinstance(item, ExtractedTodo):
        if item.unread_dates:  # said back to the owner (domain/replies.py)
            common["metadata"] = {**metadata, "unread_dates": list(item.unread_dates)}
        _, recorded = await create_todo(
            uow,
            title=item.title,
            description=item.description,
            priority=item.priority,
            due=item.due,
            tags=item.tags,
            **common,
        )
    elif isinstance(item, ExtractedNote):
        _, recorded = await record_note(
            uow, title=item.title, content=item.content, tags=item.tags, **common
        )
    elif isinstance(item, ExtractedTrack):
        _, recorded = await start_track(
            uow,
            title=item.title,
            description=item.description,
            check_in_every=item.check_in_every,
            **common,
        )
    elif isinstance(item, ExtractedDecision):
        _, recorded = await record_decision(
            uow,
            title=item.title,
            rationale=item.rationale,
            options=item.options,
            review_on=item.review_on,
            supersedes=item.supersedes,
            **common,
        )
    else:  # pragma: no cover - the union above is closed
        raise TypeError(f"unknown extracted item {type(item).__name__}")
    return recorded
