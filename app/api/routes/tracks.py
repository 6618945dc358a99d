"""Tracks over HTTP: parse, one service call, format."""

from __future__ import annotations

from typing import Literal

from dependency_injector.wiring import inject
from fastapi import APIRouter, Depends, Request

from app.api.edge import parse_body
from app.api.openapi import READS_BODY, json_body, problems
from app.api.routes.objects import MOVES, NAMED, After, Limit, optional_body, ref, request_context
from app.api.schemas_objects import CheckIn, NewTrack
from app.api.schemas_objects_out import TrackDetail, TrackOut, TrackPage, history
from app.api.wiring import AsyncProvide
from app.container import Container
from domain.objects_service import ObjectsService

router = APIRouter()


@router.get("/tracks", response_model=TrackPage, responses=problems(422))
@inject
async def list_tracks(
    status: Literal["active", "paused", "done", "all"] = "all",
    limit: Limit = 100,
    after: After = None,
    service: ObjectsService = Depends(AsyncProvide[Container.objects_service]),
) -> TrackPage:
    page = await service.tracks(status, after=after, limit=limit)
    return TrackPage(
        items=[TrackOut.of(track) for track in page.items], next=page.next, total=page.total
    )


@router.post(
    "/tracks",
    response_model=TrackOut,
    status_code=201,
    responses={**READS_BODY, **problems(409)},
    openapi_extra=json_body(NewTrack),
)
@inject
async def start_track(
    request: Request,
    service: ObjectsService = Depends(AsyncProvide[Container.objects_service]),
) -> TrackOut:
    """409 while a track of the same name is active or paused."""
    body = await parse_body(request, NewTrack)
    track = await service.start_track(**body.model_dump(), context=request_context())
    return TrackOut.of(track)


@router.get("/tracks/{track_id}", response_model=TrackDetail, responses=NAMED)
@inject
async def get_track(
    track_id: str,
    service: ObjectsService = Depends(AsyncProvide[Container.objects_service]),
) -> TrackDetail:
    track, events = await service.track(ref(track_id, "track"))
    return TrackDetail.of(track, history=history(events))


@router.post(
    "/tracks/{track_id}/check-ins",
    response_model=TrackOut,
    status_code=201,
    responses={**READS_BODY, **problems(404, 409)},
    openapi_extra=json_body(CheckIn, required=False),
)
@inject
async def check_in(
    request: Request,
    track_id: str,
    service: ObjectsService = Depends(AsyncProvide[Container.objects_service]),
) -> TrackOut:
    """The body may be left out; 409 unless the track is active."""
    track = ref(track_id, "track")
    body = await optional_body(request, CheckIn)
    return TrackOut.of(await service.check_in(track, note=body.note, context=request_context()))


@router.post("/tracks/{track_id}/pause", response_model=TrackOut, responses=MOVES)
@inject
async def pause_track(
    track_id: str,
    service: ObjectsService = Depends(AsyncProvide[Container.objects_service]),
) -> TrackOut:
    track = await service.pause_track(ref(track_id, "track"), context=request_context())
    return TrackOut.of(track)


@router.post("/tracks/{track_id}/resume", response_model=TrackOut, responses=MOVES)
@inject
async def resume_track(
    track_id: str,
    service: ObjectsService = Depends(AsyncProvide[Container.objects_service]),
) -> TrackOut:
    track = await service.resume_track(ref(track_id, "track"), context=request_context())
    return TrackOut.of(track)


@router.post("/tracks/{track_id}/finish", response_model=TrackOut, responses=MOVES)
@inject
async def finish_track(
    track_id: str,
    service: ObjectsService = Depends(AsyncProvide[Container.objects_service]),
) -> TrackOut:
    track = await service.finish_track(ref(track_id, "track"), context=request_context())
    return TrackOut.of(track)
