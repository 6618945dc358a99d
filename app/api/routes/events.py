from __future__ import annotations

from typing import Annotated

from dependency_injector.wiring import inject
from fastapi import APIRouter, Depends, Path, Query

from app.api.openapi import problems
from app.api.problems import ProblemError
from app.api.routes.objects import After, Limit
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
    after_seq: Annotated[int, Query(ge=0, le=MAX_SEQ, description="start after this seq")] = 0,
    limit: Limit = 100,
    after: After = None,
    type: Annotated[list[str] | None, Query(max_length=20, description="only these types")] = None,
    event_log: EventLog = Depends(AsyncProvide[Container.event_log]),
) -> EventPage:
    """By seq. Page with `after` (a cursor, as every list) or `after_seq` (a seq), not both."""
    if after is not None and after_seq:
        raise ProblemError(422, "give after or after_seq, not both", "validation-error")
    page = await event_log.listed(after=after, after_seq=after_seq, limit=limit, types=type)
    items = [EventOut.of(event) for event in page.items]
    return EventPage(
        items=items,
        next=page.next,
        total=page.total,
        next_after_seq=items[-1].seq if page.next is not None else None,
    )


@router.get("/events/{seq}", response_model=EventOut, responses=problems(404, 422))
@inject
async def get_event(
    seq: Annotated[int, Path(ge=-MAX_SEQ - 1, le=MAX_SEQ)],
    event_log: EventLog = Depends(AsyncProvide[Container.event_log]),
) -> EventOut:
    return EventOut.of(await event_log.get(seq))
