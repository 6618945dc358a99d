"""The bot's life inside the service: started and stopped with it, polling or webhook.

Polling is our own small loop around getUpdates rather than aiogram's start_polling,
because the offset is what confirms an update to Telegram: we advance it only after the
update's effects are committed and its reply is sent, we finish the update in hand on
SIGTERM, and we confirm the last handled update before exiting so that a restart neither
loses nor replays anything. Webhook updates are handled before the HTTP answer, so a 2xx
means committed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from aiogram import Bot, Dispatcher
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.types import Update

from app.bot.commands import COMMANDS
from app.bot.errors import TelegramUnavailable
from app.bot.router import build_router
from app.bot.scope import LogScope
from app.settings import TelegramSettings
from domain.errors import StorageUnavailable

log = logging.getLogger("helionyx.bot")

T = TypeVar("T")
RETRYABLE = (StorageUnavailable, TelegramNetworkError, TelegramServerError, TelegramRetryAfter)
ALLOWED_UPDATES = ["message"]


class Stopped(Exception):
    pass


class TelegramRuntime:
    def __init__(
        self,
        settings: TelegramSettings,
        bot: Bot | None,
        conversation: Any,
        notifications: Any | None = None,
        *,
        poll_timeout_s: int = 25,
        notify_every_s: float = 60.0,
        on_update: Callable[[str], None] | None = None,
        audit: Callable[..., bool] | None = None,
    ) -> None:
        self.settings = settings
        self.mode = settings.mode if bot is not None else "off"
        self.running = False
        self._poll_timeout_s = poll_timeout_s
        self._notify_every_s = notify_every_s
        self._notifications = notifications
        self._on_update = on_update
        self._stopping = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self.bot = bot
        if bot is None:
            return
        assert settings.owner_chat_id is not None
        self.dispatcher = Dispatcher()
        self.dispatcher.update.outer_middleware(LogScope())
        self.dispatcher.include_router(build_router(settings.owner_chat_id, on_update))
        self.dispatcher["conversation"] = conversation
        self.dispatcher["audit"] = audit  # app.audit.QuietAudit: strangers, quietly

    async def start(self) -> None:
        if self.bot is None:
            return
        self._spawn(self._register_commands())
        if self.mode == "polling":
            self._spawn(self._poll())
        else:
            self._spawn(self._register_webhook())
        if self._notifications is not None:
            self._spawn(self._notify(self._notifications))
        log.info("telegram bot starting in %s mode via %s", self.mode, self.settings.api_base)

    def request_stop(self) -> None:
        """Stop taking new updates; what is in hand finishes (called on SIGTERM)."""
        self._stopping.set()

    async def stop(self, timeout_s: float = 10.0) -> None:
        if self.bot is None:
            return
        self.request_stop()
        if self._tasks:
            done, pending = await asyncio.wait(self._tasks, timeout=timeout_s)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        await self.bot.session.close()
        self.running = False
        log.info("telegram bot stopped")

    async def feed(self, data: dict[str, Any]) -> None:
        """Handle one webhook update; raises what should make Telegram retry
        (StorageUnavailable, TelegramUnavailable)."""
        assert self.bot is not None
        update = Update.model_validate(data, context={"bot": self.bot})
        try:
            await self.dispatcher.feed_update(self.bot, update)
        except TelegramAPIError as e:
            raise TelegramUnavailable(type(e).__name__) from e

    async def _poll(self) -> None:
        assert self.bot is not None
        offset: int | None = None
        backoff = _Backoff()
        # getUpdates is refused while a webhook is set; deleting it keeps pending updates.
        await self._quietly(self.bot.delete_webhook(drop_pending_updates=False))
        self.running = True
        while not self._stopping.is_set():
            try:
                updates = await self._until_stopped(
                    self.bot.get_updates(
                        offset=offset, timeout=self._poll_timeout_s, allowed_updates=ALLOWED_UPDATES
                    )
                )
            except Stopped:
                break
            except Exception as e:
                log.warning("getUpdates failed (%s); retrying", type(e).__name__)
                await self._pause(backoff.next())
                continue
            backoff.reset()
            for update in updates:
                if not await self._handle(update, backoff):
                    break  # offset stays: the update comes back on the next getUpdates
                offset = update.update_id + 1
        if offset is not None:
            # Confirms the last handled update; limit=1, timeout=0 takes nothing new.
            await self._quietly(self.bot.get_updates(offset=offset, limit=1, timeout=0))
        self.running = False

    async def _handle(self, update: Update, backoff: _Backoff) -> bool:
        """True when the update is done with (handled or not worth retrying)."""
        assert self.bot is not None
        try:
            await self.dispatcher.feed_update(self.bot, update)
        except RETRYABLE as e:
            log.warning(
                "update %d not handled (%s); will retry", update.update_id, type(e).__name__
            )
            await self._pause(backoff.next())
            return False
        except Exception:
            log.exception("update %d failed and is skipped", update.update_id)
            if self._on_update is not None:
                self._on_update("failed")
        return True

    async def _register_webhook(self) -> None:
        assert self.bot is not None and self.settings.webhook_secret is not None
        backoff = _Backoff()
        while not self._stopping.is_set():
            try:
                await self.bot.set_webhook(
                    self.settings.webhook_url or "",
                    secret_token=self.settings.webhook_secret.get_secret_value(),
                    allowed_updates=ALLOWED_UPDATES,
                    drop_pending_updates=False,
                )
            except Exception as e:
                log.warning("setWebhook failed (%s); retrying", type(e).__name__)
                await self._pause(backoff.next())
                continue
            self.running = True
            log.info("webhook registered at %s", self.settings.webhook_url)
            return

    async def _register_commands(self) -> None:
        assert self.bot is not None
        await self._quietly(self.bot.set_my_commands(COMMANDS))

    async def _notify(self, notifications: Any) -> None:
        while not self._stopping.is_set():
            try:
                await notifications.run_due()
            except Exception:
                log.exception("sending due notifications failed")
            await self._pause(self._notify_every_s)

    async def _until_stopped(self, call: Awaitable[T]) -> T:
        task = asyncio.ensure_future(call)
        stop = asyncio.ensure_future(self._stopping.wait())
        try:
            await asyncio.wait({task, stop}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()
        if not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            raise Stopped
        return task.result()

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), timeout=seconds)

    async def _quietly(self, call: Awaitable[Any]) -> None:
        try:
            await call
        except Exception as e:
            log.warning("telegram call failed (%s)", type(e).__name__)

    def _spawn(self, coro: Awaitable[None]) -> None:
        self._tasks.append(asyncio.ensure_future(coro))


class _Backoff:
    def __init__(self, first: float = 0.5, limit: float = 30.0) -> None:
        self.first, self.limit, self.current = first, limit, 0.0

    def next(self) -> float:
        self.current = min(self.limit, self.current * 2 if self.current else self.first)
        return self.current

    def reset(self) -> None:
        self.current = 0.0
