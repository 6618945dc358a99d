"""Request and response bodies at the HTTP edge. The domain never sees these."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
)

from app.api.edge import check_storable, check_text
from domain.events import RecordedEvent

MAX_TEXT = 16_000


def _not_blank(value: str) -> str:
    check_text(value)
    if not value.strip():
        raise ValueError("text must not be empty or only white space")
    return value


Text = Annotated[str, Field(max_length=MAX_TEXT), AfterValidator(_not_blank)]
Label = Annotated[str, StringConstraints(min_length=1, max_length=200), AfterValidator(check_text)]
Source = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_.-]{0,49}$")]
Metadata = Annotated[dict[str, Any], AfterValidator(check_storable)]


def _utc_can_hold(value: datetime) -> datetime:
    # 0001-01-01T00:00:00+14:00 is a valid time whose UTC falls before year 1: stored and
    # hashed in UTC, it could not be spelled (OverflowError).
    try:
        value.astimezone(UTC)
    except OverflowError:
        raise ValueError("the time lies outside what UTC can hold (years 1 to 9999)") from None
    return value


_WRITTEN_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ]")


def _written_as_a_time(value: object) -> object:
    # Read here: pydantic reads a string of digits as a Unix timestamp ("86400" is
    # 1970-01-02), even in strict mode. What this returns, the field's type then checks.
    if not isinstance(value, str):
        return value
    text = value.upper()  # RFC 3339 allows a lowercase t and z
    try:
        if _WRITTEN_TIME.match(text) is None:
            raise ValueError
        return datetime.fromisoformat(text)
    except ValueError:
        raise ValueError("write a time like 2026-12-31T09:00:00+01:00") from None


Moment = Annotated[
    AwareDatetime, BeforeValidator(_written_as_a_time), AfterValidator(_utc_can_hold)
]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class IngestMessage(Strict):
    text: Text
    source: Source = "api"
    source_id: Label | None = None
    author: Label | None = None
    conversation_id: Label | None = None
    occurred_at: Moment | None = None
    metadata: Metadata = Field(default_factory=dict)


class IngestBatch(Strict):
    messages: list[IngestMessage] = Field(min_length=1, max_length=1000)


class EventOut(BaseModel):
    seq: int
    event_id: str
    type: str
    aggregate_type: str
    aggregate_id: str
    payload: dict[str, Any]
    metadata: dict[str, Any]
    idempotency_key: str | None
    occurred_at: datetime
    recorded_at: datetime
    schema_version: int
    prev_hash: str
    hash: str

    @classmethod
    def of(cls, event: RecordedEvent) -> EventOut:
        return cls(**{name: getattr(event, name) for name in cls.model_fields})


class EventRef(BaseModel):
    seq: int
    type: str
    aggregate_type: str
    aggregate_id: str


class IngestResultOut(BaseModel):
    event_id: str
    seq: int
    status: str
    derived: list[EventRef]


class IngestBatchItemOut(BaseModel):
    index: int
    status: str = Field(description="recorded, duplicate or conflict")
    event_id: str | None = None
    seq: int | None = None
    derived: list[EventRef] | None = None
    detail: str | None = Field(None, description="why a conflicting item was refused")


class IngestBatchOut(BaseModel):
    count: int
    recorded: int
    results: list[IngestBatchItemOut]


class EventPage(BaseModel):
    items: list[EventOut]
    next: str | None = Field(description="`after` for the next page; null on the last")
    total: int = Field(description="events of the types asked for (all when none), in all")
    next_after_seq: int | None = Field(
        description="`after_seq` for the next page (the last item's seq); null on the last"
    )
