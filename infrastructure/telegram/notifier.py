"""Pushes to the owner's Telegram chat: the domain's Notifier port over the Bot API."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aiogram import Bot

TELEGRAM_LIMIT = 4096


class TelegramNotifier:
    """Sends with its own request timeout (`timeout_s`): the bot's session default suits
    long polls, and a reminder that hangs must fail in time to be retried."""

    def __init__(self, bot: Bot, owner_chat_id: int, timeout_s: float | None = None) -> None:
        self._bot = bot
        self._chat_id = owner_chat_id
        self._timeout_s = timeout_s

    async def send(self, text: str) -> int:
        """The sent message's id (https://core.telegram.org/bots/api#sendmessage returns
        the Message)."""
        message = await self._bot.send_message(
            self._chat_id,
            text[:TELEGRAM_LIMIT],
            # Annotated int by aiogram, used as aiohttp's ClientTimeout(total=), a float.
            request_timeout=self._timeout_s,  # type: ignore[arg-type]
        )
        return message.message_id
