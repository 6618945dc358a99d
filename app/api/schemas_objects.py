"""What the object and interaction endpoints read (and the interactions' answer); what
the object endpoints answer is in schemas_objects_out.py. The domain never sees these."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any, Literal, Self

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from app.api.edge import check_text
from app.api.schemas import MAX_TEXT, Label, Moment, Source, Strict, Text
from domain.extraction import MAX_CHECK_IN_DAYS
from domain.objects import DEFAULT_CHECK_IN_EVERY


def _not_blank(value: str) -> str:
    check_text(value)
    if not value.strip():
        raise ValueError("must not be empty or only white space")
    return value


_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_WRITE_A_DUE = "write a date like 2026-12-31 or a time like 2026-12-31T09:00+01:00"


# Days and times are read here, not by pydantic, which takes a string of digits for a
# Unix timestamp ("86400" is 1970-01-02) even in strict mode; what is returned is then
# checked by the field's strict type (a date, or a Moment).
def _as_day(value: object) -> object:
    if not isinstance(value, str):
        return value  # left to the field's type to refuse
    if _DAY.fullmatch(value) is None:
        raise ValueError("write a date like 2026-12-31")
    return date.fromisoformat(value)


def _as_day_or_time(value: object) -> object:
    if not isinstance(value, str) or _DAY.fullmatch(value):
        return _as_day(value)
    text = value.upper()  # RFC 3339 allows a lowercase t and z
    if _DAY.match(text) is None or text[10:11] not in ("T", " "):
        raise ValueError(_WRITE_A_DUE)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(_WRITE_A_DUE) from None
    if moment.utcoffset() is None:
        # The day it falls on would depend on a zone nobody named.
        raise ValueError("a time needs its UTC offset, like 2026-12-31T09:00+01:00")
    return moment


Title = Annotated[str, StringConstraints(min_length=1, max_length=200), AfterValidator(_not_blank)]
Tag = Annotated[str, StringConstraints(min_length=1, max_length=50), AfterValidator(_not_blank)]
Tags = Annotated[list[Tag], Field(max_length=20)]
Priority = Literal["low", "normal", "high", "urgent"]
Day = Annotated[date, BeforeValidator(_as_day)]
# A day, or an instant when a time of day is given (with its UTC offset).
Due = Annotated[Moment | date, Field(union_mode="left_to_right"), BeforeValidator(_as_day_or_time)]
NoteContent = Annotated[str, Field(max_length=MAX_TEXT), AfterValidator(check_text)]
# As the extractors allow: the read models keep the interval as a 32-bit integer and add
# it to times as days, where a huge one would not fit.
Interval = Annotated[int, Field(ge=1, le=MAX_CHECK_IN_DAYS)]


def _examples(*examples: dict[str, Any], **schema: Any) -> ConfigDict:
    return ConfigDict(json_schema_extra={"examples": list(examples), **schema})


def _kept() -> Any:
    """A field an edit may leave out, to keep it as it is (null, where allowed, clears)."""
    return Field(None, json_schema_extra=_no_default)


def _no_default(schema: dict[str, Any]) -> None:
    # Left out is not null: the schema names no default a client could send.
    schema.pop("default", None)


class _Changes(Strict):
    """What an edit changes: the fields sent, and only those (`model_fields_set`)."""

    @model_validator(mode="after")
    def _something_changes(self) -> Self:
        if not self.model_fields_set:
            raise ValueError(f"say what to change: {', '.join(type(self).model_fields)}")
        return self

    def changes(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.model_fields_set}


class Interaction(Strict):
    model_config = _examples({"text": "/todo buy milk tomorrow"})

    text: Text
    channel: Source = "http"
    chat_id: Label | None = None
    external_id: Label | None = None


class EventSummary(BaseModel):
    seq: int
    type: str


class DocumentOut(BaseModel):
    """A file the chat sends with its reply (`/export`: the Markdown export), here inline."""

    filename: str
    media_type: str
    content: str


class InteractionOut(BaseModel):
    reply: str
    events: list[EventSummary]
    replayed: bool
    document: DocumentOut | None = None


class NewTodo(Strict):
    model_config = _examples(
        {"title": "buy milk", "priority": "high", "due": "2026-12-31", "tags": ["home"]},
        {"title": "call the bank", "due": "2026-12-31T09:00:00+01:00"},
    )

    title: Title
    description: Text | None = None
    priority: Priority = "normal"
    due: Due | None = None
    tags: Tags = Field(default_factory=list)


class TodoChanges(_Changes):
    model_config = _examples(
        {"due": "2026-12-31T09:00:00+01:00", "priority": "urgent"},
        {"description": None, "tags": ["home", "shop"]},
        minProperties=1,
    )

    title: Title = _kept()
    description: Text | None = _kept()
    priority: Priority = _kept()
    due: Due | None = _kept()
    tags: Tags = _kept()


class NoteChanges(_Changes):
    model_config = _examples({"content": "the code is 4711", "tags": ["home"]}, minProperties=1)

    title: Title = _kept()
    content: NoteContent = _kept()
    tags: Tags = _kept()


class NewTrack(Strict):
    model_config = _examples(
        {"title": "running", "check_in_every": 3},
        {"title": "Spanish", "description": "20 minutes a day"},
    )

    title: Title
    description: Text | None = None
    check_in_every: Interval = Field(DEFAULT_CHECK_IN_EVERY, description="days")


class CheckIn(Strict):
    model_config = _examples({"note": "5 km, easy"}, {})

    note: Text | None = None


class NewDecision(Strict):
    model_config = _examples(
        {
            "title": "Use PostgreSQL",
            "rationale": "two writers",
            "options": ["SQLite", "PostgreSQL"],
            "review_on": "2027-03-31",
        }
    )

    title: Title
    rationale: Text | None = None
    options: list[Title] = Field(default_factory=list, max_length=20)
    review_on: Day | None = Field(None, description="the day to look back at how it turned out")


class Revocation(Strict):
    model_config = _examples({"reason": "the budget was cut"}, {})

    reason: Text | None = None


class Outcome(Strict):
    model_config = _examples({"outcome": "worked: no lock contention since"})

    outcome: Text
