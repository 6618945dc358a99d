"""Notes over HTTP: parse, one service call, format."""

from __future__ import annotations

from typing import Annotated, Literal

from dependency_injector.wiring import inject
from fastapi import APIRouter, Depends, Query, Request

from app.api.edge import parse_body, query_text
from app.api.openapi import READS_BODY, json_body, problems
from app.api.routes.objects import MOVES, NAMED, After, Limit, ref, request_context
from app.api.schemas_objects import NoteChanges
from app.api.schemas_objects_out import NoteDetail, NoteOut, NotePage, history
from app.api.wiring import AsyncProvide
from app.container import Container
from domain.objects_service import ObjectsService

router = APIRouter()


@router.get("/notes", response_model=NotePage, responses=problems(422))
@inject
async def list_notes(
    search: Annotated[str | None, Query(max_length=200)] = None,
    status: Literal["active", "archived", "all"] = "active",
    limit: Limit = 100,
    after: After = None,
    service: ObjectsService = Depends(AsyncProvide[Container.objects_service]),
) -> NotePage:
    """Newest first; archived notes leave lists and search unless asked for."""
    if search is not None:
        query_text("search", search)
    page = await service.notes(search, status, after=after, limit=limit)
    return NotePage(
        items=[NoteOut.of(note) for note in page.items], next=page.next, total=page.total
    )


@router.get("/notes/{note_id}", response_model=NoteDetail, responses=NAMED)
@inject
async def get_note(
    note_id: str,
    service: ObjectsService = Depends(AsyncProvide[Container.objects_service]),
) -> NoteDetail:
    note, events = await service.note(ref(note_id, "note"))
    return NoteDetail.of(note, history=history(events))


@router.patch(
    "/notes/{note_id}",
    response_model=NoteOut,
    responses={**READS_BODY, **problems(404)},
    openapi_extra=json_body(NoteChanges),
)
@inject
async def edit_note(
    request: Request,
    note_id: str,
    service: ObjectsService = Depends(AsyncProvide[Container.objects_service]),
) -> NoteOut:
    """Changes the fields sent; the same values again record nothing."""
    note = ref(note_id, "note")
    body = await parse_body(request, NoteChanges)
    changed = await service.edit_note(note, **body.changes(), context=request_context())
    return NoteOut.of(changed)


@router.post("/notes/{note_id}/archive", response_model=NoteOut, responses=MOVES)
@inject
async def archive_note(
    note_id: str,
    service: ObjectsService = Depends(AsyncProvide[Container.objects_service]),
) -> NoteOut:
    note = await service.archive_note(ref(note_id, "note"), context=request_context())
    return NoteOut.of(note)
