"""The webhook's edge: what Telegram (or someone posing as it) sends never makes a 500."""

from __future__ import annotations

import json

import httpx
import pytest

from app.container import build_container, close_container
from infrastructure.migrate import upgrade
from tests.conftest import make_settings
from tests.support.bot_api_stub import DEFAULT_TOKEN, BotApiStub

OWNER = 4242
SECRET = "webhook-secret-0123456789"


async def open_app(database_url: str, api_base: str):
    settings = make_settings(
        database_url,
        TELEGRAM_MODE="webhook",
        TELEGRAM_BOT_TOKEN=DEFAULT_TOKEN,
        TELEGRAM_OWNER_CHAT_ID=str(OWNER),
        TELEGRAM_API_BASE=api_base,
        TELEGRAM_WEBHOOK_URL="https://helionyx.example/telegram/webhook",
        TELEGRAM_WEBHOOK_SECRET=SECRET,
        HELIONYX_NOTIFICATIONS="false",
    )
    container = build_container(settings)
    await upgrade(container.engine(), "dev")
    transport = httpx.ASGITransport(app=container.http_app())
    http = httpx.AsyncClient(
        transport=transport,
        base_url="http://testserver",
        headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
    )
    return container, http


async def test_a_body_nested_too_deep_is_a_400_and_stores_nothing(sqlite_url):
    async with BotApiStub(token=DEFAULT_TOKEN) as stub:
        container, http = await open_app(sqlite_url, stub.base_url)
        try:
            deep = "[" * 100_000 + "]" * 100_000
            response = await http.post(
                "/telegram/webhook", content=deep, headers={"Content-Type": "application/json"}
            )
            assert response.status_code in (400, 413)
            assert response.headers["content-type"].startswith("application/problem+json")
            assert (await container.event_log().head()).last_seq == 0
        finally:
            await http.aclose()
            await close_container(container)


async def test_an_unreachable_telegram_api_is_a_503_so_telegram_retries(sqlite_url):
    stub = BotApiStub(token=DEFAULT_TOKEN)
    await stub.__aenter__()
    update = stub.make_text_update(OWNER, "/todo while the Bot API is away")
    base = stub.base_url
    await stub.__aexit__(None, None, None)  # nothing listens there any more
    container, http = await open_app(sqlite_url, base)
    try:
        response = await http.post("/telegram/webhook", json=update)
        assert response.status_code == 503
        assert "Telegram" in response.json()["detail"]
    finally:
        await http.aclose()
        await close_container(container)


@pytest.mark.parametrize("text", ["/todo milk\u0000", "note: caf\ud800"])
async def test_text_no_store_can_hold_gets_the_reason_on_every_backend(database_url, text):
    async with BotApiStub(token=DEFAULT_TOKEN) as stub:
        container, http = await open_app(database_url, stub.base_url)
        try:
            update = stub.make_text_update(OWNER, "placeholder")
            update["message"]["text"] = text
            body = json.dumps(update)  # a lone surrogate goes over the wire as \\ud800
            response = await http.post(
                "/telegram/webhook", content=body, headers={"Content-Type": "application/json"}
            )
            assert response.status_code == 200
            [reply] = stub.sent_messages
            assert reply["text"].startswith("Nothing was recorded: text must")
            assert (await container.event_log().head()).last_seq == 0
        finally:
            await http.aclose()
            await close_container(container)
