"""What the object routes (routes/todos.py, notes.py, tracks.py, decisions.py) share, and
the counts across all objects."""

from __future__ import annotations

import re
from typing import Annotated, Any, TypeVar

from dependency_injector.wiring import inject
from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel

from app.api.edge import parse_body
from app.api.openapi import problems
from app.api.problems import ProblemError
from app.api.schemas_objects_out import StatsOut
from app.api.wiring import AsyncProvide
from app.container import Container
from app.logging_setup import request_id
from domain.listing import MAX_PAGE
from domain.objects_service import ObjectsService

router = APIRouter()

# A route whose path names an object: 404 when there is none. (FastAPI declares a 422 for
# every route with a parameter; declared here, it is documented as problem+json.)
NAMED = problems(404, 422)
# One that moves the object through its lifecycle: 409 when its status forbids the move.
MOVES = problems(404, 409, 422)

Model = TypeVar("Model", bound=BaseModel)
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE, description="items per page")]
After = Annotated[
    str | None, Query(max_length=400, description="`next` of the page before; none: the first")
]
# A number that fits the read models' integer column, or a uuid: anything else names
# nothing, and must not reach the database (a 20-digit number overflows PostgreSQL's).
_REF = re.compile(r"[0-9]{1,9}|[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")


def request_context() -> dict[str, Any]:
    """What the events of this request carry in their metadata."""
    return {"channel": "http", "request_id": request_id.get()}


def ref(raw: str, kind: str) -> str:
    """The path's number or id, or 404 before any database sees it."""
    if _REF.fullmatch(raw) is None:
        raise ProblemError(404, f"there is no {kind} with this number or id", "not-found")
    return raw.lower()


async def optional_body(request: Request, model: type[Model]) -> Model:
    """A body that may be left out: none at all reads as the model's defaults; one that is
    sent is read as strictly as any (parse_body)."""
    if not (await request.body()).strip():
        return model()
    return await parse_body(request, model)


@router.get("/stats", response_model=StatsOut)
@inject
async def stats(
    service: ObjectsService = Depends(AsyncProvide[Container.objects_service]),
) -> StatsOut:
    return StatsOut.of(await service.stats())
