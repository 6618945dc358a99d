"""The agenda over HTTP: what is overdue and due over the owner's next days, in the
owner's time zone (domain/agenda.py, the query behind /today, /week and the daily summary)."""

from __future__ import annotations

from datetime import date, tzinfo
from typing import Annotated

from dependency_injector.wiring import inject
from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from app.api.openapi import problems
from app.api.schemas_objects_out import DecisionOut, TodoOut, TrackOut
from app.api.wiring import AsyncProvide
from app.container import Container
from domain.agenda import MAX_DAYS, Agenda, read_agenda
from domain.ports import Clock, UnitOfWorkFactory

router = APIRouter()


class CheckInOut(BaseModel):
    track: TrackOut
    due_on: date = Field(description="the owner's day the next check-in is due on")
    overdue: bool = Field(description="due before `start`")


class AgendaOut(BaseModel):
    start: date = Field(description="the owner's today")
    end: date = Field(description="the last day of the agenda, included")
    timezone: str = Field(description="the owner's time zone, whose days these are")
    overdue: list[TodoOut] = Field(description="open todos due before now")
    due: list[TodoOut] = Field(
        description="open todos due from now to the end of `end`, by day, then time, then number"
    )
    check_ins: list[CheckInOut] = Field(description="active tracks' check-ins due by `end`")
    reviews: list[DecisionOut] = Field(
        description="active decisions with no outcome whose review day is `end` or before"
    )

    @classmethod
    def of(cls, agenda: Agenda, timezone: str) -> AgendaOut:
        return cls(
            start=agenda.start,
            end=agenda.end,
            timezone=timezone,
            overdue=[TodoOut.of(t) for t in agenda.overdue],
            due=[TodoOut.of(t) for t in agenda.due],
            check_ins=[
                CheckInOut(track=TrackOut.of(c.track), due_on=c.due_on, overdue=c.overdue)
                for c in agenda.check_ins
            ],
            reviews=[DecisionOut.of(d) for d in agenda.reviews],
        )


@router.get("/agenda", response_model=AgendaOut, responses=problems(422))
@inject
async def agenda(
    days: Annotated[int, Query(ge=1, le=MAX_DAYS, description="today and the days after")] = 1,
    uow_factory: UnitOfWorkFactory = Depends(AsyncProvide[Container.uow_factory]),
    clock: Clock = Depends(AsyncProvide[Container.clock]),
    zone: tzinfo = Depends(AsyncProvide[Container.owner_zone]),
) -> AgendaOut:
    now = clock.now().astimezone(zone)
    async with uow_factory() as uow:
        found = await read_agenda(uow, now, days)
    return AgendaOut.of(found, str(zone))
