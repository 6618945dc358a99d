"""Pushes to the owner's Telegram chat: the domain's Notifier port over the Bot API."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aiogram import Bot

TELEGRAM_LIMIT = 4096


class TelegramNotifier:
    def __init__(self, bot: Bot, owner_chat_id: int) -> None:
        self._bot = bot
        self._chat_id = owner_chat_id

    async def send(self, text: str) -> None:
        await self._bot.send_message(self._chat_id, text[:TELEGRAM_LIMIT])
