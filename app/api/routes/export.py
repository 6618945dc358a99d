"""`GET /api/v1/export?format=jsonl|markdown`: the log, or the owner's objects, streamed.

The same exports as `make export` (infrastructure/log_file/), read a page at a time while
the client reads, so memory stays the same whatever the log's size. The first chunk (the
head the export goes up to) is read before the answer starts: a database that does not
answer is a 503, not a 200 cut short."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import tzinfo
from typing import Annotated, Any, Literal

from dependency_injector.wiring import inject
from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from app.api.openapi import problems
from app.api.wiring import AsyncProvide
from app.container import Container
from app.settings import Settings
from domain.ports import Clock
from infrastructure.log_file.export import jsonl_export
from infrastructure.log_file.markdown import markdown_export
from infrastructure.unit_of_work import SqlUnitOfWorkFactory

router = APIRouter()

MEDIA_TYPES = {"jsonl": "application/x-ndjson", "markdown": "text/markdown; charset=utf-8"}
EXTENSIONS = {"jsonl": "jsonl", "markdown": "md"}


class ExportQuery(BaseModel):
    """Unknown query parameters are refused (422), as everywhere in /api/v1."""

    model_config = ConfigDict(extra="forbid")

    format: Literal["jsonl", "markdown"] = Field(
        "jsonl",
        description="jsonl: every event with every column, hashes included (what "
        "`make verify FILE=` checks and `make import-log` loads); "
        "markdown: todos, notes, tracks and decisions to read",
    )


_STREAMED: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The export, streamed as an attachment",
        "content": {
            MEDIA_TYPES["jsonl"]: {"schema": {"type": "string"}},
            "text/markdown": {"schema": {"type": "string"}},
        },
    }
}


@router.get("/export", response_class=StreamingResponse, responses={**_STREAMED, **problems(422)})
@inject
async def export(
    query: Annotated[ExportQuery, Query()],
    uow_factory: SqlUnitOfWorkFactory = Depends(AsyncProvide[Container.uow_factory]),
    clock: Clock = Depends(AsyncProvide[Container.clock]),
    zone: tzinfo = Depends(AsyncProvide[Container.owner_zone]),
    settings: Settings = Depends(AsyncProvide[Container.settings]),
) -> StreamingResponse:
    fmt = query.format
    chunks = (
        jsonl_export(uow_factory, clock)
        if fmt == "jsonl"
        else markdown_export(uow_factory, clock, zone=zone)
    )
    first = await anext(chunks)  # the head, read now: a database down is a 503
    stamp = clock.now().strftime("%Y%m%dT%H%M%SZ")
    name = f"helionyx-{settings.tier}-{stamp}.{EXTENSIONS[fmt]}"
    return StreamingResponse(
        _after(first, chunks),
        media_type=MEDIA_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


async def _after(first: bytes, rest: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    yield first
    async for chunk in rest:
        yield chunk
