"""Reminders that arrive: a failed send is retried with backoff, decided from the log alone,
until it is delivered or no longer worth sending; then it is recorded as expired, once."""

import asyncio
import logging
from datetime import UTC, date, datetime, timedelta

import pytest

from domain.notifications import (
    NOTIFICATION_DELIVERED,
    NOTIFICATION_EXPIRED,
    NOTIFICATION_FAILED,
    NOTIFICATION_RETRIED,
    NOTIFICATION_SCHEDULED,
)
from domain.todos import complete_todo, edit_todo
from domain.tracks import check_in_track, start_track
from tests.fakes import FakeClock, InMemoryUnitOfWorkFactory
from tests.unit.notification_support import (
    THU,
    TOKEN_URL,
    RecordingNotifier,
    add_todos,
    all_events,
    at,
    service,
    write,
)

LATE = {"daily_summary_hour": 21}  # keeps the summary out of the way until 21:00


@pytest.fixture
def factory():
    return InMemoryUnitOfWorkFactory(FakeClock(THU))


@pytest.fixture
def notifier():
    return RecordingNotifier()


async def milk_due_tomorrow(factory) -> str:
    ids = await add_todos(factory, milk=date(2026, 11, 27))
    return f"todo-due:{ids['milk']}:2026-11-26"


async def test_failed_sends_are_retried_until_delivered_once(factory, notifier, caplog):
    key = await milk_due_tomorrow(factory)
    notifications = service(factory, notifier, **LATE)
    notifier.fail_with = RuntimeError(TOKEN_URL)

    at(factory, 2026, 11, 26, 9, 0)
    with caplog.at_level(logging.DEBUG):
        assert await notifications.run_due() == []  # attempt 1 fails
    at(factory, 2026, 11, 26, 9, 0, 59)
    assert await notifications.run_due() == []  # 1 minute has not passed: no try
    notifier.fail_with = TimeoutError()
    at(factory, 2026, 11, 26, 9, 1)
    assert await notifications.run_due() == []  # attempt 2 fails
    notifier.fail_with = None
    at(factory, 2026, 11, 26, 9, 2, 59)
    assert await notifications.run_due() == []  # 2 minutes have not passed
    at(factory, 2026, 11, 26, 9, 3)
    assert await notifications.run_due() == [key]  # attempt 3 arrives
    at(factory, 2026, 11, 26, 12, 0)
    assert await notifications.run_due() == []

    assert notifier.texts == ["Reminder: todo #1 milk is due tomorrow (Fri 2026-11-27)"]
    assert notifier.tries == 3
    events = [e for e in await all_events(factory) if e.aggregate_type == "notification"]
    assert [(e.type, e.payload.get("attempt")) for e in events] == [
        (NOTIFICATION_SCHEDULED, 1),
        (NOTIFICATION_FAILED, 1),
        (NOTIFICATION_RETRIED, 2),
        (NOTIFICATION_FAILED, 2),
        (NOTIFICATION_RETRIED, 3),
        (NOTIFICATION_DELIVERED, 3),
    ]
    first_failure = events[1]
    assert first_failure.payload == {
        "kind": "todo-due",
        "key": key,
        "error": "RuntimeError",
        "attempt": 1,
        "retry_after": "2026-11-26T09:01:00+00:00",
    }
    assert events[3].payload["error"] == "TimeoutError"
    assert events[3].payload["retry_after"] == "2026-11-26T09:03:00+00:00"
    assert events[5].payload == {"key": key, "message_id": 101, "attempt": 3}
    assert all(e.aggregate_id == key for e in events)
    # The error's type only: its message carried the bot token.
    assert all("SECRET" not in str(e.payload) for e in await all_events(factory))
    assert "SECRET" not in caplog.text and "RuntimeError" in caplog.text


async def test_the_backoff_doubles_up_to_thirty_minutes(factory, notifier):
    key = await milk_due_tomorrow(factory)
    notifier.fail_with = ConnectionError()
    notifications = service(factory, notifier, **LATE)
    start = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
    factory.clock.current = start
    for _ in range(200):  # every 15 s for 50 minutes
        await notifications.run_due()
        factory.clock.advance(seconds=15)
    failures = await all_events(factory, NOTIFICATION_FAILED)
    tried = [(e.occurred_at - start) / timedelta(minutes=1) for e in failures]
    assert tried == [0, 1, 3, 7, 15, 31]  # waits of 1, 2, 4, 8, 16, then 30 (not 32)
    waits = [datetime.fromisoformat(e.payload["retry_after"]) - e.occurred_at for e in failures]
    assert waits[-1] == timedelta(minutes=30)
    assert {e.payload["key"] for e in failures} == {key}


async def test_a_restart_keeps_the_backoff(factory, notifier):
    """The next try is read from the failed events' times and attempts, so a new service
    over the same log neither hurries nor forgets it."""
    key = await milk_due_tomorrow(factory)
    notifier.fail_with = OSError()
    at(factory, 2026, 11, 26, 9, 0)
    await service(factory, notifier, **LATE).run_due()
    at(factory, 2026, 11, 26, 9, 1)
    await service(factory, notifier, **LATE).run_due()  # attempt 2 fails: next at 9:03

    restarted = RecordingNotifier()
    at(factory, 2026, 11, 26, 9, 2)
    assert await service(factory, restarted, **LATE).run_due() == []
    assert restarted.tries == 0
    at(factory, 2026, 11, 26, 9, 3)
    assert await service(factory, restarted, **LATE).run_due() == [key]
    assert len(await all_events(factory, NOTIFICATION_DELIVERED)) == 1


async def test_concurrent_runners_retry_a_key_once(factory, notifier):
    key = await milk_due_tomorrow(factory)
    notifier.fail_with = OSError()
    at(factory, 2026, 11, 26, 9, 0)
    await service(factory, notifier, **LATE).run_due()
    notifier.fail_with = None
    at(factory, 2026, 11, 26, 9, 5)
    runs = await asyncio.gather(*(service(factory, notifier, **LATE).run_due() for _ in range(3)))
    assert sorted(key for run in runs for key in run) == [key]
    assert len(notifier.texts) == 1
    assert len(await all_events(factory, NOTIFICATION_RETRIED)) == 1


async def test_a_completed_todo_stops_the_retries_and_expires_once(factory, notifier):
    key = await milk_due_tomorrow(factory)
    notifier.fail_with = OSError()
    notifications = service(factory, notifier, **LATE)
    at(factory, 2026, 11, 26, 9, 0)
    await notifications.run_due()
    todo_id = key.split(":")[1]
    await write(factory, lambda uow: complete_todo(uow, todo_id))

    notifier.fail_with = None
    for minute in (2, 30, 59):
        at(factory, 2026, 11, 26, 9, minute)
        assert await notifications.run_due() == []
    assert notifier.texts == []
    [gone] = await all_events(factory, NOTIFICATION_EXPIRED)
    assert gone.aggregate_id == key
    assert gone.idempotency_key == f"notification:{key}:expired"
    assert gone.payload == {
        "kind": "todo-due",
        "key": key,
        "attempts": 1,
        "last_error": "OSError",
        "about": "Reminder: todo #1 milk is due tomorrow (Fri 2026-11-27)",
    }


async def test_a_moved_due_date_expires_the_old_reminder(factory, notifier):
    key = await milk_due_tomorrow(factory)
    notifier.fail_with = OSError()
    at(factory, 2026, 11, 26, 9, 0)
    await service(factory, notifier, **LATE).run_due()
    await write(factory, lambda uow: edit_todo(uow, key.split(":")[1], due=date(2026, 12, 9)))
    at(factory, 2026, 11, 26, 9, 10)
    notifier.fail_with = None
    assert await service(factory, notifier, **LATE).run_due() == []
    assert [e.aggregate_id for e in await all_events(factory, NOTIFICATION_EXPIRED)] == [key]


async def test_the_end_of_the_day_expires_a_reminder(factory, notifier):
    key = await milk_due_tomorrow(factory)
    notifier.fail_with = OSError()
    notifications = service(factory, notifier, **LATE)
    at(factory, 2026, 11, 26, 21, 50)
    await notifications.run_due()
    at(factory, 2026, 11, 26, 23, 0)  # after waking hours: no retry, not yet expired
    assert await notifications.run_due() == []
    assert notifier.tries == 2  # the reminder and the summary, at 21:50
    assert await all_events(factory, NOTIFICATION_EXPIRED) == []

    notifier.fail_with = None
    at(factory, 2026, 11, 27, 0, 30)  # the next day: yesterday's notifications are moot
    assert await notifications.run_due() == []
    expired = await all_events(factory, NOTIFICATION_EXPIRED)
    assert sorted(e.aggregate_id for e in expired) == sorted([key, "daily-summary:2026-11-26"])
    at(factory, 2026, 11, 27, 8, 0)  # today's reminder is a new one
    sent = await notifications.run_due()
    assert sent == [key.replace("2026-11-26", "2026-11-27")]
    assert notifier.texts == ["Reminder: todo #1 milk is due today (Fri 2026-11-27)"]


async def test_a_checked_in_track_needs_no_nudge(factory, notifier):
    at(factory, 2026, 11, 25, 7, 0)
    track, _ = await write(factory, lambda uow: start_track(uow, title="Greek", check_in_every=1))
    notifier.fail_with = OSError()
    at(factory, 2026, 11, 26, 9, 0)
    await service(factory, notifier, **LATE).run_due()
    await write(factory, lambda uow: check_in_track(uow, track.id))
    at(factory, 2026, 11, 26, 9, 5)
    notifier.fail_with = None
    assert await service(factory, notifier, **LATE).run_due() == []
    [gone] = await all_events(factory, NOTIFICATION_EXPIRED)
    assert gone.aggregate_id == f"track-nudge:{track.id}:2026-11-26"


class Crash(BaseException):
    """The process dying: nothing after the send runs."""


class SendsThenCrashes(RecordingNotifier):
    async def send(self, text: str) -> int:
        await super().send(text)
        raise Crash


async def test_an_unconfirmed_send_is_retried_after_the_grace(factory, notifier):
    """Sent, then the process died before recording it: after the grace period the key is
    tried again, and the owner may get that one message twice (docs/OPERATIONS.md)."""
    key = await milk_due_tomorrow(factory)
    crashing = SendsThenCrashes()
    at(factory, 2026, 11, 26, 9, 0)
    with pytest.raises(Crash):
        await service(factory, crashing, **LATE).run_due()
    assert [e.type for e in await all_events(factory) if e.aggregate_id == key] == [
        NOTIFICATION_SCHEDULED
    ]

    at(factory, 2026, 11, 26, 9, 1, 59)  # within the grace: it may still be in flight
    assert await service(factory, notifier, **LATE).run_due() == []
    at(factory, 2026, 11, 26, 9, 2)
    assert await service(factory, notifier, **LATE).run_due() == [key]
    assert crashing.texts == notifier.texts  # the one repeat a crash can cause
    [delivered] = await all_events(factory, NOTIFICATION_DELIVERED)
    assert delivered.payload["attempt"] == 2
    at(factory, 2026, 11, 26, 10, 0)
    assert await service(factory, notifier, **LATE).run_due() == []
    assert len(notifier.texts) == 1


async def test_an_unconfirmed_send_no_longer_due_expires(factory, notifier):
    key = await milk_due_tomorrow(factory)
    at(factory, 2026, 11, 26, 9, 0)
    with pytest.raises(Crash):
        await service(factory, SendsThenCrashes(), **LATE).run_due()
    await write(factory, lambda uow: complete_todo(uow, key.split(":")[1]))
    at(factory, 2026, 11, 26, 9, 1)  # in flight, for all this runner knows: left alone
    assert await service(factory, notifier, **LATE).run_due() == []
    assert await all_events(factory, NOTIFICATION_EXPIRED) == []
    at(factory, 2026, 11, 26, 9, 3)
    assert await service(factory, notifier, **LATE).run_due() == []
    [gone] = await all_events(factory, NOTIFICATION_EXPIRED)
    assert (gone.aggregate_id, gone.payload["last_error"]) == (key, None)
    assert notifier.texts == []


async def test_a_hanging_send_is_cut_off_and_retried(factory):
    class Hangs(RecordingNotifier):
        async def send(self, text: str) -> int:
            self.tries += 1
            if self.tries == 1:
                await asyncio.sleep(60)
            return await super().send(text)

    key = await milk_due_tomorrow(factory)
    hangs = Hangs()
    at(factory, 2026, 11, 26, 9, 0)
    assert await service(factory, hangs, send_timeout_s=0.05, **LATE).run_due() == []
    [failure] = await all_events(factory, NOTIFICATION_FAILED)
    assert failure.payload["error"] == "TimeoutError"
    at(factory, 2026, 11, 26, 9, 1)
    assert await service(factory, hangs, send_timeout_s=0.05, **LATE).run_due() == [key]
