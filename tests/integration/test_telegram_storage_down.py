"""With the database gone, Telegram must keep the update: the webhook answers non-2xx and
polling does not confirm it. When the database is back, the update is handled once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest
from sqlalchemy.engine import make_url

from app.container import Container, build_container, close_container
from infrastructure.migrate import upgrade
from tests.conftest import make_settings
from tests.support.bot_api_stub import DEFAULT_TOKEN, BotApiStub

pytestmark = pytest.mark.postgres
OWNER = 4242
SECRET = "webhook-secret-0123456789"


@pytest.fixture
async def bot_api() -> AsyncIterator[BotApiStub]:
    async with BotApiStub(token=DEFAULT_TOKEN) as stub:
        yield stub


async def open_container(url: str, bot_api: BotApiStub, mode: str) -> Container:
    settings = make_settings(
        url,
        TELEGRAM_MODE=mode,
        TELEGRAM_BOT_TOKEN=DEFAULT_TOKEN,
        TELEGRAM_OWNER_CHAT_ID=str(OWNER),
        TELEGRAM_API_BASE=bot_api.base_url,
        TELEGRAM_WEBHOOK_URL="https://helionyx.example/telegram/webhook",
        TELEGRAM_WEBHOOK_SECRET=SECRET,
        HELIONYX_NOTIFICATIONS="false",
    )
    container = build_container(settings)
    await upgrade(container.engine(), "dev")
    return container


async def set_database_reachable(url: str, reachable: bool) -> None:
    """Really take the database away: refuse new connections and end the open ones."""
    target = make_url(url)
    admin = await asyncpg.connect(
        target.set(drivername="postgresql", database="postgres").render_as_string(
            hide_password=False
        )
    )
    try:
        flag = "true" if reachable else "false"
        await admin.execute(f'ALTER DATABASE "{target.database}" ALLOW_CONNECTIONS {flag}')
        if not reachable:
            await admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = $1 AND pid <> pg_backend_pid()",
                target.database,
            )
    finally:
        await admin.close()


async def message_events(container: Container) -> int:
    return len(await container.event_log().page(types=["message.ingested"]))


async def test_webhook_answers_503_and_succeeds_on_retry(postgres_url, bot_api):
    container = await open_container(postgres_url, bot_api, "webhook")
    update = bot_api.make_text_update(OWNER, "/todo survive the outage")
    transport = httpx.ASGITransport(app=container.http_app())
    try:
        async with httpx.AsyncClient(
            transport=transport,
            base_url="http://testserver",
            headers={"X-Telegram-Bot-Api-Secret-Token": SECRET},
        ) as http:
            await set_database_reachable(postgres_url, False)
            try:
                response = await http.post("/telegram/webhook", json=update)
                assert response.status_code == 503
                assert bot_api.sent_messages == []
            finally:
                await set_database_reachable(postgres_url, True)
            assert (await http.post("/telegram/webhook", json=update)).status_code == 200
            assert (await http.post("/telegram/webhook", json=update)).status_code == 200
        assert await message_events(container) == 1
        assert "survive the outage" in bot_api.sent_messages[0]["text"]
    finally:
        await close_container(container)


async def test_polling_does_not_confirm_an_update_it_could_not_store(postgres_url, bot_api):
    container = await open_container(postgres_url, bot_api, "polling")
    runtime = container.telegram()
    await set_database_reachable(postgres_url, False)
    try:
        await runtime.start()
        update_id = bot_api.queue_text(OWNER, "/todo wait for the database")
        await bot_api.wait_until(
            lambda: sum(c["method"] == "getUpdates" for c in bot_api.calls) >= 3, seconds=15
        )
        await asyncio.sleep(1.0)  # it keeps retrying the same update
        assert bot_api.confirmed_offset <= update_id
        assert bot_api.sent_messages == []
    finally:
        await set_database_reachable(postgres_url, True)
    try:
        await bot_api.wait_for_messages(1, timeout=20)
        await runtime.stop()
        assert bot_api.confirmed_offset == update_id + 1
        assert await message_events(container) == 1
    finally:
        await close_container(container)
