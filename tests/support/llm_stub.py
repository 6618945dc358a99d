"""A stand-in OpenAI-compatible server: `POST /v1/chat/completions` on loopback.

It records every request and answers with whatever behaviour the test set last: items as
JSON content (the default is no items), arbitrary content, an error status, a raw body, and
optionally a delay before answering, which is how tests provoke client timeouts.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Self

from aiohttp import web


@dataclass(frozen=True)
class RecordedRequest:
    path: str
    headers: Mapping[str, str]
    body: Any  # the parsed JSON body, or None when it was not JSON


@dataclass(frozen=True)
class _Reply:
    status: int = 200
    content: str | None = '{"items": []}'  # the assistant message, wrapped in an envelope
    raw_body: str | None = None  # sent as is, instead of an envelope
    delay_s: float = 0.0


class LlmStub:
    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self.port = 0
        self.requests: list[RecordedRequest] = []
        self._reply = _Reply()
        self._ids = itertools.count(1)
        self._closing = asyncio.Event()
        self._runner: web.AppRunner | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    def respond_with_items(self, items: Sequence[Mapping[str, Any]]) -> None:
        self.respond_with_content(json.dumps({"items": list(items)}))

    def respond_with_content(self, content: str | None) -> None:
        self._reply = _Reply(content=content, delay_s=self._reply.delay_s)

    def respond_with_status(self, status: int, message: str = "stub error") -> None:
        error = {"error": {"message": message, "type": "stub_error", "code": status}}
        self._reply = _Reply(status=status, raw_body=json.dumps(error), delay_s=self._reply.delay_s)

    def respond_with_body(self, raw_body: str, status: int = 200) -> None:
        self._reply = _Reply(status=status, raw_body=raw_body, delay_s=self._reply.delay_s)

    def respond_slowly(self, seconds: float) -> None:
        """Delays every answer from now on; keeps whatever the answer is."""
        self._reply = _Reply(
            self._reply.status, self._reply.content, self._reply.raw_body, delay_s=seconds
        )

    async def __aenter__(self) -> Self:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._chat_completions)
        # A delayed handler must not hold up shutdown; `_closing` wakes it as well.
        self._runner = web.AppRunner(
            app, access_log=None, shutdown_timeout=1.0, handler_cancellation=True
        )
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.port).start()
        self.port = self._runner.addresses[0][1]
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self._closing.set()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _chat_completions(self, request: web.Request) -> web.Response:
        try:
            body = await request.json()
        except ValueError:
            body = None
        self.requests.append(RecordedRequest(request.path, dict(request.headers), body))
        reply = self._reply
        if reply.delay_s > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._closing.wait(), timeout=reply.delay_s)
        if reply.raw_body is not None:
            return web.Response(
                status=reply.status, text=reply.raw_body, content_type="application/json"
            )
        return web.json_response(self._envelope(body, reply.content), status=reply.status)

    def _envelope(self, body: Any, content: str | None) -> dict[str, Any]:
        model = body.get("model", "stub-model") if isinstance(body, dict) else "stub-model"
        prompt_tokens = len(json.dumps(body)) // 4
        completion_tokens = len(content or "") // 4
        return {
            "id": f"chatcmpl-stub-{next(self._ids)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content},
                    "finish_reason": "stop",
                }
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }
