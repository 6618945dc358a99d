"""Todos over HTTP: parse, one service call, format."""

from __future__ import annotations

from typing import Annotated, Literal

from dependency_injector.wiring import inject
from fastapi import APIRouter, Depends, Query, Request

from app.api.edge import parse_body, query_text
from app.api.openapi import READS_BODY, json_body, problems
from app.api.routes.objects import MOVES, NAMED, After, Limit, ref, request_context
from app.api.schemas_objects import Day, NewTodo, Priority, TodoChanges
from app.api.schemas_objects_out import TodoDetail, TodoOut, TodoPage, history
from app.api.wiring import AsyncProvide
from app.container import Container
from domain.objects_service import ObjectsService
from domain.todo_filter import TodoFilter

router = APIRouter()


@router.get("/todos", response_model=TodoPage, responses=problems(422))
@inject
async def list_todos(
    status: Literal["open", "done", "cancelled", "all"] = "open",
    tag: Annotated[str | None, Query(max_length=50, description="only todos with this tag")] = None,
    priority: Priority | None = None,
    due_before: Annotated[
        Day | None, Query(description="only todos due before this day (not on it)")
    ] = None,
    due_after: Annotated[
        Day | None, Query(description="only todos due after this day (not on it)")
    ] = None,
    sort: Annotated[
        Literal["number", "due"],
        Query(description="due: soonest first (on a day, all-day then by time), undated last"),
    ] = "number",
    limit: Limit = 100,
    after: After = None,
    service: ObjectsService = Depends(AsyncProvide[Container.objects_service]),
) -> TodoPage:
    if tag is not None:
        query_text("tag", tag)
    wanted = TodoFilter.asked(status, tag, priority, due_before, due_after, sort)
    page = await service.todos(wanted, after=after, limit=limit)
    return TodoPage(
        items=[TodoOut.of(todo) for todo in page.items], next=page.next, total=page.total
    )


@router.post(
    "/todos",
    response_model=TodoOut,
    status_code=201,
    responses=READS_BODY,
    openapi_extra=json_body(NewTodo),
)
@inject
async def create_todo(
    request: Request,
    service: ObjectsService = Depends(AsyncProvide[Container.objects_service]),
) -> TodoOut:
    body = await parse_body(request, NewTodo)
    todo = await service.create_todo(**body.model_dump(), context=request_context())
    return TodoOut.of(todo)


@router.get("/todos/{todo_id}", response_model=TodoDetail, responses=NAMED)
@inject
async def get_todo(
    todo_id: str,
    service: ObjectsService = Depends(AsyncProvide[Container.objects_service]),
) -> TodoDetail:
    todo, events = await service.todo(ref(todo_id, "todo"))
    return TodoDetail.of(todo, history=history(events))


@router.patch(
    "/todos/{todo_id}",
    response_model=TodoOut,
    responses={**READS_BODY, **problems(404)},
    openapi_extra=json_body(TodoChanges),
)
@inject
async def edit_todo(
    request: Request,
    todo_id: str,
    service: ObjectsService = Depends(AsyncProvide[Container.objects_service]),
) -> TodoOut:
    """Changes the fields sent (null clears a description or a due); the same values
    again record nothing."""
    todo = ref(todo_id, "todo")
    body = await parse_body(request, TodoChanges)
    changed = await service.edit_todo(todo, **body.changes(), context=request_context())
    return TodoOut.of(changed)


@router.post("/todos/{todo_id}/complete", response_model=TodoOut, responses=MOVES)
@inject
async def complete_todo(
    todo_id: str,
    service: ObjectsService = Depends(AsyncProvide[Container.objects_service]),
) -> TodoOut:
    todo = await service.complete_todo(ref(todo_id, "todo"), context=request_context())
    return TodoOut.of(todo)


@router.post("/todos/{todo_id}/cancel", response_model=TodoOut, responses=MOVES)
@inject
async def cancel_todo(
    todo_id: str,
    service: ObjectsService = Depends(AsyncProvide[Container.objects_service]),
) -> TodoOut:
    todo = await service.cancel_todo(ref(todo_id, "todo"), context=request_context())
    return TodoOut.of(todo)


@router.post("/todos/{todo_id}/reopen", response_model=TodoOut, responses=MOVES)
@inject
async def reopen_todo(
    todo_id: str,
    service: ObjectsService = Depends(AsyncProvide[Container.objects_service]),
) -> TodoOut:
    todo = await service.reopen_todo(ref(todo_id, "todo"), context=request_context())
    return TodoOut.of(todo)
