"""GET /metrics: Prometheus text format (open in dev, behind the API token elsewhere)."""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST

router = APIRouter()
log = logging.getLogger("helionyx.metrics")


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    container = request.app.state.container
    # One cheap query per scrape (the last row by seq), so the head is never stale, also
    # when another process (an import) appended. A scrape still answers without it.
    try:
        head_seq: int | None = (await container.event_log().head()).last_seq
    except Exception as e:
        log.warning("metrics: the event head could not be read (%s)", type(e).__name__)
        head_seq = None
    body = container.metrics().exposition(head_seq)
    return Response(body, headers={"Content-Type": CONTENT_TYPE_LATEST})
