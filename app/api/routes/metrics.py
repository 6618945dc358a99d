"""GET /metrics: Prometheus text format (open in dev, behind the API token elsewhere)."""

from __future__ import annotations

import logging

from dependency_injector.wiring import inject
from fastapi import APIRouter, Depends, Response
from prometheus_client import CONTENT_TYPE_LATEST

from app.api.wiring import AsyncProvide
from app.container import Container
from app.metrics import Metrics
from domain.event_log import EventLog

router = APIRouter()
log = logging.getLogger("helionyx.metrics")


@router.get("/metrics", include_in_schema=False)
@inject
async def metrics(
    event_log: EventLog = Depends(AsyncProvide[Container.event_log]),
    counts: Metrics = Depends(AsyncProvide[Container.metrics]),
) -> Response:
    # One cheap query per scrape (the last row by seq), so the head is never stale, also
    # when another process (an import) appended. A scrape still answers without it.
    try:
        head_seq: int | None = (await event_log.head()).last_seq
    except Exception as e:
        log.warning("metrics: the event head could not be read (%s)", type(e).__name__)
        head_seq = None
    body = counts.exposition(head_seq)
    return Response(body, headers={"Content-Type": CONTENT_TYPE_LATEST})
