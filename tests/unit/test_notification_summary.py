"""The daily summary's new sections (what was not delivered, decisions due for review) and
reminders for todos given a time of day."""

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from domain.decisions import record_decision, review_decision, supersede_decision
from domain.due_notifications import timed_key
from domain.notifications import (
    NOTIFICATION_EXPIRED,
    NOTIFICATION_SCHEDULED,
    NotificationPolicy,
    NotificationService,
)
from domain.todos import complete_todo, edit_todo
from tests.fakes import FakeClock, InMemoryUnitOfWork, InMemoryUnitOfWorkFactory
from tests.unit.notification_support import (
    THU,
    RecordingNotifier,
    add_todos,
    all_events,
    at,
    service,
    write,
)

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture
def factory():
    return InMemoryUnitOfWorkFactory(FakeClock(THU))


@pytest.fixture
def notifier():
    return RecordingNotifier()


def section(text: str, title: str) -> list[str]:
    """The lines under `title` in a summary, up to the next blank line."""
    lines = text.split("\n")
    if title not in lines:
        return []
    start = lines.index(title) + 1
    end = lines.index("", start) if "" in lines[start:] else len(lines)
    return lines[start:end]


# --- not delivered ------------------------------------------------------------------------


async def test_the_next_summary_lists_what_was_not_delivered_once(factory, notifier):
    ids = await add_todos(factory, milk=date(2026, 11, 27))
    notifier.fail_with = OSError()
    notifier.fails_on = lambda text: "milk" in text and text.startswith("Reminder")
    notifications = service(factory, notifier, daily_summary_hour=8)
    at(factory, 2026, 11, 26, 9, 0)
    assert await notifications.run_due() == ["daily-summary:2026-11-26"]
    await write(factory, lambda uow: complete_todo(uow, ids["milk"]))
    at(factory, 2026, 11, 26, 9, 30)
    await notifications.run_due()  # the reminder is moot now: expired
    assert len(await all_events(factory, NOTIFICATION_EXPIRED)) == 1

    at(factory, 2026, 11, 27, 8, 0)
    assert await notifications.run_due() == ["daily-summary:2026-11-27"]
    assert section(notifier.texts[-1], "Not delivered:") == [
        "todo reminder: Reminder: todo #1 milk is due tomorrow (Fri 2026-11-27)"
    ]
    summary = (await all_events(factory, NOTIFICATION_SCHEDULED))[-1]
    assert summary.payload["reported"] == [f"todo-due:{ids['milk']}:2026-11-26"]

    at(factory, 2026, 11, 28, 8, 0)  # reported once: not again
    assert await notifications.run_due() == ["daily-summary:2026-11-28"]
    assert "Not delivered:" not in notifier.texts[-1]


async def test_a_summary_not_delivered_passes_its_list_on(factory, notifier):
    ids = await add_todos(factory, milk=date(2026, 11, 26))
    notifier.fail_with = OSError()
    notifications = service(factory, notifier, daily_summary_hour=8)
    at(factory, 2026, 11, 26, 9, 0)
    await notifications.run_due()  # the summary and the reminder both fail, all day
    await write(factory, lambda uow: complete_todo(uow, ids["milk"]))

    notifier.fails_on = lambda text: text.startswith("Daily summary, Fri")
    at(factory, 2026, 11, 27, 8, 0)  # Friday's summary lists both, and fails too
    await notifications.run_due()
    assert notifier.texts == []
    at(factory, 2026, 11, 28, 8, 0)  # so Saturday's lists them, and Friday's summary
    assert await notifications.run_due() == ["daily-summary:2026-11-28"]
    assert section(notifier.texts[-1], "Not delivered:") == [
        "daily summary: Daily summary, Thu 2026-11-26",
        "todo reminder: Reminder: todo #1 milk is due today (Thu 2026-11-26)",
        "daily summary: Daily summary, Fri 2026-11-27",
    ]
    at(factory, 2026, 11, 29, 8, 0)
    await notifications.run_due()
    assert "Not delivered:" not in notifier.texts[-1]


async def test_a_run_reads_the_log_from_the_last_summarys_checkpoint(factory, notifier):
    """Each summary records where notifications may still be open; later runs read the
    log from there on, not from the start."""
    await add_todos(factory, milk=date(2026, 11, 27))
    notifications = service(factory, notifier)
    for day in (26, 27, 28):
        at(factory, 2026, 11, day, 9, 0)
        await notifications.run_due()
    summaries = [
        e
        for e in await all_events(factory, NOTIFICATION_SCHEDULED)
        if e.payload["kind"] == "daily-summary"
    ]
    # Nothing was open when each was scheduled: each reads on from itself.
    assert [e.payload["open_from"] for e in summaries] == [e.seq for e in summaries]

    reads: list[int] = []

    class Spied(InMemoryUnitOfWork):
        async def __aenter__(self):
            await super().__aenter__()
            read = self.events.read

            async def spied(**kwargs):
                reads.append(kwargs.get("after_seq", 0))
                return await read(**kwargs)

            self.events.read = spied
            return self

    def spied_factory(*, write=False):
        return Spied(factory.state, factory.clock, factory._lock, write)

    at(factory, 2026, 11, 28, 12, 0)
    await NotificationService(
        spied_factory, notifier, factory.clock, NotificationPolicy()
    ).run_due()
    assert reads == [summaries[-1].seq - 1]


# --- decisions to review ------------------------------------------------------------------


async def test_the_summary_lists_decisions_due_for_review(factory, notifier):
    at(factory, 2026, 11, 1, 12, 0)

    async def decide(uow):
        await record_decision(uow, title="use SQLite", review_on=date(2026, 11, 20))
        await record_decision(uow, title="move to Berlin", review_on=date(2026, 11, 26))
        await record_decision(uow, title="later", review_on=date(2026, 11, 27))
        await record_decision(uow, title="done already", review_on=date(2026, 11, 2))
        await review_decision(uow, 4, outcome="fine")
        await record_decision(uow, title="replaced", review_on=date(2026, 11, 3))
        await supersede_decision(uow, 5, title="its successor")
        await record_decision(uow, title="no review")

    await write(factory, decide)
    at(factory, 2026, 11, 26, 8, 0)
    await service(factory, notifier).run_due()
    assert section(notifier.texts[-1], "Decisions to review:") == [
        "#1 use SQLite (review due Fri 2026-11-20) — /outcome 1 <text>",
        "#2 move to Berlin (review due Thu 2026-11-26) — /outcome 2 <text>",
    ]


# --- timed todos --------------------------------------------------------------------------


async def test_a_timed_todo_is_reminded_at_its_time_at_any_hour(factory, notifier):
    at(factory, 2026, 11, 25, 12, 0)
    ids = await add_todos(
        factory,
        call=datetime(2026, 11, 26, 6, 30, tzinfo=UTC),
        flight=datetime(2026, 11, 27, 9, 15, tzinfo=UTC),
    )
    notifications = service(factory, notifier, daily_summary_hour=20)

    at(factory, 2026, 11, 26, 6, 29)
    assert await notifications.run_due() == []
    at(factory, 2026, 11, 26, 6, 30)  # before waking hours: the owner chose the time
    key = f"todo-at:{ids['call']}:20261126T063000Z"
    assert await notifications.run_due() == [key]
    assert notifier.texts == ["Reminder: todo #1 call is due at 06:30 (Thu 2026-11-26)"]

    at(factory, 2026, 11, 26, 8, 0)  # no morning reminder for it as well
    assert await notifications.run_due() == [f"todo-due:{ids['flight']}:2026-11-26"]
    assert notifier.texts[-1] == (
        "Reminder: todo #2 flight is due tomorrow at 09:15 (Fri 2026-11-27)"
    )


async def test_a_timed_reminder_follows_the_owners_zone(factory, notifier):
    at(factory, 2026, 11, 25, 12, 0)
    await add_todos(factory, late=datetime(2026, 11, 27, 0, 30, tzinfo=BERLIN))
    berlin = service(factory, notifier, timezone="Europe/Berlin", daily_summary_hour=20)
    at(factory, 2026, 11, 26, 23, 30)
    [key] = await berlin.run_due()
    assert notifier.texts == ["Reminder: todo #1 late is due at 00:30 (Fri 2026-11-27)"]
    assert len(key.split(":", 1)[1]) <= 64


async def test_a_timed_reminder_is_retried_at_night_and_expires_with_its_day(factory, notifier):
    at(factory, 2026, 11, 25, 12, 0)
    ids = await add_todos(factory, call=datetime(2026, 11, 26, 23, 0, tzinfo=UTC))
    notifier.fail_with = OSError()
    notifications = service(factory, notifier, daily_summary_hour=20)
    at(factory, 2026, 11, 26, 23, 0)
    await notifications.run_due()
    at(factory, 2026, 11, 26, 23, 1)
    await notifications.run_due()
    assert notifier.tries == 2  # 23:01 is outside waking hours, and still retried
    at(factory, 2026, 11, 27, 0, 5)
    notifier.fail_with = None
    assert await notifications.run_due() == []
    expired = {e.aggregate_id for e in await all_events(factory, NOTIFICATION_EXPIRED)}
    assert f"todo-at:{ids['call']}:20261126T230000Z" in expired


async def test_a_new_time_is_a_new_reminder(factory, notifier):
    at(factory, 2026, 11, 25, 12, 0)
    ids = await add_todos(factory, call=datetime(2026, 11, 26, 10, 0, tzinfo=UTC))
    notifications = service(factory, notifier, daily_summary_hour=20)
    at(factory, 2026, 11, 26, 10, 0)
    assert len(await notifications.run_due()) == 1
    moved = datetime(2026, 11, 26, 15, 0, tzinfo=UTC)
    todo, _ = await write(factory, lambda uow: edit_todo(uow, ids["call"], due=moved))
    at(factory, 2026, 11, 26, 15, 0)
    assert await notifications.run_due() == [timed_key(todo)]
    assert notifier.texts[-1] == "Reminder: todo #1 call is due at 15:00 (Thu 2026-11-26)"


async def test_no_reminder_for_a_time_already_past_when_written_down(factory, notifier):
    at(factory, 2026, 11, 26, 10, 0)
    await add_todos(factory, call=datetime(2026, 11, 26, 9, 0, tzinfo=UTC))
    assert await service(factory, notifier, daily_summary_hour=20).run_due() == []


async def test_the_summary_shows_a_due_time(factory, notifier):
    at(factory, 2026, 11, 25, 12, 0)
    await add_todos(factory, call=datetime(2026, 11, 26, 17, 0, tzinfo=UTC))
    at(factory, 2026, 11, 26, 8, 0)
    await service(factory, notifier, timezone="Europe/Berlin").run_due()
    assert section(notifier.texts[0], "Due today:") == ["#1 call at 18:00"]
