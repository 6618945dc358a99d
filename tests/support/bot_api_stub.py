"""A stand-in Telegram Bot API server, so tests can run the real aiogram client offline.

In-process::

    async with BotApiStub(token=TOKEN) as stub:
        session = AiohttpSession(api=TelegramAPIServer.from_base(stub.base_url))
        stub.queue_text(chat_id=42, text="/start")
        await stub.wait_for_messages(1)

As a process (the /_control/... HTTP routes then drive it from another process)::

    python -m tests.support.bot_api_stub --port 0 --token TOKEN --port-file PATH

Failures on demand: ``stub.fail("sendMessage", times=2, mode="502")``, or
``POST /_control/fail {"method": "sendMessage", "times": 2, "mode": "502" | "timeout"}``,
makes the next calls of that method answer 502 Bad Gateway, or hang (``hang_s``, default
60 s, past any client's request timeout) and then answer 504; a failed call records
nothing but itself in ``calls`` (with its "failure").
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import aiohttp
from aiohttp import web

from tests.support.bot_api_control import add_control_routes
from tests.support.bot_api_payloads import (
    as_chat_id,
    bot_user,
    error,
    human_user,
    ok,
    read_params,
    text_message,
)

DEFAULT_TOKEN = "123456:TEST-ONLY-fake-token-for-bot-api-xx"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
GET_UPDATES_CONFLICT = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)
FAILURE_MODES = ("502", "timeout")
# Calls that only need to succeed.  Anything not modelled is a 404, so a test notices a new
# call instead of the bot quietly getting a made-up answer.
TRUE_METHODS = ("answerCallbackQuery", "sendChatAction", "deleteMessage", "setChatMenuButton")

Params = dict[str, Any]
Reply = tuple[int, dict[str, Any]]


class BotApiStub:
    """Serves /bot{token}/{method} and records everything the bot does.

    State for assertions: calls ({"method", "params", "status"} in arrival order),
    sent_messages, webhook, commands, pending, confirmed_offset.
    """

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        first_update_id: int = 1,
    ) -> None:
        self.token = token
        self.host = host
        self.port = port
        self.calls: list[dict[str, Any]] = []
        self.sent_messages: list[dict[str, Any]] = []
        self.webhook: dict[str, Any] | None = None
        self.commands: list[dict[str, Any]] = []
        self.confirmed_offset = 0
        self._pending: list[dict[str, Any]] = []
        self._next_update_id = first_update_id
        self._next_message_id = 1
        self._failures: dict[str, list[tuple[str, float]]] = {}
        self._changed = asyncio.Event()
        self._closing = False
        self._runner: web.AppRunner | None = None
        methods: dict[str, Callable[[Params], Awaitable[Reply]]] = {
            "getMe": self._get_me,
            "getUpdates": self._get_updates,
            "sendMessage": self._send_message,
            "sendDocument": self._send_document,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
        }
        methods.update(dict.fromkeys(TRUE_METHODS, self._just_true))
        # Telegram matches method names case-insensitively.
        self._methods = {name.lower(): handler for name, handler in methods.items()}

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def pending(self) -> list[dict[str, Any]]:
        """Updates queued but not yet confirmed by a getUpdates offset."""
        return list(self._pending)

    # -- lifecycle -------------------------------------------------------------------------

    async def start(self) -> Self:
        app = web.Application(middlewares=[_bad_input_is_400])
        for http_method in ("GET", "POST"):
            app.router.add_route(http_method, "/bot{token}/{method}", self._handle_api)
        add_control_routes(app, self)
        app.router.add_post("/_control/fail", self._control_fail)
        # handler_cancellation: a client that gives up on a long poll must not leave a
        # handler behind; the short shutdown_timeout keeps close() prompt regardless.
        self._runner = web.AppRunner(
            app, access_log=None, shutdown_timeout=2.0, handler_cancellation=True
        )
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()
        self.port = self._runner.addresses[0][1]
        return self

    async def close(self) -> None:
        self._closing = True
        self._notify()  # long polls see _closing and answer at once
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # -- control surface -------------------------------------------------------------------

    def make_text_update(
        self, chat_id: int, text: str, user_id: int | None = None, update_id: int | None = None
    ) -> dict[str, Any]:
        """A private-chat text message update; in a private chat the user is the chat."""
        sender = human_user(chat_id if user_id is None else user_id)
        message = text_message(self._take_message_id(), chat_id, sender, text)
        return {"update_id": self._take_update_id(update_id), "message": message}

    def queue_text(
        self, chat_id: int, text: str, user_id: int | None = None, update_id: int | None = None
    ) -> int:
        return self.queue_update(self.make_text_update(chat_id, text, user_id, update_id))

    def queue_update(self, update: dict[str, Any]) -> int:
        update = {**update, "update_id": self._take_update_id(update.get("update_id"))}
        self._pending.append(update)
        self._pending.sort(key=lambda queued: queued["update_id"])
        self._notify()
        return update["update_id"]

    # A timeout argument (not asyncio.timeout) so the HTTP route can pass one straight through.
    async def wait_for_messages(self, n: int, timeout: float = 5.0) -> list[dict[str, Any]]:  # noqa: ASYNC109
        if not await self._wait_until(lambda: len(self.sent_messages) >= n, timeout):
            raise TimeoutError(f"expected {n} sent messages, got {self.sent_messages!r}")
        return list(self.sent_messages)

    async def wait_until(self, condition: Callable[[], bool], seconds: float = 5.0) -> None:
        """Wait for any state, e.g. ``lambda: stub.confirmed_offset > update_id``."""
        if not await self._wait_until(condition, seconds):
            raise TimeoutError(f"condition not met within {seconds}s")

    def fail(self, method: str, times: int = 1, mode: str = "502", hang_s: float = 60.0) -> None:
        """The next `times` calls of `method` fail (see the module docstring); queued after
        failures already asked for."""
        if mode not in FAILURE_MODES:
            raise ValueError(f"mode must be one of {', '.join(FAILURE_MODES)}")
        if isinstance(times, bool) or not isinstance(times, int) or times < 0:
            raise ValueError("times must be a whole number, 0 or more")
        self._failures.setdefault(method.lower(), []).extend([(mode, float(hang_s))] * times)

    def failures_left(self, method: str) -> int:
        return len(self._failures.get(method.lower(), []))

    async def deliver_webhook(
        self, update: dict[str, Any], url: str | None = None, secret: str | None = None
    ) -> int:
        """POST an update the way Telegram would; secret "" sends no secret header."""
        registered = self.webhook or {}
        target = url or registered.get("url")
        if not target:
            raise LookupError("no webhook is set and no url was given")
        secret = registered.get("secret_token") if secret is None else secret
        headers = {SECRET_HEADER: secret} if secret else {}
        timeout = aiohttp.ClientTimeout(total=10)
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.post(target, json=update, headers=headers) as response,
        ):
            return response.status

    # -- internals -------------------------------------------------------------------------

    def _take_update_id(self, wanted: int | None) -> int:
        update_id = self._next_update_id if wanted is None else int(wanted)
        self._next_update_id = max(self._next_update_id, update_id + 1)
        return update_id

    def _take_message_id(self) -> int:
        # One counter for both directions, as Telegram numbers messages per chat.
        self._next_message_id += 1
        return self._next_message_id - 1

    def _notify(self) -> None:
        # Waiters hold the current event; swapping in a fresh one wakes each of them once.
        self._changed.set()
        self._changed = asyncio.Event()

    async def _wait_until(self, condition: Callable[[], bool], seconds: float) -> bool:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while not condition():
            remaining = deadline - loop.time()
            if remaining <= 0 or self._closing:
                return False
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)
        return True

    def _confirm(self, offset: int) -> None:
        if offset > 0:
            self.confirmed_offset = max(self.confirmed_offset, offset)
            self._pending = [u for u in self._pending if u["update_id"] >= offset]
        elif offset < 0:  # Telegram: keep only the last -offset updates
            self._pending = self._pending[offset:]
        self._notify()

    async def _handle_api(self, request: web.Request) -> web.Response:
        call: dict[str, Any] = {"method": request.match_info["method"], "params": {}}
        call["status"] = None  # stays None if the client hangs up mid-poll
        self.calls.append(call)
        status, body = await self._answer(request, call)
        call["status"] = status
        self._notify()  # whatever the call changed, waiters re-check it
        return web.json_response(body, status=status)

    async def _answer(self, request: web.Request, call: dict[str, Any]) -> Reply:
        if request.match_info["token"] != self.token:
            return 401, error(401, "Unauthorized")
        handler = self._methods.get(call["method"].lower())
        if handler is None:
            return 404, error(404, "Not Found")
        try:
            call["params"] = await read_params(request)
        except ValueError as exc:
            return 400, error(400, f"Bad Request: can't parse parameters: {exc}")
        queued = self._failures.get(call["method"].lower())
        if queued:
            call["failure"], hang_s = queued.pop(0)
            return await self._failed(call["failure"], hang_s)
        return await handler(call["params"])

    async def _failed(self, mode: str, hang_s: float) -> Reply:
        if mode == "timeout":
            # The client gives up first and hangs up, which cancels this handler; close()
            # ends the wait early.
            await self._wait_until(lambda: False, hang_s)
            return 504, error(504, "Gateway Timeout")
        return 502, error(502, "Bad Gateway")

    async def _control_fail(self, request: web.Request) -> web.Response:
        body = await request.json()
        method, times = str(body["method"]), body.get("times", 1)
        self.fail(method, times, str(body.get("mode", "502")), float(body.get("hang_s", 60.0)))
        result = {"method": method, "failures_left": self.failures_left(method)}
        return web.json_response(ok(result))

    async def _get_me(self, params: Params) -> Reply:
        return 200, ok(bot_user(self.token, capabilities=True))

    async def _get_updates(self, params: Params) -> Reply:
        if self.webhook is not None:
            return 409, error(409, GET_UPDATES_CONFLICT)
        offset = int(params.get("offset") or 0)
        limit = min(max(int(params.get("limit") or 100), 1), 100)
        self._confirm(offset)
        floor = max(offset, 0)

        def ready() -> list[dict[str, Any]]:
            return [u for u in self._pending if u["update_id"] >= floor]

        await self._wait_until(lambda: bool(ready()), float(params.get("timeout") or 0))
        return 200, ok(ready()[:limit])

    async def _send_message(self, params: Params) -> Reply:
        chat_id = as_chat_id(params.get("chat_id"))
        if chat_id is None:
            return 400, error(400, "Bad Request: chat not found")
        if not params.get("text"):
            return 400, error(400, "Bad Request: message text is empty")
        # parse_mode is recorded but markup is not rendered: the text comes back as sent.
        message = text_message(
            self._take_message_id(), chat_id, bot_user(self.token), str(params["text"])
        )
        markup = params.get("reply_markup")
        if isinstance(markup, dict) and "inline_keyboard" in markup:
            message["reply_markup"] = markup  # Telegram echoes inline keyboards only
        record = {**params, "chat_id": chat_id, "message_id": message["message_id"]}
        self.sent_messages.append(record)
        return 200, ok(message)

    async def _send_document(self, params: Params) -> Reply:
        """A document upload (multipart): recorded with `sent_messages`, its content as
        text under "content"."""
        chat_id = as_chat_id(params.get("chat_id"))
        if chat_id is None:
            return 400, error(400, "Bad Request: chat not found")
        field = "document"
        if str(params.get(field, "")).startswith("attach://"):  # aiogram's way to upload
            field = str(params[field]).removeprefix("attach://")
            params["document"] = params.pop(field, None)
        content = params.pop(f"{field}_content", None)
        if not params.get("document") or content is None:
            return 400, error(400, "Bad Request: there is no document in the request")
        message = text_message(self._take_message_id(), chat_id, bot_user(self.token), "")
        del message["text"]
        message["document"] = {
            "file_name": params["document"],
            "file_size": len(content),
            "file_id": f"doc-{message['message_id']}",
            "file_unique_id": f"u{message['message_id']}",
        }
        if params.get("caption"):
            message["caption"] = str(params["caption"])
        record = {
            **params,
            "chat_id": chat_id,
            "message_id": message["message_id"],
            "content": content.decode("utf-8", "replace"),
        }
        self.sent_messages.append(record)
        return 200, ok(message)

    async def _set_webhook(self, params: Params) -> Reply:
        if params.get("drop_pending_updates"):
            self._pending.clear()
        url = params.get("url") or ""
        keys = ("secret_token", "allowed_updates", "max_connections", "ip_address")
        self.webhook = {"url": url, **{key: params.get(key) for key in keys}} if url else None
        return 200, ok(True)

    async def _delete_webhook(self, params: Params) -> Reply:
        if params.get("drop_pending_updates"):
            self._pending.clear()
        self.webhook = None
        return 200, ok(True)

    async def _get_webhook_info(self, params: Params) -> Reply:
        info: dict[str, Any] = {"url": "", "has_custom_certificate": False}
        if self.webhook is not None:
            info["url"] = self.webhook["url"]
            for key in ("allowed_updates", "max_connections", "ip_address"):
                if self.webhook[key] is not None:
                    info[key] = self.webhook[key]
        return 200, ok({**info, "pending_update_count": len(self._pending)})

    async def _set_my_commands(self, params: Params) -> Reply:
        commands = params.get("commands")
        if not isinstance(commands, list):
            return 400, error(400, "Bad Request: can't parse commands JSON object")
        self.commands = commands
        return 200, ok(True)

    async def _get_my_commands(self, params: Params) -> Reply:
        return 200, ok(self.commands)

    async def _delete_my_commands(self, params: Params) -> Reply:
        self.commands = []
        return 200, ok(True)

    async def _just_true(self, params: Params) -> Reply:
        return 200, ok(True)


@web.middleware
async def _bad_input_is_400(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    # Malformed bodies or control payloads get a Telegram-style answer, not a 500.
    try:
        return await handler(request)
    except (LookupError, TypeError, ValueError) as exc:
        return web.json_response(error(400, f"Bad Request: {exc}"), status=400)


def _write_port_file(path: Path, port: int) -> None:
    # Write-then-rename so a reader polling for the file never sees it half written.
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(str(port))
    os.replace(tmp, path)


async def _serve(args: argparse.Namespace) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    async with BotApiStub(
        args.token, host=args.host, port=args.port, first_update_id=args.first_update_id
    ) as stub:
        if args.port_file:
            _write_port_file(Path(args.port_file), stub.port)
        print(f"bot api stub listening on {stub.base_url}", file=sys.stderr, flush=True)
        await stop.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Stand-in Telegram Bot API server for tests.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--token", default=DEFAULT_TOKEN)
    parser.add_argument("--port-file", help="write the bound port here once listening")
    parser.add_argument("--first-update-id", type=int, default=1)
    asyncio.run(_serve(parser.parse_args(argv)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
