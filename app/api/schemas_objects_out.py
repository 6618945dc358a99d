"""What the object endpoints answer: the objects, one with its history, pages, counts."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any, Self

from pydantic import BaseModel, Field

from domain.events import RecordedEvent
from domain.objects import Decision, Note, Todo, Track
from domain.stats import Stats


class HistoryEntry(BaseModel):
    seq: int
    type: str
    occurred_at: datetime
    recorded_at: datetime
    payload: dict[str, Any]


def history(events: Iterable[RecordedEvent]) -> list[HistoryEntry]:
    return [
        HistoryEntry(
            seq=e.seq,
            type=e.type,
            occurred_at=e.occurred_at,
            recorded_at=e.recorded_at,
            payload=dict(e.payload),
        )
        for e in events
    ]


class TodoOut(BaseModel):
    id: str
    number: int
    title: str
    description: str | None
    status: str
    priority: str
    due: date | None = Field(
        description="the day; with due_at, the day of that instant where it was given"
    )
    due_at: datetime | None = Field(description="the instant, when a time of day was given")
    tags: list[str]
    created_at: datetime
    updated_at: datetime
    completed_at: datetime | None
    source_event_seq: int

    @classmethod
    def of(cls, todo: Todo, **extra: Any) -> Self:
        return cls(**{**vars(todo), "tags": list(todo.tags), **extra})


class NoteOut(BaseModel):
    id: str
    number: int
    title: str
    content: str
    tags: list[str]
    status: str
    created_at: datetime
    updated_at: datetime | None
    source_event_seq: int

    @classmethod
    def of(cls, note: Note, **extra: Any) -> Self:
        return cls(**{**vars(note), "tags": list(note.tags), **extra})


class TrackOut(BaseModel):
    id: str
    number: int
    title: str
    description: str | None
    status: str
    check_in_every: int
    last_check_in_at: datetime | None
    check_ins: int
    streak: int = Field(
        description="days with a check-in in a row (the owner's days; a day of grace)"
    )
    created_at: datetime
    updated_at: datetime
    source_event_seq: int

    @classmethod
    def of(cls, track: Track, **extra: Any) -> Self:
        return cls(**{**vars(track), **extra})


class DecisionOut(BaseModel):
    id: str
    number: int
    title: str
    rationale: str | None
    options: list[str]
    status: str
    decided_at: datetime
    supersedes: str | None
    superseded_by: str | None
    review_on: date | None
    outcome: str | None
    reviewed_at: datetime | None
    revoke_reason: str | None
    source_event_seq: int
    updated_at: datetime

    @classmethod
    def of(cls, decision: Decision, **extra: Any) -> Self:
        return cls(**{**vars(decision), "options": list(decision.options), **extra})


class TodoDetail(TodoOut):
    history: list[HistoryEntry] = Field(description="the events that shaped it, oldest first")


class NoteDetail(NoteOut):
    history: list[HistoryEntry] = Field(description="the events that shaped it, oldest first")


class TrackDetail(TrackOut):
    history: list[HistoryEntry] = Field(description="the events that shaped it, oldest first")


class DecisionDetail(DecisionOut):
    history: list[HistoryEntry] = Field(description="the events that shaped it, oldest first")


class Paged(BaseModel):
    """What every list answers besides its items (domain/listing.py)."""

    next: str | None = Field(description="`after` for the next page; null on the last")
    total: int = Field(description="how many items the filters match, on all pages")


class TodoPage(Paged):
    items: list[TodoOut]


class NotePage(Paged):
    items: list[NoteOut]


class TrackPage(Paged):
    items: list[TrackOut]


class DecisionPage(Paged):
    items: list[DecisionOut]


class EventCounts(BaseModel):
    total: int
    by_type: dict[str, int]


class StatsOut(BaseModel):
    todos: dict[str, int]
    notes: dict[str, int]
    tracks: dict[str, int]
    decisions: dict[str, int]
    events: EventCounts

    @classmethod
    def of(cls, stats: Stats) -> StatsOut:
        def with_total(counts: dict[str, int]) -> dict[str, int]:
            return {**counts, "total": sum(counts.values())}

        return cls(
            todos=with_total(stats.todos),
            notes={"total": stats.notes},
            tracks=with_total(stats.tracks),
            decisions=with_total(stats.decisions),
            events=EventCounts(total=stats.event_count, by_type=stats.events),
        )
