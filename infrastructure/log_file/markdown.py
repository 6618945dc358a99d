"""The owner's objects as one Markdown file: todos by status, notes (active, then
archived), tracks with their check-ins, decisions with their history.

Streamed section by section at constant memory: objects are read a page at a time by
number from the read models, and each track's and decision's history a page at a time
from the log, up to the head read at the start (later events are left out, as from the
JSON Lines export). The read models themselves are read as they stand when each page is
read: this is a view for people; the JSON Lines export is the exact copy.

`markdown_export` yields the file in chunks of bytes; `write_markdown` writes it to a
binary stream (the chat's /export can send what it wrote as a document).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, tzinfo
from typing import Any, BinaryIO

from sqlalchemy import select

from domain.chain import iso_utc
from domain.events import LogHead
from domain.objects import DECISION_STATUSES, NOTE_STATUSES, TODO_STATUSES, TRACK_STATUSES
from domain.ports import Clock
from infrastructure.log_file.export import snapshot_head, write_chunks
from infrastructure.log_file.markdown_text import (
    decision_lines,
    history_line,
    note_lines,
    todo_lines,
    track_lines,
)
from infrastructure.read_models import DECISION_ROWS, NOTE_ROWS, TODO_ROWS, TRACK_ROWS, RowCodec
from infrastructure.tables import NOT_INDEXED_TYPE, events
from infrastructure.unit_of_work import SqlUnitOfWork, SqlUnitOfWorkFactory

PAGE_SIZE = 500
LINES_PER_PAGE = 5000
Render = Callable[[SqlUnitOfWork, Any], Awaitable[list[str]]]


async def markdown_export(
    uow_factory: SqlUnitOfWorkFactory,
    clock: Clock,
    *,
    zone: tzinfo = UTC,
    page_size: int = PAGE_SIZE,
) -> AsyncIterator[bytes]:
    export = _MarkdownExport(uow_factory, zone, page_size)
    async for lines in export.sections(clock):
        if lines:
            yield ("\n".join(lines) + "\n").encode("utf-8")


async def write_markdown(
    uow_factory: SqlUnitOfWorkFactory, clock: Clock, stream: BinaryIO, *, zone: tzinfo = UTC
) -> int:
    """The Markdown export written to `stream`; returns the bytes written."""
    return await write_chunks(markdown_export(uow_factory, clock, zone=zone), stream)


class _MarkdownExport:
    def __init__(self, uow_factory: SqlUnitOfWorkFactory, zone: tzinfo, page_size: int) -> None:
        self._uow_factory = uow_factory
        self._zone = zone
        self._page_size = page_size
        self._head = LogHead(0, "")

    async def sections(self, clock: Clock) -> AsyncIterator[list[str]]:
        log_id, self._head = await snapshot_head(self._uow_factory)
        counts = await self._counts()
        yield [
            "# Helionyx export",
            "",
            f"Exported {iso_utc(clock.now())[:19]} UTC from log {log_id} at seq "
            f"{self._head.last_seq} ({self._head.last_seq} events). Times are in "
            f"{self._zone}.",
            "",
        ]
        if not any(sum(by_status.values()) for by_status in counts.values()):
            yield ["Nothing recorded yet: no todos, notes, tracks or decisions."]
            return
        kinds = (
            ("Todos", TODO_ROWS, TODO_STATUSES, self._todo),
            ("Notes", NOTE_ROWS, NOTE_STATUSES, self._note),
            ("Tracks", TRACK_ROWS, TRACK_STATUSES, self._track),
            ("Decisions", DECISION_ROWS, DECISION_STATUSES, self._decision),
        )
        for title, codec, statuses, render in kinds:
            by_status = counts[title]
            yield [f"## {title}", ""] + ([] if sum(by_status.values()) else ["None yet.", ""])
            for status in statuses:
                if by_status[status]:
                    yield [f"### {status.capitalize()} ({by_status[status]})", ""]
                    async for lines in self._objects(codec, status, render):
                        yield lines
                    if codec is TODO_ROWS:
                        yield [""]  # the end of the list

    async def _counts(self) -> dict[str, dict[str, int]]:
        async with self._uow_factory() as uow:
            notes = {status: await uow.notes.count(status) for status in NOTE_STATUSES}
            return {
                "Todos": await uow.todos.count_by_status(),
                "Notes": notes,
                "Tracks": await uow.tracks.count_by_status(),
                "Decisions": await uow.decisions.count_by_status(),
            }

    async def _objects(
        self, codec: RowCodec[Any], status: str, render: Render
    ) -> AsyncIterator[list[str]]:
        """The objects of one status by number, a page (and a short read transaction) at a
        time; a page ends early once it holds `LINES_PER_PAGE` lines (long histories)."""
        table, after = codec.table, 0
        while True:
            query = (
                select(*codec.columns)
                .where(table.c.status == status, table.c.number > after)
                .order_by(table.c.number)
                .limit(self._page_size)
            )
            lines: list[str] = []
            async with self._uow_factory() as uow:
                for row in await uow.connection.execute(query):
                    obj = codec.from_row(row)
                    lines += await render(uow, obj)
                    after = obj.number
                    if len(lines) >= LINES_PER_PAGE:
                        break
                else:
                    if not lines:
                        return
            yield lines

    async def _todo(self, _: SqlUnitOfWork, todo: Any) -> list[str]:
        return todo_lines(todo, self._zone)

    async def _note(self, _: SqlUnitOfWork, note: Any) -> list[str]:
        return note_lines(note, self._zone)

    async def _track(self, uow: SqlUnitOfWork, track: Any) -> list[str]:
        return track_lines(track, self._zone) + await self._history(uow, track.id)

    async def _decision(self, uow: SqlUnitOfWork, decision: Any) -> list[str]:
        linked = [id for id in (decision.supersedes, decision.superseded_by) if id]
        numbers = {}
        for id in linked:
            found = await uow.decisions.get(id)
            if found is not None:
                numbers[id] = found.number
        return decision_lines(decision, self._zone, numbers) + await self._history(uow, decision.id)

    async def _history(self, uow: SqlUnitOfWork, aggregate_id: str) -> list[str]:
        """The object's events up to the head, in seq order, as lines (a blank one after);
        read a page at a time. The type condition lets the partial index serve it."""
        lines, after = [], 0
        while True:
            query = (
                select(events.c.seq, events.c.type, events.c.occurred_at, events.c.payload)
                .where(
                    events.c.aggregate_id == aggregate_id,
                    events.c.type != NOT_INDEXED_TYPE,
                    events.c.seq > after,
                    events.c.seq <= self._head.last_seq,
                )
                .order_by(events.c.seq)
                .limit(self._page_size)
            )
            rows = list(await uow.connection.execute(query))
            for _, type_, occurred_at, payload in rows:
                line = history_line(type_, occurred_at, payload, self._zone)
                if line is not None:
                    lines.append(line)
            if len(rows) < self._page_size:
                return ["History:", "", *lines, ""] if lines else []
            after = rows[-1][0]
