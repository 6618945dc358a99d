"""Reminders and the daily summary through the real aiogram client to a stand-in Bot API,
with the container's clock moved by the test. A restart is a new container on the same
database."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import TelegramNetworkError, TelegramServerError
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


def open_container(
    database_url: str, bot_api: BotApiStub, clock: FakeClock, **notifications: Any
) -> Container:
    settings = make_settings(
        database_url,
        TELEGRAM_MODE="polling",
        TELEGRAM_BOT_TOKEN=DEFAULT_TOKEN,
        TELEGRAM_OWNER_CHAT_ID=str(OWNER),
        TELEGRAM_API_BASE=bot_api.base_url,
        HELIONYX_TIMEZONE="Europe/Berlin",
    )
    if notifications:
        changed = settings.notifications.model_copy(update=notifications)
        settings = settings.model_copy(update={"notifications": changed})
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
        assert summary.startswith("Daily summary, Thu 2026-11-26")
        assert "2 open todos, none due today (/todos)" in summary  # today's agenda is empty
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
        events = await restarted.event_log().page(types=["notification.scheduled"], limit=100)
        assert len(events) == 4
        assert {e.payload["kind"] for e in events} == {"daily-summary", "todo-due"}
        delivered = await restarted.event_log().page(types=["notification.delivered"], limit=100)
        sent_ids = [m["message_id"] for m in bot_api.sent_messages]
        assert [e.payload["message_id"] for e in delivered] == sent_ids
    finally:
        await close_container(restarted)


async def notification_events(container: Container, key: str) -> list[Any]:
    events = await container.event_log().page(limit=1000)
    return [e for e in events if e.aggregate_id == key]


async def test_a_reminder_that_fails_is_retried_until_it_arrives_once(
    database_url, bot_api, caplog
):
    """Telegram answers 502, then hangs past the send timeout, then accepts: the owner gets
    the reminder once, and the log has one delivery for it, across a restart."""
    clock = FakeClock(datetime(2026, 11, 26, 8, 0, tzinfo=UTC))  # 09:00 in Berlin
    quick = {"send_timeout_s": 0.5, "daily_summary_hour": 21}
    container = open_container(database_url, bot_api, clock, **quick)
    caplog.set_level(logging.DEBUG)
    try:
        await upgrade(container.engine(), "dev")
        todo = await container.objects_service().create_todo(
            title="buy milk", due=date(2026, 11, 27)
        )
        key = f"todo-due:{todo.id}:2026-11-26"
        notifications = container.notification_service()
        bot_api.fail("sendMessage", times=1, mode="502")
        async with httpx.AsyncClient(base_url=bot_api.base_url) as control:
            answer = await control.post(
                "/_control/fail", json={"method": "sendMessage", "times": 1, "mode": "timeout"}
            )
        assert answer.json()["result"] == {"method": "sendMessage", "failures_left": 2}

        assert await notifications.run_due() == []  # 502
        clock.advance(minutes=1)
        assert await notifications.run_due() == []  # times out
        clock.advance(minutes=1)
        assert await notifications.run_due() == []  # the next try is 2 minutes on
        assert texts(bot_api) == []
    finally:
        await close_container(container)

    restarted = open_container(database_url, bot_api, clock, **quick)
    try:
        clock.advance(minutes=1)
        assert await restarted.notification_service().run_due() == [key]
        clock.advance(minutes=10)
        assert await restarted.notification_service().run_due() == []

        [reminder] = texts(bot_api)
        assert reminder == "Reminder: todo #1 buy milk is due tomorrow (Fri 2026-11-27)"
        events = await notification_events(restarted, key)
        assert [e.type for e in events] == [
            "notification.scheduled",
            "notification.failed",
            "notification.retried",
            "notification.failed",
            "notification.retried",
            "notification.delivered",
        ]
        assert events[1].payload["error"] == "TelegramServerError"
        assert events[3].payload["error"] in ("TelegramNetworkError", "TimeoutError")
        [message] = bot_api.sent_messages
        assert events[-1].payload == {"key": key, "message_id": message["message_id"], "attempt": 3}
        everything = await restarted.event_log().page(limit=1000)
        assert DEFAULT_TOKEN not in str([(e.payload, e.metadata) for e in everything])
        secret = DEFAULT_TOKEN.split(":")[1]
        assert secret not in caplog.text
    finally:
        await close_container(restarted)


async def test_the_stand_in_fails_on_demand(bot_api):
    bot = Bot(
        DEFAULT_TOKEN, session=AiohttpSession(api=TelegramAPIServer.from_base(bot_api.base_url))
    )
    try:
        bot_api.fail("sendMessage", times=1, mode="502")
        bot_api.fail("sendMessage", times=1, mode="timeout")
        with pytest.raises(TelegramServerError):
            await bot.send_message(OWNER, "one")
        with pytest.raises(TelegramNetworkError):
            await bot.send_message(OWNER, "two", request_timeout=0.3)
        first = await bot.send_message(OWNER, "three")
        second = await bot.send_message(OWNER, "four")
    finally:
        await bot.session.close()
    assert (first.text, first.chat.id, first.from_user.is_bot) == ("three", OWNER, True)
    assert second.message_id == first.message_id + 1
    assert texts(bot_api) == ["three", "four"]
    assert [c.get("failure") for c in bot_api.calls] == ["502", "timeout", None, None]
    assert bot_api.failures_left("sendMessage") == 0
