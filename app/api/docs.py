"""GET /docs: Swagger UI from files the app serves itself, so the page works offline.

FastAPI's own /docs loads Swagger UI's script and stylesheet from a CDN: on a host with no
way out the page stays blank. The same files come with the `fastapi-offline` package
(Swagger UI 5, which reads OpenAPI 3.1; MIT, Swagger UI's own files Apache-2.0) and are
mounted here. The page and its files need no token: they hold no data. What "Try it out"
sends carries the token given to the Authorize button (the bearer scheme, app/api/openapi.py).
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from starlette.routing import Mount
from starlette.types import Receive, Scope, Send

DOCS = "/docs"
ASSETS = "/docs/static"
SWAGGER_UI = {
    # Keeps the token across a reload (in the browser's local storage) until Logout.
    "persistAuthorization": True,
    # Swagger UI would otherwise send the document to validator.swagger.io for a badge.
    "validatorUrl": None,
}


def install(app: FastAPI) -> None:
    """Serves /docs and its files; the app is built with FastAPI's docs_url=None."""
    files = StaticFiles(packages=[("fastapi_offline", "static")])

    async def assets(scope: Scope, receive: Receive, send: Send) -> None:
        # A mount is no route to the router: without this /metrics would count these
        # requests as "unmatched" rather than as /docs/static/{path}.
        scope["route"] = mount
        await files(scope, receive, send)

    mount = Mount(ASSETS, app=assets, name="docs-assets")
    app.router.routes.append(mount)

    @app.get(DOCS, include_in_schema=False)
    async def docs(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "").rstrip("/")  # behind a proxy's prefix
        return get_swagger_ui_html(
            openapi_url=f"{root}{app.openapi_url}",
            title=f"{app.title} API",
            swagger_js_url=f"{root}{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS}/favicon.png",
            swagger_ui_parameters=SWAGGER_UI,
        )
