"""Building the bot's parts. aiogram is imported only when the bot is on: importing its
types costs seconds of start-up that a tier without a bot should not pay."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from app.settings import NotificationSettings, TelegramSettings
from domain.notifications import NotificationPolicy, NotificationService

if TYPE_CHECKING:
    from aiogram import Bot


class TelegramOff:
    """The bot when there is none: the API serves as before."""

    mode = "off"
    running = False

    async def start(self) -> None:
        return None

    def request_stop(self) -> None:
        return None

    async def stop(self, timeout_s: float = 10.0) -> None:
        return None


def build_bot(settings: TelegramSettings) -> Bot | None:
    """The Bot API client, pointed at TELEGRAM_API_BASE; None when the bot is off."""
    if not settings.enabled or settings.bot_token is None:
        return None
    from aiogram import Bot
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer

    session = AiohttpSession(api=TelegramAPIServer.from_base(settings.api_base))
    return Bot(settings.bot_token.get_secret_value(), session=session)


def build_notifications(
    bot: Bot | None,
    telegram: TelegramSettings,
    settings: NotificationSettings,
    uow_factory: Any,
    clock: Any,
) -> NotificationService | None:
    if bot is None or telegram.owner_chat_id is None or not settings.enabled:
        return None
    from infrastructure.telegram.notifier import TelegramNotifier

    policy = NotificationPolicy(
        timezone=settings.timezone,
        waking_start_hour=settings.waking_start_hour,
        waking_end_hour=settings.waking_end_hour,
        daily_summary_hour=settings.daily_summary_hour,
        send_timeout_s=settings.send_timeout_s,
    )
    notifier = TelegramNotifier(bot, telegram.owner_chat_id, timeout_s=settings.send_timeout_s)
    return NotificationService(uow_factory, notifier, clock, policy)


def build_telegram(
    settings: TelegramSettings,
    bot: Bot | None,
    conversation: Any,
    notifications: NotificationService | None,
    notify_every_s: float,
    on_update: Callable[[str], None] | None = None,
    audit: Callable[..., bool] | None = None,
) -> Any:
    if bot is None:
        return TelegramOff()
    from app.bot.runtime import TelegramRuntime

    return TelegramRuntime(
        settings,
        bot,
        conversation,
        notifications,
        notify_every_s=notify_every_s,
        on_update=on_update,
        audit=audit,
    )
