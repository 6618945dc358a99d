"""Reminders and the daily summary through the real aiogram client to a stand-in Bot API,
with the container's clock moved by the test. A restart is a new container on the same
database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime

import pytest
from dependency_injector import providers

from app.container import Container, build_container, close_container
from infrastructure.migrate import upgrade
from tests.conftest import make_settings
from tests.fakes import FakeClock
from tests.support.bot_api_stub import DEFAULT_TOKEN, BotApiStub

OWNER = 4242


@pytest.fixture
async def bot_api() -> AsyncIterator[BotApiStub]:
    async with BotApiStub(token=DEFAULT_TOKEN) as stub:
        yield stub


def open_container(database_url: str, bot_api: BotApiStub, clock: FakeClock) -> Container:
    settings = make_settings(
        database_url, TELEGRAM_MODE="polling", TELEGRAM_BOT_TOKEN=DEFAULT_TOKEN,
        TELEGRAM_OWNER_CHAT_ID=str(OWNER), TELEGRAM_API_BASE=bot_api.base_url,
        HELIONYX_TIMEZONE="Europe/Berlin")
    container = build_container(settings)
    container.clock.override(providers.Object(clock))
    return container


def texts(bot_api: BotApiStub) -> list[str]:
    return [m["text"] for m in bot_api.sent_messages if int(m["chat_id"]) == OWNER]


async def test_reminders_and_summary_fire_once_at_the_right_times(database_url, bot_api):
    clock = FakeClock(datetime(2026, 11, 26, 5, 30, tzinfo=UTC))  # 06:30 in Berlin
    container = open_container(database_url, bot_api, clock)
    try:
        await upgrade(container.engine(), "dev")
        objects = container.objects_service()
        await objects.create_todo(title="buy milk", due=date(2026, 11, 27))
        await objects.create_todo(title="far away", due=date(2026, 12, 20))
        notifications = container.notification_service()

        assert await notifications.run_due() == []  # before waking hours
        assert texts(bot_api) == []

        clock.advance(hours=2)  # 08:30 Berlin
        sent = await notifications.run_due()
        assert len(sent) == 2
        summary, reminder = texts(bot_api)
        assert summary.startswith("Daily summary, Thu 2026-11-26") and "buy milk" in summary
        assert "buy milk" in reminder and "due tomorrow" in reminder
        assert "far away" not in reminder

        clock.advance(minutes=30)
        assert await notifications.run_due() == []
    finally:
        await close_container(container)

    restarted = open_container(database_url, bot_api, clock)
    try:
        clock.advance(hours=1)
        assert await restarted.notification_service().run_due() == []
        assert len(texts(bot_api)) == 2

        clock.advance(days=1)  # the next morning: the todo is due today now
        sent = await restarted.notification_service().run_due()
        assert len(sent) == 2 and "due today" in texts(bot_api)[-1]
        events = await restarted.event_log().page(types=["notification.sent"], limit=100)
        assert len(events) == 4
        assert {e.payload["kind"] for e in events} == {"daily-summary", "todo-due"}
    finally:
        await close_container(restarted)
