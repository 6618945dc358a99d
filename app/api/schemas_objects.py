"""Bodies of the object and interaction endpoints. The domain never sees these."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field, StringConstraints

from app.api.edge import check_text
from app.api.schemas import Label, Source, Strict, Text
from domain.objects import Decision, Note, Todo, Track
from domain.stats import Stats


def _not_blank(value: str) -> str:
    check_text(value)
    if not value.strip():
        raise ValueError("must not be empty or only white space")
    return value


Title = Annotated[str, StringConstraints(min_length=1, max_length=200), AfterValidator(_not_blank)]
Tag = Annotated[str, StringConstraints(min_length=1, max_length=50), AfterValidator(_not_blank)]


class Interaction(Strict):
    text: Text
    channel: Source = "http"
    chat_id: Label | None = None
    external_id: Label | None = None


class EventSummary(BaseModel):
    seq: int
    type: str


class InteractionOut(BaseModel):
    reply: str
    events: list[EventSummary]
    replayed: bool


class NewTodo(Strict):
    title: Title
    description: Text | None = None
    priority: Literal["low", "normal", "high", "urgent"] = "normal"
    due: date | None = None
    tags: list[Tag] = Field(default_factory=list, max_length=20)


class NewDecision(Strict):
    title: Title
    rationale: Text | None = None
    options: list[Title] = Field(default_factory=list, max_length=20)


class TodoOut(BaseModel):
    id: str
    number: int
    title: str
    description: str | None
    status: str
    priority: str
    due: date | None
    tags: list[str]
    created_at: datetime
    updated_at: datetime
    completed_at: datetime | None
    source_event_seq: int

    @classmethod
    def of(cls, todo: Todo) -> TodoOut:
        return cls(**{**vars(todo), "tags": list(todo.tags)})


class NoteOut(BaseModel):
    id: str
    number: int
    title: str
    content: str
    tags: list[str]
    created_at: datetime
    source_event_seq: int

    @classmethod
    def of(cls, note: Note) -> NoteOut:
        return cls(**{**vars(note), "tags": list(note.tags)})


class TrackOut(BaseModel):
    id: str
    number: int
    title: str
    description: str | None
    status: str
    check_in_every: int
    last_check_in_at: datetime | None
    created_at: datetime
    updated_at: datetime
    source_event_seq: int

    @classmethod
    def of(cls, track: Track) -> TrackOut:
        return cls(**vars(track))


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
    source_event_seq: int
    updated_at: datetime

    @classmethod
    def of(cls, decision: Decision) -> DecisionOut:
        return cls(**{**vars(decision), "options": list(decision.options)})


class TodoPage(BaseModel):
    items: list[TodoOut]


class NotePage(BaseModel):
    items: list[NoteOut]


class TrackPage(BaseModel):
    items: list[TrackOut]


class DecisionPage(BaseModel):
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
