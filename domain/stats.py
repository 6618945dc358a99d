"""Counts of everything: objects per status and events per type, read in one transaction."""

from __future__ import annotations

from dataclasses import dataclass

from domain.repositories import ObjectUnitOfWork


@dataclass(frozen=True)
class Stats:
    todos: dict[str, int]
    notes: int
    tracks: dict[str, int]
    decisions: dict[str, int]
    events: dict[str, int]  # per type, sorted by type

    @property
    def event_count(self) -> int:
        return sum(self.events.values())


async def read_stats(uow: ObjectUnitOfWork) -> Stats:
    by_type = await uow.events.count_by_type()
    return Stats(
        todos=await uow.todos.count_by_status(),
        notes=await uow.notes.count(),
        tracks=await uow.tracks.count_by_status(),
        decisions=await uow.decisions.count_by_status(),
        events=dict(sorted(by_type.items())),
    )
