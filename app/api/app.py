"""The FastAPI application: a thin adapter over the container's services."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from fastapi import Depends, FastAPI, Request

import app as package
from app.api import docs, problems
from app.api.edge import guard_bearer, refuse_unknown_query
from app.api.middleware import (
    BodyLimitMiddleware,
    BodyTimeoutMiddleware,
    MetricsMiddleware,
    RequestIdMiddleware,
)
from app.api.openapi import GUARDED, TAGS, describe
from app.api.routes import (
    agenda,
    decisions,
    events,
    export,
    health,
    ingest,
    interactions,
    metrics,
    notes,
    objects,
    search,
    telegram,
    todos,
    tracks,
)
from app.gc_tuning import tune_after_startup

if TYPE_CHECKING:
    from app.container import Container


ROUTE_MODULES = (
    events,
    health,
    ingest,
    interactions,
    metrics,
    objects,
    todos,
    notes,
    tracks,
    decisions,
    telegram,
    export,
    agenda,
    search,
)
API_PREFIX = "/api/v1"
# Each module's /api/v1 router and its tag in the document (openapi.TAGS describes each).
API_ROUTERS = (
    (health, "state"),
    (events, "events"),
    (interactions, "conversation"),
    (objects, "state"),
    (todos, "todos"),
    (notes, "notes"),
    (tracks, "tracks"),
    (decisions, "decisions"),
    (agenda, "agenda"),
    (export, "export"),
    (search, "search"),
)


def create_app(container: Container) -> FastAPI:
    # Routes take their services as `Depends(AsyncProvide[Container.x])` parameters; wiring binds
    # those markers to this container's providers, so an override() in a test reaches the
    # routes. The binding belongs to the route modules, not to the app: the last app
    # created answers with its container (one per process in the service, one per test).
    # Markers are parameter defaults, not Annotated[...]: under `from __future__ import
    # annotations` the wiring reads annotations as strings and would find none.
    # keep_cache: what it read of the route functions' signatures is kept for the next app
    # of this process (each test builds one: 50 -> 17 ms an app).
    container.wire(modules=ROUTE_MODULES, keep_cache=True)
    settings = container.settings()
    token = settings.api.token.get_secret_value().encode()
    throttle, audit = container.auth_throttle(), container.quiet_audit()

    async def require_token(request: Request) -> None:
        guard_bearer(request, token, throttle, audit)

    async def guard_api(request: Request) -> None:
        # One dependency for both checks, not two: FastAPI's solving costs ~8 µs of CPU a
        # dependency a request (docs/PERFORMANCE.md, twelfth round).
        await require_token(request)
        await refuse_unknown_query(request)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # The bot lives exactly as long as the HTTP server: started once the app can take
        # webhook calls, stopped after in-flight requests have finished.
        bot = container.telegram()
        await bot.start()
        tune_after_startup()
        try:
            yield
        finally:
            await bot.stop(timeout_s=settings.service.grace_period_s)
            # After the last request and update: commit what is still queued.
            await container.ingest_service().close()

    # No docs_url: FastAPI's /docs loads its files from a CDN; docs.install serves them.
    app = FastAPI(
        title="Helionyx",
        version=package.__version__,
        docs_url=None,
        redoc_url=None,
        openapi_tags=TAGS,
        lifespan=lifespan,
    )
    app.state.started_monotonic = time.monotonic()
    problems.install(app)
    describe(app, guarded=API_PREFIX)

    # Each /api/v1 router straight into the app, not into an /api/v1 router of its own:
    # FastAPI 0.16x matches a request again at each level of nesting it passes, against
    # every router on that level (and recounts their versions each time). Nested, that
    # was a third of the app's work per ingest; one level deep, as the bench's bare
    # reference is, it is small. Single-message ingest, the hot path, is matched first.
    api: dict[str, Any] = {
        "prefix": API_PREFIX,
        "responses": GUARDED,
        "dependencies": [Depends(guard_api)],
    }
    app.include_router(ingest.router, tags=["ingest"], **api)
    app.include_router(health.router, tags=["health"], dependencies=[Depends(refuse_unknown_query)])
    app.include_router(telegram.router)
    for module, tag in API_ROUTERS:
        app.include_router(getattr(module, "api_router", None) or module.router, tags=[tag], **api)
    # Open on a dev machine; elsewhere the counts say too much to show to anyone.
    guard = [] if settings.tier == "dev" else [Depends(require_token)]
    app.include_router(metrics.router, dependencies=guard)
    docs.install(app)  # last: no API request is matched against it first

    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.service.max_body_bytes)
    # Around the body limit, which reads chunked bodies itself: every read is timed.
    app.add_middleware(BodyTimeoutMiddleware, seconds=settings.service.body_timeout_s)
    app.add_middleware(MetricsMiddleware, metrics=container.metrics())
    app.add_middleware(RequestIdMiddleware)
    return app
