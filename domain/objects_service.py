"""Reading and changing objects directly (the HTTP object endpoints), one call per request.

Objects created here have no message behind them: the client asked for the object itself,
so the events carry the request's context (channel, request id) in their metadata instead
of a `caused_by_seq`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import Any

from domain import decisions, notes, todos, tracks
from domain.changes import Ref
from domain.objects import Decision, Note, Todo, Track
from domain.ports import UnitOfWorkFactory
from domain.stats import Stats, read_stats

Context = Mapping[str, Any] | None


class ObjectsService:
    def __init__(self, uow_factory: UnitOfWorkFactory) -> None:
        self._uow_factory = uow_factory

    async def todos(self, status: str | None = "open", limit: int = 100) -> list[Todo]:
        async with self._uow_factory() as uow:
            return await todos.list_todos(uow, status, limit)

    async def create_todo(
        self,
        *,
        title: str,
        description: str | None = None,
        priority: str | None = None,
        due: date | str | None = None,
        tags: Iterable[str] = (),
        context: Context = None,
    ) -> Todo:
        async with self._uow_factory(write=True) as uow:
            todo, _ = await todos.create_todo(
                uow,
                title=title,
                description=description,
                priority=priority,
                due=due,
                tags=tags,
                metadata=context,
            )
            await uow.commit()
        return todo

    async def complete_todo(self, todo: Ref, *, context: Context = None) -> Todo:
        async with self._uow_factory(write=True) as uow:
            done, _ = await todos.complete_todo(uow, todo, metadata=context)
            await uow.commit()
        return done

    async def notes(self, search: str | None = None, limit: int = 100) -> list[Note]:
        async with self._uow_factory() as uow:
            return await notes.list_notes(uow, search, limit)

    async def tracks(self, status: str | None = None, limit: int = 100) -> list[Track]:
        async with self._uow_factory() as uow:
            return await tracks.list_tracks(uow, status, limit)

    async def decisions(self, status: str | None = "active", limit: int = 100) -> list[Decision]:
        async with self._uow_factory() as uow:
            return await decisions.list_decisions(uow, status, limit)

    async def record_decision(
        self,
        *,
        title: str,
        rationale: str | None = None,
        options: Iterable[str] = (),
        supersedes: Ref | None = None,
        context: Context = None,
    ) -> Decision:
        """A new active decision; with `supersedes`, it replaces that active decision."""
        async with self._uow_factory(write=True) as uow:
            decision, _ = await decisions.record_decision(
                uow,
                title=title,
                rationale=rationale,
                options=options,
                supersedes=supersedes,
                metadata=context,
            )
            await uow.commit()
        return decision

    async def stats(self) -> Stats:
        async with self._uow_factory() as uow:
            return await read_stats(uow)
