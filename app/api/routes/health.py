from __future__ import annotations

import time
from typing import Any

from dependency_injector.wiring import inject
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

import app as package
from app.api.openapi import problems
from app.api.problems import problem
from app.api.wiring import AsyncProvide
from app.container import Container
from app.health import Readiness
from app.settings import Settings
from domain.event_log import EventLog

router = APIRouter()
api_router = APIRouter()


@router.get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/health/ready", responses=problems(503))
@inject
async def ready(readiness: Readiness = Depends(AsyncProvide[Container.readiness])) -> JSONResponse:
    report = await readiness.check()
    if report.ready:
        return JSONResponse({"status": "ready", "checks": report.checks})
    failing = "; ".join(
        f"{name}: {result}" for name, result in report.checks.items() if result != "ok"
    )
    return problem(503, f"not ready: {failing}", "not-ready", checks=report.checks)


class DatabaseStateOut(BaseModel):
    dialect: str = Field(description="sqlite or postgresql")
    revision: str | None = Field(description="the schema's migration revision")


class EventsStateOut(BaseModel):
    count: int
    last_seq: int
    last_hash: str


class TelegramStateOut(BaseModel):
    mode: str = Field(description="off, polling or webhook")
    running: bool


class StateOut(BaseModel):
    environment: str = Field(description="the tier: dev, staging or live")
    version: str
    uptime_s: float
    database: DatabaseStateOut
    events: EventsStateOut
    telegram: TelegramStateOut


@api_router.get("/state", response_model=StateOut)
@inject
async def state(
    request: Request,
    settings: Settings = Depends(AsyncProvide[Container.settings]),
    readiness: Readiness = Depends(AsyncProvide[Container.readiness]),
    event_log: EventLog = Depends(AsyncProvide[Container.event_log]),
    telegram: Any = Depends(AsyncProvide[Container.telegram]),
) -> dict:
    database = await readiness.state()
    head = await event_log.head()
    return {
        "environment": settings.tier,
        "version": package.__version__,
        "uptime_s": round(time.monotonic() - request.app.state.started_monotonic, 3),
        "database": {"dialect": database.dialect, "revision": database.revision},
        "events": {"count": head.count, "last_seq": head.last_seq, "last_hash": head.last_hash},
        "telegram": {"mode": telegram.mode, "running": telegram.running},
    }
