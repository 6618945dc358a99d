"""Handlers: the owner's text goes to the conversation service; everyone else is refused.

The router is built by a factory that takes the owner's chat id, so nothing here reads
configuration. Services arrive as dispatcher workflow data (`conversation`; `audit` for
the strangers' audit lines). Each update that is done with is reported to `on_update` as
handled, refused or failed (the metrics); one that will come back (storage unavailable,
the reply not sent) is not reported yet.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from aiogram import F, Router
from aiogram.types import BufferedInputFile, Message, Update

from domain.errors import StorageUnavailable

log = logging.getLogger("helionyx.bot")

REFUSAL = "Sorry, this is a private assistant."
TEXT_ONLY = "I can only read text messages for now."
FAILED = "Sorry, something went wrong handling that; it has been logged."
TELEGRAM_LIMIT = 4096
CAPTION_LIMIT = 1024  # https://core.telegram.org/bots/api#senddocument


def update_key(bot_id: int, update_id: int) -> str:
    """Identifies an update across redeliveries (and across bots sharing a database)."""
    return f"telegram:{bot_id}:{update_id}"


def build_router(owner_chat_id: int, on_update: Callable[[str], None] | None = None) -> Router:
    router = Router(name="helionyx")
    from_owner = F.chat.id == owner_chat_id
    report = on_update or (lambda outcome: None)

    @router.message(from_owner, F.text | F.caption)
    async def owner_text(message: Message, event_update: Update, conversation) -> None:
        assert message.bot is not None  # aiogram hands a handler messages bound to its bot
        try:
            answer = await conversation.handle(
                message.text or message.caption or "",
                channel="telegram",
                chat_id=str(message.chat.id),
                external_id=update_key(message.bot.id, event_update.update_id),
            )
        except StorageUnavailable:
            raise  # not handled: the update is not confirmed and comes back
        except Exception:
            log.exception("conversation failed")
            await message.answer(FAILED)
            report("failed")
            return
        if answer.document is not None:
            document = BufferedInputFile(answer.document.content, answer.document.filename)
            await message.answer_document(document, caption=answer.reply[:CAPTION_LIMIT])
        else:
            await message.answer(answer.reply[:TELEGRAM_LIMIT] or "OK")
        report("handled")

    @router.message(from_owner)
    async def owner_other(message: Message) -> None:
        await message.answer(TEXT_ONLY)
        report("handled")

    @router.message()
    async def stranger(message: Message, audit: Callable[..., bool] | None = None) -> None:
        if audit is not None:  # quietly: anyone can write to the bot as often as they like
            sender = message.from_user.id if message.from_user is not None else None
            audit(
                "telegram.stranger",
                "refused",
                str(message.chat.id),
                chat_id=message.chat.id,
                user_id=sender,
            )
        await message.answer(REFUSAL)
        report("refused")

    return router
