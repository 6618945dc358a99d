"""The reference the benchmark measures the service against: the same endpoints with no
storage behind them.

Same shape as the service's ingest routes: the same `IngestMessage` and `IngestBatch`
models, the same `check_bearer` as a router dependency, the same strict `parse_body`, the
same problem+json handlers, an answer of the same shape and status; then nothing is
stored. None of the service's middlewares (request id, metrics and access log, body
limit): they are part of what the service costs, so the ratio counts them.

Served by the same uvicorn server class with the same settings as `app.main` (asyncio
loop, h11, no access log, no server header, lifespan on), in a process of its own:
`python -m bench.bare_app --port N` with the token in HELIONYX_API_TOKEN.
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
import uuid
from typing import Any

import uvicorn
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import JSONResponse

from app.api import problems
from app.api.edge import check_bearer, parse_body
from app.api.schemas import IngestBatch, IngestMessage, IngestResultOut
from app.main import Server
from domain.messages import IncomingMessage


def create_bare_app(token: str) -> FastAPI:
    expected = token.encode()
    seq = itertools.count(1)

    async def require_token(request: Request) -> None:
        check_bearer(request, expected)

    def recorded(body: IngestMessage) -> IngestResultOut:
        IncomingMessage(**body.model_dump())  # the service hands the domain this
        return IngestResultOut(
            event_id=str(uuid.uuid4()), seq=next(seq), status="recorded", derived=[]
        )

    app = FastAPI(title="Helionyx bench reference", docs_url=None, redoc_url=None)
    problems.install(app)
    api = APIRouter(prefix="/api/v1", dependencies=[Depends(require_token)])

    @api.post("/ingest/message", response_model=IngestResultOut, status_code=201)
    async def ingest_message(request: Request) -> JSONResponse:
        body = await parse_body(request, IngestMessage)
        return JSONResponse(recorded(body).model_dump(mode="json"), status_code=201)

    @api.post("/ingest/batch", status_code=200)
    async def ingest_batch(request: Request) -> dict[str, Any]:
        body = await parse_body(request, IngestBatch)
        results = [
            {"index": index, **recorded(message).model_dump(mode="json")}
            for index, message in enumerate(body.messages)
        ]
        return {"count": len(results), "recorded": len(results), "results": results}

    answer_health(app)
    app.include_router(api)
    return app


def answer_health(app: FastAPI) -> None:
    """/health and /health/ready, always ready: what the bench waits for at start."""

    @app.get("/health")
    @app.get("/health/ready")
    async def health() -> dict[str, str]:
        return {"status": "ok"}


def serve(app: FastAPI, host: str, port: int) -> None:
    """As `app.main` serves: the same server class and settings."""
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        server_header=False,
        lifespan="on",
        timeout_graceful_shutdown=10,
    )
    Server(config).run()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench.bare_app", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    serve(create_bare_app(os.environ["HELIONYX_API_TOKEN"]), args.host, args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
