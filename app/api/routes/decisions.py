"""Decisions over HTTP: parse, one service call, format."""

from __future__ import annotations

from typing import Literal

from dependency_injector.wiring import inject
from fastapi import APIRouter, Depends, Request

from app.api.edge import parse_body
from app.api.openapi import READS_BODY, json_body, problems
from app.api.routes.objects import NAMED, After, Limit, optional_body, ref, request_context
from app.api.schemas_objects import NewDecision, Outcome, Revocation
from app.api.schemas_objects_out import DecisionDetail, DecisionOut, DecisionPage, history
from app.api.wiring import AsyncProvide
from app.container import Container
from domain.objects_service import ObjectsService

router = APIRouter()


@router.get("/decisions", response_model=DecisionPage, responses=problems(422))
@inject
async def list_decisions(
    status: Literal["active", "superseded", "revoked", "all"] = "active",
    limit: Limit = 100,
    after: After = None,
    service: ObjectsService = Depends(AsyncProvide[Container.objects_service]),
) -> DecisionPage:
    page = await service.decisions(status, after=after, limit=limit)
    return DecisionPage(
        items=[DecisionOut.of(decision) for decision in page.items],
        next=page.next,
        total=page.total,
    )


@router.post(
    "/decisions",
    response_model=DecisionOut,
    status_code=201,
    responses=READS_BODY,
    openapi_extra=json_body(NewDecision),
)
@inject
async def record_decision(
    request: Request,
    service: ObjectsService = Depends(AsyncProvide[Container.objects_service]),
) -> DecisionOut:
    body = await parse_body(request, NewDecision)
    decision = await service.record_decision(**body.model_dump(), context=request_context())
    return DecisionOut.of(decision)


@router.get("/decisions/{decision_id}", response_model=DecisionDetail, responses=NAMED)
@inject
async def get_decision(
    decision_id: str,
    service: ObjectsService = Depends(AsyncProvide[Container.objects_service]),
) -> DecisionDetail:
    decision, events = await service.decision(ref(decision_id, "decision"))
    return DecisionDetail.of(decision, history=history(events))


@router.post(
    "/decisions/{decision_id}/supersede",
    response_model=DecisionOut,
    status_code=201,
    responses={**READS_BODY, **problems(404, 409)},
    openapi_extra=json_body(NewDecision),
)
@inject
async def supersede_decision(
    request: Request,
    decision_id: str,
    service: ObjectsService = Depends(AsyncProvide[Container.objects_service]),
) -> DecisionOut:
    old = ref(decision_id, "decision")
    body = await parse_body(request, NewDecision)
    decision = await service.record_decision(
        **body.model_dump(), supersedes=old, context=request_context()
    )
    return DecisionOut.of(decision)


@router.post(
    "/decisions/{decision_id}/revoke",
    response_model=DecisionOut,
    responses={**READS_BODY, **problems(404, 409)},
    openapi_extra=json_body(Revocation, required=False),
)
@inject
async def revoke_decision(
    request: Request,
    decision_id: str,
    service: ObjectsService = Depends(AsyncProvide[Container.objects_service]),
) -> DecisionOut:
    """The body may be left out; 409 unless the decision is active."""
    decision = ref(decision_id, "decision")
    body = await optional_body(request, Revocation)
    revoked = await service.revoke_decision(decision, reason=body.reason, context=request_context())
    return DecisionOut.of(revoked)


@router.post(
    "/decisions/{decision_id}/outcome",
    response_model=DecisionOut,
    responses={**READS_BODY, **problems(404)},
    openapi_extra=json_body(Outcome),
)
@inject
async def record_outcome(
    request: Request,
    decision_id: str,
    service: ObjectsService = Depends(AsyncProvide[Container.objects_service]),
) -> DecisionOut:
    """How it turned out (`decision.reviewed`), whatever its status; a later one replaces it."""
    decision = ref(decision_id, "decision")
    body = await parse_body(request, Outcome)
    reviewed = await service.review_decision(
        decision, outcome=body.outcome, context=request_context()
    )
    return DecisionOut.of(reviewed)
