"""Shared by the notification unit tests: a recording notifier, a service over the fakes,
and shorthands for the clock and the log."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime

from domain.notifications import NotificationPolicy, NotificationService
from domain.todos import create_todo
from tests.fakes import InMemoryUnitOfWorkFactory

THU = datetime(2026, 11, 26, 6, 0, tzinfo=UTC)  # a Thursday, before waking hours in UTC
TOKEN_URL = "POST https://api.telegram.org/bot123:SECRET/sendMessage"


class RecordingNotifier:
    """Keeps what it sends; fails while `fail_with` is set, or for the texts `fails_on`
    picks; numbers its messages as Telegram does, 1, 2, 3..."""

    def __init__(self) -> None:
        self.texts: list[str] = []
        self.fail_with: BaseException | None = None
        self.fails_on: Callable[[str], bool] = lambda text: True
        self.tries = 0

    async def send(self, text: str) -> int:
        await asyncio.sleep(0)  # a real send yields; let concurrent runs interleave
        self.tries += 1
        if self.fail_with is not None and self.fails_on(text):
            raise self.fail_with
        self.texts.append(text)
        return len(self.texts) + 100


class MustNotSend:
    async def send(self, text: str) -> int:
        raise AssertionError(f"unexpected send: {text}")


def service(factory, notifier, **policy) -> NotificationService:
    return NotificationService(factory, notifier, factory.clock, NotificationPolicy(**policy))


def at(factory: InMemoryUnitOfWorkFactory, *args) -> None:
    factory.clock.current = datetime(*args, tzinfo=UTC)


async def write(factory, change):
    async with factory(write=True) as uow:
        result = await change(uow)
        await uow.commit()
    return result


async def all_events(factory, type=None):
    async with factory() as uow:
        events = await uow.events.read(limit=100_000)
    return [e for e in events if type is None or e.type == type]


def kinds(keys, kind):
    return sorted(key.split(":")[1] for key in keys if key.startswith(kind + ":"))


async def add_todos(factory, **dues):
    """Todos titled by the keyword, due on the date (or aware time) given, or None;
    returns title → id."""

    async def create(uow):
        ids = {}
        for title, due in dues.items():
            todo, _ = await create_todo(uow, title=title, due=due)
            ids[title] = todo.id
        return ids

    return await write(factory, create)
