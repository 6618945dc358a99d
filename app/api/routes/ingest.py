from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from app.api.edge import parse_body
from app.api.openapi import READS_BODY, json_body, problems
from app.api.problems import ProblemError
from app.api.schemas import IngestBatch, IngestBatchOut, IngestMessage, IngestResultOut
from app.logging_setup import request_id
from domain.ingest import IngestResult
from domain.messages import IncomingMessage

router = APIRouter()

# Read by _key, not by FastAPI: a wrong key is a 400 of its own, and the hot path skips
# FastAPI's parameter handling.
IDEMPOTENCY_KEY = {"name": "Idempotency-Key", "in": "header", "required": False,
                   "description": "1 to 255 printable ASCII characters",
                   "schema": {"type": "string", "pattern": "^[!-~]([ -~]{0,253}[!-~])?$"}}


def _key(request: Request) -> str | None:
    key = request.headers.get("idempotency-key")
    if key is None:
        return None
    if not 1 <= len(key) <= 255 or not all(" " <= ch <= "~" for ch in key):
        raise ProblemError(400, "Idempotency-Key must be 1 to 255 printable ASCII characters",
                           "invalid-idempotency-key")
    return key


def _message(body: IngestMessage) -> IncomingMessage:
    # Field by field rather than **body.model_dump(): the same values, without the dump;
    # by position, in IncomingMessage's order: a batch builds a thousand.
    return IncomingMessage(body.text, body.source, body.source_id, body.author,
                           body.conversation_id, body.occurred_at, body.metadata)


def _context(channel: str) -> dict[str, Any]:
    return {"channel": channel, "request_id": request_id.get()}


def result_out(result: IngestResult) -> dict[str, Any]:
    """IngestResultOut's JSON, built directly: on the hot path a pydantic model and its
    dump cost more than the rest of the route (the fields are plain str and int)."""
    return {
        "event_id": result.event.event_id,
        "seq": result.event.seq,
        "status": "recorded",
        "derived": [{"seq": e.seq, "type": e.type, "aggregate_type": e.aggregate_type,
                     "aggregate_id": e.aggregate_id} for e in result.derived],
    }


@router.post("/ingest/message", response_model=IngestResultOut, status_code=201,
             responses={200: {"description": "replay of an already recorded message",
                              "model": IngestResultOut}, **READS_BODY, **problems(409)},
             openapi_extra={**json_body(IngestMessage), "parameters": [IDEMPOTENCY_KEY]})
async def ingest_message(request: Request) -> JSONResponse:
    key = _key(request)
    body = await parse_body(request, IngestMessage)
    service = request.app.state.container.ingest_service()
    result = await service.ingest(_message(body), idempotency_key=key,
                                  context=_context("http"))
    return JSONResponse(result_out(result),
                        status_code=200 if result.replayed else 201)


@router.post("/ingest/batch", status_code=200, response_model=IngestBatchOut,
             responses=READS_BODY, openapi_extra=json_body(IngestBatch))
async def ingest_batch(request: Request) -> JSONResponse:
    body = await parse_body(request, IngestBatch)
    request.app.state.container.metrics().observe_batch(len(body.messages))
    service = request.app.state.container.ingest_service()
    items = await service.ingest_batch([_message(m) for m in body.messages],
                                       context=_context("http-batch"))
    results = []
    recorded = 0
    for index, result, error in items:
        if result is None:
            results.append({"index": index, "status": "conflict", "detail": error})
            continue
        out = result_out(result)  # IngestBatchItemOut's JSON
        out["index"] = index
        if result.replayed:
            out["status"] = "duplicate"
        else:
            recorded += 1
        results.append(out)
    # A JSONResponse, not the dict: FastAPI would validate and serialize a thousand
    # results through the response model first (documented by it, built here directly).
    return JSONResponse({"count": len(results), "recorded": recorded, "results": results})
