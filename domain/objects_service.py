"""Reading and changing objects directly (the HTTP object endpoints), one call per request.

Objects created here have no message behind them: the client asked for the object itself,
so the events carry the request's context (channel, request id) in their metadata instead
of a `caused_by_seq`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping
from datetime import UTC, date, tzinfo
from typing import Any, Concatenate, ParamSpec, TypeVar

from domain import decisions, notes, todos, tracks
from domain.changes import UNSET, Due, Ref, _Unset, whole_history
from domain.events import RecordedEvent
from domain.listing import Page
from domain.objects import Decision, Note, Todo, Track
from domain.ports import UnitOfWorkFactory
from domain.repositories import ObjectUnitOfWork
from domain.stats import Stats, read_stats
from domain.todo_filter import TodoFilter

Context = Mapping[str, Any] | None
T = TypeVar("T")
Obj = TypeVar("Obj", bound=Todo | Note | Track | Decision)
P = ParamSpec("P")
# A use case that changes one object: what it became, and the events it recorded.
Change = Callable[Concatenate[ObjectUnitOfWork, P], Awaitable[tuple[T, list[RecordedEvent]]]]


class ObjectsService:
    """`zone`: the owner's, which a check-in names (its day counts toward the streak)."""

    def __init__(self, uow_factory: UnitOfWorkFactory, zone: tzinfo = UTC) -> None:
        self._uow_factory = uow_factory
        self._zone = zone

    async def todos(
        self, filter: TodoFilter = TodoFilter(), *, after: str | None = None, limit: int = 100
    ) -> Page[Todo]:
        async with self._uow_factory() as uow:
            return await todos.page_todos(uow, filter, after, limit)

    async def create_todo(
        self,
        *,
        title: str,
        description: str | None = None,
        priority: str | None = None,
        due: Due | str | None = None,
        tags: Iterable[str] = (),
        context: Context = None,
    ) -> Todo:
        return await self._change(
            todos.create_todo,
            title=title,
            description=description,
            priority=priority,
            due=due,
            tags=tags,
            metadata=context,
        )

    async def complete_todo(self, todo: Ref, *, context: Context = None) -> Todo:
        return await self._change(todos.complete_todo, todo, metadata=context)

    async def cancel_todo(self, todo: Ref, *, context: Context = None) -> Todo:
        return await self._change(todos.cancel_todo, todo, metadata=context)

    async def reopen_todo(self, todo: Ref, *, context: Context = None) -> Todo:
        return await self._change(todos.reopen_todo, todo, metadata=context)

    async def edit_todo(
        self,
        todo: Ref,
        *,
        title: str | _Unset = UNSET,
        description: str | None | _Unset = UNSET,
        priority: str | _Unset = UNSET,
        due: Due | str | None | _Unset = UNSET,
        tags: Iterable[str] | _Unset = UNSET,
        context: Context = None,
    ) -> Todo:
        """Change what is given; the same values again change nothing and record nothing."""
        return await self._change(
            todos.edit_todo,
            todo,
            title=title,
            description=description,
            priority=priority,
            due=due,
            tags=tags,
            metadata=context,
        )

    async def todo(self, todo: Ref) -> tuple[Todo, list[RecordedEvent]]:
        """The todo and the events that shaped it, oldest first."""
        return await self._with_history(todos.get_todo, todo)

    async def note(self, note: Ref) -> tuple[Note, list[RecordedEvent]]:
        return await self._with_history(notes.get_note, note)

    async def edit_note(
        self,
        note: Ref,
        *,
        title: str | _Unset = UNSET,
        content: str | _Unset = UNSET,
        tags: Iterable[str] | _Unset = UNSET,
        context: Context = None,
    ) -> Note:
        return await self._change(
            notes.edit_note, note, title=title, content=content, tags=tags, metadata=context
        )

    async def archive_note(self, note: Ref, *, context: Context = None) -> Note:
        return await self._change(notes.archive_note, note, metadata=context)

    async def track(self, track: Ref) -> tuple[Track, list[RecordedEvent]]:
        return await self._with_history(tracks.get_track, track)

    async def check_in(
        self, track: Ref, *, note: str | None = None, context: Context = None
    ) -> Track:
        return await self._change(
            tracks.check_in_track, track, note=note, zone=self._zone, metadata=context
        )

    async def pause_track(self, track: Ref, *, context: Context = None) -> Track:
        return await self._change(tracks.pause_track, track, metadata=context)

    async def resume_track(self, track: Ref, *, context: Context = None) -> Track:
        return await self._change(tracks.resume_track, track, metadata=context)

    async def finish_track(self, track: Ref, *, context: Context = None) -> Track:
        return await self._change(tracks.finish_track, track, metadata=context)

    async def start_track(
        self,
        *,
        title: str,
        description: str | None = None,
        check_in_every: int | None = None,
        context: Context = None,
    ) -> Track:
        """Conflict when a track of that name is running already."""
        return await self._change(
            tracks.start_track,
            title=title,
            description=description,
            check_in_every=check_in_every,
            metadata=context,
        )

    async def decision(self, decision: Ref) -> tuple[Decision, list[RecordedEvent]]:
        return await self._with_history(decisions.get_decision, decision)

    async def revoke_decision(
        self, decision: Ref, *, reason: str | None = None, context: Context = None
    ) -> Decision:
        return await self._change(
            decisions.revoke_decision, decision, reason=reason, metadata=context
        )

    async def review_decision(
        self, decision: Ref, *, outcome: str, context: Context = None
    ) -> Decision:
        return await self._change(
            decisions.review_decision, decision, outcome=outcome, metadata=context
        )

    async def _change(self, change: Change[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """`change(uow, *args, **kwargs)` in a write unit of work, committed if it
        recorded anything."""
        async with self._uow_factory(write=True) as uow:
            changed, events = await change(uow, *args, **kwargs)
            if events:
                await uow.commit()
        return changed

    async def _with_history(
        self, get: Callable[[ObjectUnitOfWork, Ref], Awaitable[Obj]], ref: Ref
    ) -> tuple[Obj, list[RecordedEvent]]:
        async with self._uow_factory() as uow:
            found = await get(uow, ref)
            return found, await whole_history(uow.events, found.id)

    async def notes(
        self,
        search: str | None = None,
        status: str | None = "active",
        *,
        after: str | None = None,
        limit: int = 100,
    ) -> Page[Note]:
        """Newest first; archived notes only with status "archived" or "all"."""
        async with self._uow_factory() as uow:
            return await notes.page_notes(uow, search, status, after, limit)

    async def tracks(
        self, status: str | None = None, *, after: str | None = None, limit: int = 100
    ) -> Page[Track]:
        async with self._uow_factory() as uow:
            return await tracks.page_tracks(uow, status, after, limit)

    async def decisions(
        self, status: str | None = "active", *, after: str | None = None, limit: int = 100
    ) -> Page[Decision]:
        async with self._uow_factory() as uow:
            return await decisions.page_decisions(uow, status, after, limit)

    async def record_decision(
        self,
        *,
        title: str,
        rationale: str | None = None,
        options: Iterable[str] = (),
        supersedes: Ref | None = None,
        review_on: date | str | None = None,
        context: Context = None,
    ) -> Decision:
        """A new active decision; with `supersedes`, it replaces that active decision."""
        return await self._change(
            decisions.record_decision,
            title=title,
            rationale=rationale,
            options=options,
            supersedes=supersedes,
            review_on=review_on,
            metadata=context,
        )

    async def stats(self) -> Stats:
        async with self._uow_factory() as uow:
            return await read_stats(uow)
