"""HTTP mirror of BotApiStub's Python control surface, for tests in another process.

Every answer is JSON shaped like the Bot API's: {"ok": ..., "result": ...}.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import aiohttp
from aiohttp import web

from tests.support.bot_api_payloads import error, ok

if TYPE_CHECKING:
    from tests.support.bot_api_stub import BotApiStub

READABLE = ("calls", "webhook", "pending", "commands")


def add_control_routes(app: web.Application, stub: BotApiStub) -> None:
    async def queue(request: web.Request) -> web.Response:
        body = await request.json()
        if "update" in body:
            update_id = stub.queue_update(body["update"])
        else:
            update_id = stub.queue_text(
                int(body["chat_id"]), str(body["text"]), body.get("user_id"), body.get("update_id")
            )
        return web.json_response(ok({"update_id": update_id}))

    async def deliver(request: web.Request) -> web.Response:
        body = await request.json()
        update = body.get("update") or stub.make_text_update(
            int(body["chat_id"]), str(body["text"]), body.get("user_id")
        )
        try:
            status = await stub.deliver_webhook(update, body.get("url"), body.get("secret"))
        except LookupError as exc:
            return web.json_response(error(409, str(exc)), status=409)
        except aiohttp.ClientError as exc:
            return web.json_response(error(502, f"webhook unreachable: {exc!r}"), status=502)
        return web.json_response(ok({"status": status, "update_id": update.get("update_id")}))

    async def sent(request: web.Request) -> web.Response:
        wait_for = int(request.query.get("wait_for", 0))
        try:
            messages = await stub.wait_for_messages(
                wait_for, float(request.query.get("timeout", 5.0))
            )
        except TimeoutError:
            # 408 still carries what was sent, so the failing test can show it.
            body = error(408, f"fewer than {wait_for} messages were sent")
            return web.json_response({**body, "result": stub.sent_messages}, status=408)
        return web.json_response(ok(messages))

    async def read(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name not in READABLE:
            return web.json_response(error(404, "Not Found"), status=404)
        if name == "pending":
            body = {**ok(stub.pending), "confirmed_offset": stub.confirmed_offset}
            return web.json_response(body)
        return web.json_response(ok(getattr(stub, name)))

    app.router.add_post("/_control/updates", queue)
    app.router.add_post("/_control/deliver", deliver)
    app.router.add_get("/_control/sent", sent)
    app.router.add_get("/_control/{name}", read)
