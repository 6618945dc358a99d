from __future__ import annotations

import time

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

import app as package
from app.api.openapi import problems
from app.api.problems import problem

router = APIRouter()
api_router = APIRouter()


@router.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/health/ready", responses=problems(503))
async def ready(request: Request) -> JSONResponse:
    report = await request.app.state.container.readiness().check()
    if report.ready:
        return JSONResponse({"status": "ready", "checks": report.checks})
    failing = "; ".join(f"{name}: {result}" for name, result in report.checks.items()
                        if result != "ok")
    return problem(503, f"not ready: {failing}", "not-ready", checks=report.checks)


@api_router.get("/state")
async def state(request: Request) -> dict:
    container = request.app.state.container
    settings = container.settings()
    database = await container.readiness().state()
    head = await container.event_log().head()
    telegram = container.telegram()
    return {
        "environment": settings.tier,
        "version": package.__version__,
        "uptime_s": round(time.monotonic() - request.app.state.started_monotonic, 3),
        "database": {"dialect": database.dialect, "revision": database.revision},
        "events": {"count": head.count, "last_seq": head.last_seq, "last_hash": head.last_hash},
        "telegram": {"mode": telegram.mode, "running": telegram.running},
    }
