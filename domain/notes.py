"""Notes: recorded once, with a title, content and tags; a note has no lifecycle."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from domain.changes import Ref, event, find, record, reload, source_seq, text_list, title_of
from domain.errors import InvalidInput
from domain.events import RecordedEvent
from domain.ids import new_uuid
from domain.objects import NOTE, NOTE_RECORDED, Note
from domain.repositories import ObjectUnitOfWork

__all__ = ["Note", "get_note", "list_notes", "record_note"]


async def record_note(
    uow: ObjectUnitOfWork,
    *,
    title: str,
    content: str = "",
    tags: Iterable[str] = (),
    source_event_seq: int | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> tuple[Note, list[RecordedEvent]]:
    if content is None:
        content = ""
    if not isinstance(content, str):
        raise InvalidInput("content must be text")
    payload = {
        "title": title_of(title, NOTE),
        "content": content.strip(),
        "tags": text_list(tags, "tags"),
        "source_event_seq": source_seq(source_event_seq),
        "number": await uow.notes.next_number(),
    }
    note_id = new_uuid()
    recorded = await record(uow, [event(NOTE_RECORDED, NOTE, note_id, payload, metadata)])
    return await reload(uow.notes, note_id), recorded


async def get_note(uow: ObjectUnitOfWork, note: Ref) -> Note:
    return await find(uow.notes, note, NOTE)


async def list_notes(
    uow: ObjectUnitOfWork, search: str | None = None, limit: int = 100
) -> list[Note]:
    """Newest first; `search` matches title or content, ignoring case."""
    return await uow.notes.list((search or "").strip() or None, limit)
