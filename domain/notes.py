"""Notes: recorded with a title, content and tags; edited; archived out of lists and
search (an archived note stays in the log and the export)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from domain.changes import (
    UNSET,
    Ref,
    _Unset,
    edit,
    event,
    find,
    record,
    reload,
    source_seq,
    status_asked,
    text_list,
    title_of,
    transition,
)
from domain.errors import InvalidInput
from domain.events import RecordedEvent
from domain.ids import new_uuid
from domain.listing import BY_NUMBER, Page, number, page_of
from domain.objects import (
    NOTE,
    NOTE_ARCHIVED,
    NOTE_EDITED,
    NOTE_RECORDED,
    NOTE_STATUSES,
    Note,
)
from domain.repositories import ObjectUnitOfWork

__all__ = ["Note", "archive_note", "edit_note", "get_note", "page_notes", "record_note"]


async def record_note(
    uow: ObjectUnitOfWork,
    *,
    title: str,
    content: str = "",
    tags: Iterable[str] = (),
    source_event_seq: int | None = None,
    metadata: Mapping[str, Any] | None = None,
    at: datetime | None = None,
) -> tuple[Note, list[RecordedEvent]]:
    payload = {
        "title": title_of(title, NOTE),
        "content": _content(content),
        "tags": text_list(tags, "tags"),
        "source_event_seq": source_seq(source_event_seq),
        "number": await uow.notes.next_number(),
    }
    note_id = new_uuid()
    recorded = await record(uow, [event(NOTE_RECORDED, NOTE, note_id, payload, metadata, at)])
    return await reload(uow.notes, note_id), recorded


async def edit_note(
    uow: ObjectUnitOfWork,
    note: Ref,
    *,
    title: str | _Unset = UNSET,
    content: str | _Unset = UNSET,
    tags: Iterable[str] | _Unset = UNSET,
    metadata: Mapping[str, Any] | None = None,
) -> tuple[Note, list[RecordedEvent]]:
    """Change what is given; records `note.edited`, or nothing when nothing changes."""
    changes: dict[str, Any] = {}
    if title is not UNSET:
        changes["title"] = title_of(title, NOTE)
    if content is not UNSET:
        changes["content"] = _content(content)
    if tags is not UNSET:
        changes["tags"] = text_list(tags, "tags")
    if not changes:
        raise InvalidInput("say what to change: title, content or tags")
    return await edit(uow, uow.notes, NOTE, note, NOTE_EDITED, changes, metadata)


async def archive_note(
    uow: ObjectUnitOfWork, note: Ref, *, metadata: Mapping[str, Any] | None = None
) -> tuple[Note, list[RecordedEvent]]:
    return await transition(
        uow, uow.notes, NOTE, note, NOTE_ARCHIVED, ("active",), "archived", metadata
    )


async def get_note(uow: ObjectUnitOfWork, note: Ref) -> Note:
    return await find(uow.notes, note, NOTE)


async def page_notes(
    uow: ObjectUnitOfWork,
    search: str | None = None,
    status: str | None = "active",
    after: str | None = None,
    limit: int = 100,
) -> Page[Note]:
    """Newest first; `search` matches title or content, ignoring case; archived notes
    only when asked for (status "archived", or "all" / None for every note)."""
    status = status_asked(status, NOTE_STATUSES)
    needle = (search or "").strip() or None
    return await page_of(
        "notes",
        BY_NUMBER,
        after,
        limit,
        lambda key, n: uow.notes.list(
            needle, n, status, before=None if key is None else number(key[0])
        ),
        lambda note: (note.number,),
        lambda: uow.notes.count(status, needle),
    )


def _content(content: object) -> str:
    if content is None:
        return ""
    if not isinstance(content, str):
        raise InvalidInput("content must be text")
    return content.strip()
