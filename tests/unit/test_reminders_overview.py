"""`/reminders`: what is scheduled next, what arrived, what is retried or was given up on."""

from datetime import UTC, date, datetime

import pytest

from domain.notifications import NotificationPolicy, reminders_overview
from domain.replies import MAX_REPLY
from domain.todos import complete_todo
from domain.tracks import start_track
from tests.fakes import FakeClock, InMemoryUnitOfWorkFactory
from tests.unit.notification_support import (
    THU,
    RecordingNotifier,
    add_todos,
    at,
    service,
    write,
)


@pytest.fixture
def factory():
    return InMemoryUnitOfWorkFactory(FakeClock(THU))


@pytest.fixture
def notifier():
    return RecordingNotifier()


async def overview(factory, **policy) -> str:
    async with factory() as uow:
        return await reminders_overview(uow, factory.clock.now(), NotificationPolicy(**policy))


async def test_an_empty_overview(factory):
    at(factory, 2026, 11, 26, 23, 0)
    assert await overview(factory) == "\n".join(
        [
            "Reminders, Thu 2026-11-26 23:00 (UTC)",
            "",
            "Next (1):",
            "Fri 2026-11-27 08:00 Daily summary",
            "",
            "Nothing delivered in the last 24 h.",
        ]
    )


async def test_what_comes_next_within_seven_days(factory):
    at(factory, 2026, 11, 20, 12, 0)
    await add_todos(
        factory,
        milk=date(2026, 11, 28),
        call=datetime(2026, 11, 26, 17, 30, tzinfo=UTC),
        overdue=date(2026, 11, 24),
        far=date(2026, 12, 20),
        undated=None,
    )
    await write(factory, lambda uow: start_track(uow, title="Greek", check_in_every=7))
    at(factory, 2026, 11, 26, 7, 0)
    text = await overview(factory, daily_summary_hour=9)
    assert text.split("\n\n")[1] == "\n".join(
        [
            "Next (5):",
            "Thu 2026-11-26 08:00 Reminder: todo #3 overdue is overdue (was due Tue 2026-11-24)",
            "Thu 2026-11-26 09:00 Daily summary",
            "Thu 2026-11-26 17:30 Reminder: todo #2 call is due at 17:30 (Thu 2026-11-26)",
            "Fri 2026-11-27 08:00 Reminder: todo #1 milk is due tomorrow (Sat 2026-11-28)",
            "Fri 2026-11-27 08:00 Check-in: how is 'Greek' going? (/tracks)",
        ]
    )


async def test_sent_retried_and_given_up(factory, notifier):
    ids = await add_todos(factory, milk=date(2026, 11, 27), bread=date(2026, 11, 26))
    notifier.fail_with = OSError()
    notifier.fails_on = lambda text: text.startswith("Reminder")
    at(factory, 2026, 11, 26, 9, 0)
    await service(factory, notifier, daily_summary_hour=8).run_due()
    await write(factory, lambda uow: complete_todo(uow, ids["bread"]))
    at(factory, 2026, 11, 26, 9, 1)
    await service(factory, notifier, daily_summary_hour=8).run_due()
    at(factory, 2026, 11, 26, 9, 2)
    text = await overview(factory, daily_summary_hour=8)
    sections = text.split("\n\n")
    assert sections[1] == "\n".join(
        [
            "Next (2):",
            "Fri 2026-11-27 08:00 Daily summary",
            "Fri 2026-11-27 08:00 Reminder: todo #1 milk is due today (Fri 2026-11-27)",
        ]
    )
    assert sections[2] == "\n".join(
        [
            "Delivered in the last 24 h (1):",
            "Thu 2026-11-26 09:00 Daily summary, Thu 2026-11-26",
        ]
    )
    assert sections[3] == "\n".join(
        [
            "Being retried (1):",
            "Reminder: todo #1 milk is due tomorrow (Fri 2026-11-27) — attempt 2 failed "
            "(OSError), next try Thu 2026-11-26 09:03",
        ]
    )
    assert sections[4] == "\n".join(
        [
            "Not delivered (1):",
            "Reminder: todo #2 bread is due today (Thu 2026-11-26) — gave up after 1 "
            "attempt(s), last error OSError",
        ]
    )


async def test_the_overview_fits_in_one_message(factory):
    at(factory, 2026, 11, 20, 12, 0)
    await add_todos(factory, **{f"todo{n}_" + "x" * 90: date(2026, 11, 27) for n in range(60)})
    at(factory, 2026, 11, 26, 7, 0)
    text = await overview(factory)
    assert len(text) <= MAX_REPLY
    assert "… and 46 more" in text


async def test_the_service_answers_for_its_own_policy(factory, notifier):
    at(factory, 2026, 11, 26, 23, 0)
    text = await service(factory, notifier, timezone="Europe/Berlin").reminders()
    assert text.startswith("Reminders, Fri 2026-11-27 00:00 (Europe/Berlin)\n")
