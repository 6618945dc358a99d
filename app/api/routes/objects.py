"""Todos, notes, tracks and decisions over HTTP: parse, one service call, format."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from dependency_injector.wiring import inject
from fastapi import APIRouter, Depends, Query, Request

from app.api.edge import check_text, parse_body
from app.api.openapi import READS_BODY, json_body, problems
from app.api.problems import ProblemError
from app.api.schemas_objects import (
    DecisionOut,
    DecisionPage,
    NewDecision,
    NewTodo,
    NoteOut,
    NotePage,
    StatsOut,
    TodoOut,
    TodoPage,
    TrackOut,
    TrackPage,
)
from app.api.wiring import AsyncProvide
from app.container import Container
from app.logging_setup import request_id
from domain.objects_service import ObjectsService

router = APIRouter()

Limit = Annotated[int, Query(ge=1, le=1000)]
# A number that fits the read models' integer column, or a uuid: anything else names
# nothing, and must not reach the database (a 20-digit number overflows PostgreSQL's).
_REF = re.compile(r"[0-9]{1,9}|[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")


def _context() -> dict[str, Any]:
    return {"channel": "http", "request_id": request_id.get()}


def _ref(raw: str, kind: str) -> str:
    if _REF.fullmatch(raw) is None:
        raise ProblemError(404, f"there is no {kind} with this number or id", "not-found")
    return raw.lower()


@router.get("/todos", response_model=TodoPage, responses=problems(422))
@inject
async def list_todos(
    status: Literal["open", "done", "cancelled", "all"] = "open",
    limit: Limit = 100,
    service: ObjectsService = Depends(AsyncProvide[Container.objects_service]),
) -> TodoPage:
    todos = await service.todos(status, limit)
    return TodoPage(items=[TodoOut.of(todo) for todo in todos])


@router.post("/todos", response_model=TodoOut, status_code=201, responses=READS_BODY,
             openapi_extra=json_body(NewTodo))
@inject
async def create_todo(
    request: Request, service: ObjectsService = Depends(AsyncProvide[Container.objects_service]),
) -> TodoOut:
    body = await parse_body(request, NewTodo)
    todo = await service.create_todo(**body.model_dump(), context=_context())
    return TodoOut.of(todo)


@router.post("/todos/{todo_id}/complete", response_model=TodoOut,
             responses=problems(404, 409, 422))
@inject
async def complete_todo(
    todo_id: str, service: ObjectsService = Depends(AsyncProvide[Container.objects_service]),
) -> TodoOut:
    todo = await service.complete_todo(_ref(todo_id, "todo"), context=_context())
    return TodoOut.of(todo)


@router.get("/notes", response_model=NotePage, responses=problems(422))
@inject
async def list_notes(
    search: Annotated[str | None, Query(max_length=200)] = None,
    limit: Limit = 100,
    service: ObjectsService = Depends(AsyncProvide[Container.objects_service]),
) -> NotePage:
    if search is not None:
        try:
            check_text(search)
        except ValueError as e:
            raise ProblemError(422, f"search: {e}", "validation-error") from None
    notes = await service.notes(search, limit)
    return NotePage(items=[NoteOut.of(note) for note in notes])


@router.get("/tracks", response_model=TrackPage, responses=problems(422))
@inject
async def list_tracks(
    status: Literal["active", "paused", "done", "all"] = "all",
    limit: Limit = 100,
    service: ObjectsService = Depends(AsyncProvide[Container.objects_service]),
) -> TrackPage:
    tracks = await service.tracks(status, limit)
    return TrackPage(items=[TrackOut.of(track) for track in tracks])


@router.get("/decisions", response_model=DecisionPage, responses=problems(422))
@inject
async def list_decisions(
    status: Literal["active", "superseded", "revoked", "all"] = "active",
    limit: Limit = 100,
    service: ObjectsService = Depends(AsyncProvide[Container.objects_service]),
) -> DecisionPage:
    decisions = await service.decisions(status, limit)
    return DecisionPage(items=[DecisionOut.of(decision) for decision in decisions])


@router.post("/decisions", response_model=DecisionOut, status_code=201, responses=READS_BODY,
             openapi_extra=json_body(NewDecision))
@inject
async def record_decision(
    request: Request, service: ObjectsService = Depends(AsyncProvide[Container.objects_service]),
) -> DecisionOut:
    body = await parse_body(request, NewDecision)
    decision = await service.record_decision(**body.model_dump(), context=_context())
    return DecisionOut.of(decision)


@router.post("/decisions/{decision_id}/supersede", response_model=DecisionOut, status_code=201,
             responses={**READS_BODY, **problems(404, 409)},
             openapi_extra=json_body(NewDecision))
@inject
async def supersede_decision(
    request: Request, decision_id: str,
    service: ObjectsService = Depends(AsyncProvide[Container.objects_service]),
) -> DecisionOut:
    ref = _ref(decision_id, "decision")
    body = await parse_body(request, NewDecision)
    decision = await service.record_decision(
        **body.model_dump(), supersedes=ref, context=_context()
    )
    return DecisionOut.of(decision)


@router.get("/stats", response_model=StatsOut)
@inject
async def stats(
    service: ObjectsService = Depends(AsyncProvide[Container.objects_service]),
) -> StatsOut:
    return StatsOut.of(await service.stats())
