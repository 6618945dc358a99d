from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, Update

from app.logging_setup import update_id


class LogScope(BaseMiddleware):
    """Opens the logging scope of one update (its id on every line); decides nothing."""

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        token = update_id.set(event.update_id if isinstance(event, Update) else None)
        try:
            return await handler(event, data)
        finally:
            update_id.reset(token)
