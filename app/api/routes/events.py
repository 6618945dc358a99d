from __future__ import annotations

from typing import Annotated

from dependency_injector.wiring import inject
from fastapi import APIRouter, Depends, Path, Query

from app.api.openapi import problems
from app.api.schemas import EventOut, EventPage
from app.api.wiring import AsyncProvide
from app.container import Container
from domain.event_log import EventLog

router = APIRouter()

# seq is a 64-bit integer in both databases: a larger number names no event, and the
# driver could not even send it (OverflowError).
MAX_SEQ = 2**63 - 1


@router.get("/events", response_model=EventPage, responses=problems(422))
@inject
async def list_events(
    after_seq: Annotated[int, Query(ge=0, le=MAX_SEQ)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    type: Annotated[list[str] | None, Query(max_length=20)] = None,
    event_log: EventLog = Depends(AsyncProvide[Container.event_log]),
) -> EventPage:
    # One more than asked tells whether another page follows.
    events = await event_log.page(after_seq=after_seq, limit=limit + 1, types=type)
    more = len(events) > limit
    items = [EventOut.of(event) for event in events[:limit]]
    return EventPage(items=items, next_after_seq=items[-1].seq if more else None)


@router.get("/events/{seq}", response_model=EventOut, responses=problems(404, 422))
@inject
async def get_event(
    seq: Annotated[int, Path(ge=-MAX_SEQ - 1, le=MAX_SEQ)],
    event_log: EventLog = Depends(AsyncProvide[Container.event_log]),
) -> EventOut:
    return EventOut.of(await event_log.get(seq))
