import asyncio
from datetime import UTC, date, datetime

import pytest

from domain.decisions import record_decision, supersede_decision
from domain.errors import InvalidInput
from domain.events import NewEvent
from domain.notifications import (
    NOTIFICATION_DELIVERED,
    NOTIFICATION_SCHEDULED,
    NotificationPolicy,
    NotificationService,
)
from domain.todos import complete_todo
from domain.tracks import check_in_track, pause_track, start_track
from tests.fakes import FakeClock, InMemoryUnitOfWork, InMemoryUnitOfWorkFactory
from tests.unit.notification_support import (
    THU,
    MustNotSend,
    RecordingNotifier,
    add_todos,
    all_events,
    at,
    kinds,
    service,
    write,
)


@pytest.fixture
def factory():
    return InMemoryUnitOfWorkFactory(FakeClock(THU))


@pytest.fixture
def notifier():
    return RecordingNotifier()


# --- policy -------------------------------------------------------------------------------


def test_policy_defaults():
    policy = NotificationPolicy()
    assert (policy.timezone, policy.waking_start_hour, policy.waking_end_hour) == ("UTC", 8, 22)
    assert policy.daily_summary_hour == 8
    assert NotificationPolicy(timezone="Europe/Berlin").zone.key == "Europe/Berlin"
    assert (policy.retry_first_s, policy.retry_cap_s, policy.unconfirmed_grace_s) == (60, 1800, 120)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"timezone": "Mars/Olympus_Mons"},
        {"timezone": ""},
        {"timezone": "../etc/passwd"},
        {"timezone": "Europe"},
        {"waking_start_hour": -1},
        {"waking_end_hour": 24},
        {"waking_start_hour": 8.5},
        {"waking_start_hour": True},
        {"waking_start_hour": 22, "waking_end_hour": 22},
        {"waking_start_hour": 23, "waking_end_hour": 7},
        {"daily_summary_hour": 7},
        {"daily_summary_hour": 22},
        {"send_timeout_s": 0},
        {"send_timeout_s": 120},
        {"retry_first_s": -1},
        {"retry_first_s": 3600},
        {"unconfirmed_grace_s": True},
    ],
)
def test_policy_refuses_bad_values(kwargs):
    with pytest.raises(InvalidInput):
        NotificationPolicy(**kwargs)


# --- todo reminders -----------------------------------------------------------------------


async def test_todo_reminders_fire_once_in_waking_hours(factory, notifier):
    ids = await add_todos(
        factory,
        tomorrow=date(2026, 11, 27),
        today=date(2026, 11, 26),
        overdue=date(2026, 11, 20),
        later=date(2026, 11, 29),
        undated=None,
        done=date(2026, 11, 26),
    )
    await write(factory, lambda uow: complete_todo(uow, ids["done"]))
    notifications = service(factory, notifier, daily_summary_hour=20)

    at(factory, 2026, 11, 26, 7, 59)
    assert await notifications.run_due() == []
    assert notifier.texts == []

    at(factory, 2026, 11, 26, 8, 0)
    sent = await notifications.run_due()
    expected = {ids[t] for t in ("tomorrow", "today", "overdue")}
    assert set(kinds(sent, "todo-due")) == expected
    assert all(key.endswith(":2026-11-26") for key in sent)
    assert notifier.texts == [
        "Reminder: todo #1 tomorrow is due tomorrow (Fri 2026-11-27)",
        "Reminder: todo #2 today is due today (Thu 2026-11-26)",
        "Reminder: todo #3 overdue is overdue (was due Fri 2026-11-20)",
    ]

    at(factory, 2026, 11, 26, 15, 0)
    assert await notifications.run_due() == []
    assert len(notifier.texts) == 3


async def test_reminders_repeat_the_next_day_while_open(factory, notifier):
    ids = await add_todos(factory, milk=date(2026, 11, 27), bread=date(2026, 11, 27))
    notifications = service(factory, notifier, daily_summary_hour=20)
    at(factory, 2026, 11, 26, 9, 0)
    assert len(await notifications.run_due()) == 2

    await write(factory, lambda uow: complete_todo(uow, ids["bread"]))
    at(factory, 2026, 11, 27, 8, 30)
    sent = await notifications.run_due()
    assert sent == [f"todo-due:{ids['milk']}:2026-11-27"]
    assert notifier.texts[-1] == "Reminder: todo #1 milk is due today (Fri 2026-11-27)"


async def test_nothing_outside_waking_hours(factory, notifier):
    await add_todos(factory, milk=date(2026, 11, 26))
    notifications = service(factory, notifier)
    at(factory, 2026, 11, 26, 22, 0)
    assert await notifications.run_due() == []
    at(factory, 2026, 11, 27, 3, 0)
    assert await notifications.run_due() == []
    assert await all_events(factory, NOTIFICATION_SCHEDULED) == []
    at(factory, 2026, 11, 27, 21, 59)
    assert len(await notifications.run_due()) == 2  # the reminder and the summary


async def test_the_intent_is_recorded_then_the_delivery(factory, notifier):
    ids = await add_todos(factory, milk=date(2026, 11, 27))
    at(factory, 2026, 11, 26, 9, 0)
    await service(factory, notifier, daily_summary_hour=20).run_due()
    intent, delivery = (await all_events(factory))[-2:]
    key = f"todo-due:{ids['milk']}:2026-11-26"
    assert intent.type == NOTIFICATION_SCHEDULED
    assert (intent.aggregate_type, intent.aggregate_id) == ("notification", key)
    assert intent.idempotency_key == f"notification:{key}"
    assert intent.occurred_at == datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
    assert intent.payload == {
        "kind": "todo-due",
        "key": key,
        "text": "Reminder: todo #1 milk is due tomorrow (Fri 2026-11-27)",
        "targets": {"todo": [ids["milk"]]},
        "attempt": 1,
    }
    assert delivery.type == NOTIFICATION_DELIVERED
    assert delivery.aggregate_id == key
    assert delivery.payload == {"key": key, "message_id": 101, "attempt": 1}
    assert delivery.idempotency_key == f"notification:{key}:delivered"


# --- track nudges -------------------------------------------------------------------------


async def test_track_nudges_follow_the_check_in_frequency(factory, notifier):
    at(factory, 2026, 11, 26, 20, 0)  # started Thursday evening
    run, _ = await write(
        factory, lambda uow: start_track(uow, title="running 3x a week", check_in_every=2)
    )
    paused, _ = await write(factory, lambda uow: start_track(uow, title="paused", check_in_every=1))
    await write(factory, lambda uow: pause_track(uow, paused.id))
    notifications = service(factory, notifier, daily_summary_hour=21)

    at(factory, 2026, 11, 27, 12, 0)
    assert await notifications.run_due() == []

    at(factory, 2026, 11, 28, 8, 0)  # two calendar days on: due from the morning
    assert await notifications.run_due() == [f"track-nudge:{run.id}:2026-11-28"]
    assert notifier.texts == ["Check-in: how is 'running 3x a week' going? (/tracks)"]
    at(factory, 2026, 11, 28, 18, 0)
    assert await notifications.run_due() == []

    await write(factory, lambda uow: check_in_track(uow, run.id))
    at(factory, 2026, 11, 29, 9, 0)
    assert await notifications.run_due() == []
    at(factory, 2026, 11, 30, 9, 0)
    assert await notifications.run_due() == [f"track-nudge:{run.id}:2026-11-30"]


# --- daily summary ------------------------------------------------------------------------


async def test_daily_summary_once_a_day_at_the_hour(factory, notifier):
    at(factory, 2026, 11, 25, 12, 0)
    await write(factory, lambda uow: record_decision(uow, title="yesterday's call"))
    await write(factory, lambda uow: start_track(uow, title="Greek", check_in_every=1))
    at(factory, 2026, 11, 26, 7, 0)
    await add_todos(
        factory,
        milk=date(2026, 11, 26),
        taxes=date(2026, 12, 15),
        read=None,
        bills=date(2026, 11, 24),
        call=date(2026, 11, 27),
    )
    await write(
        factory, lambda uow: record_decision(uow, title="use PostgreSQL", rationale="durability")
    )
    await write(factory, lambda uow: supersede_decision(uow, 2, title="use SQLite"))
    notifications = service(factory, notifier, daily_summary_hour=10)

    at(factory, 2026, 11, 26, 9, 59)
    assert "daily-summary:2026-11-26" not in await notifications.run_due()
    at(factory, 2026, 11, 26, 10, 0)
    async with factory() as uow:
        head = await uow.events.head()
    assert await notifications.run_due() == ["daily-summary:2026-11-26"]
    summary, witness = notifier.texts[-1].rsplit("\n\n", 1)
    # The log's head as it stood, a witness in the owner's chat (domain/integrity.py).
    assert witness == f"Log digest: seq {head.last_seq}, hash {head.last_hash}"
    assert summary == "\n".join(
        [
            "Daily summary, Thu 2026-11-26",
            "",
            "Overdue:",
            "#4 bills (was due Tue 2026-11-24)",
            "",
            "Due today:",
            "#1 milk",
            "",
            "3 more open todos (/todos)",
            "",
            "Check-ins:",
            "#1 Greek",
            "",
            "Decided today:",
            "#2 use PostgreSQL (superseded)",
            "#3 use SQLite",
        ]
    )
    at(factory, 2026, 11, 26, 21, 0)
    assert await notifications.run_due() == []

    at(factory, 2026, 11, 27, 10, 30)
    assert "daily-summary:2026-11-27" in await notifications.run_due()


async def test_an_empty_summary_still_says_so(factory, notifier):
    at(factory, 2026, 11, 26, 8, 0)
    assert await service(factory, notifier).run_due() == ["daily-summary:2026-11-26"]
    assert notifier.texts == ["Daily summary, Thu 2026-11-26\nNothing open today."]


async def test_a_long_todo_list_is_cut_at_twenty(factory, notifier):
    await add_todos(factory, **{f"t{n}": date(2026, 11, 26) for n in range(1, 26)})
    at(factory, 2026, 11, 26, 8, 0)
    await service(factory, notifier).run_due()
    lines = notifier.texts[0].splitlines()  # the summary, then the reminders
    assert lines[2] == "Due today:"
    assert lines[3] == "#1 t1" and lines[22] == "#20 t20"
    assert lines[23] == "… and 5 more (/todos)"
    summary = next(
        e
        for e in await all_events(factory, NOTIFICATION_SCHEDULED)
        if e.payload["kind"] == "daily-summary"
    )
    assert len(summary.payload["targets"]["todo"]) == 20


async def test_todos_due_later_are_counted_not_listed(factory, notifier):
    await add_todos(factory, read=None, taxes=date(2026, 12, 15))
    at(factory, 2026, 11, 26, 8, 0)
    await service(factory, notifier).run_due()
    assert notifier.texts[0].startswith(
        "Daily summary, Thu 2026-11-26\n\n2 open todos, none due today (/todos)\n\nLog digest"
    )


# --- timezones ----------------------------------------------------------------------------


async def test_waking_hours_follow_the_owners_zone(factory, notifier):
    await add_todos(factory, milk=date(2026, 11, 26))
    at(factory, 2026, 11, 26, 7, 30)  # 08:30 in Berlin (UTC+1 in November)
    assert await service(factory, MustNotSend(), daily_summary_hour=20).run_due() == []
    sent = await service(
        factory, notifier, timezone="Europe/Berlin", daily_summary_hour=20
    ).run_due()
    assert len(sent) == 1

    at(factory, 2026, 11, 26, 21, 30)  # 22:30 in Berlin: asleep; 21:30 in UTC: awake
    assert await service(factory, notifier, timezone="Europe/Berlin").run_due() == []


async def test_local_day_turns_at_the_owners_midnight(factory, notifier):
    await add_todos(factory, party=date(2026, 11, 28))  # a Saturday
    at(factory, 2026, 11, 26, 22, 30)  # Thursday in UTC, 23:30 Thursday in Berlin
    awake = {"waking_start_hour": 0, "waking_end_hour": 23, "daily_summary_hour": 0}
    assert await service(factory, notifier, **awake).run_due() == ["daily-summary:2026-11-26"]
    assert await service(factory, notifier, timezone="Europe/Berlin", **awake).run_due() == []

    at(factory, 2026, 11, 26, 23, 30)  # still Thursday in UTC, already Friday in Berlin
    berlin = service(factory, notifier, timezone="Europe/Berlin", **awake)
    sent = await berlin.run_due()
    assert sent[0] == "daily-summary:2026-11-27"
    assert sent[1].startswith("todo-due:") and sent[1].endswith(":2026-11-27")
    assert notifier.texts[-1] == "Reminder: todo #1 party is due tomorrow (Sat 2026-11-28)"


async def test_decisions_today_means_the_owners_today(factory, notifier):
    at(factory, 2026, 11, 26, 22, 30)  # Thursday 23:30 in Berlin
    await write(factory, lambda uow: record_decision(uow, title="late Thursday"))
    at(factory, 2026, 11, 26, 23, 30)  # Friday 00:30 in Berlin
    await write(factory, lambda uow: record_decision(uow, title="early Friday"))
    at(factory, 2026, 11, 27, 7, 0)  # Friday 08:00 in Berlin
    await service(factory, notifier, timezone="Europe/Berlin").run_due()
    [text] = notifier.texts
    assert text.startswith("Daily summary, Fri 2026-11-27\n\nDecided today:\n#2 early Friday\n\n")


# --- claims ------------------------------------------------------------------------------


async def test_a_restarted_service_sends_nothing_twice(factory, notifier):
    await add_todos(factory, milk=date(2026, 11, 27))
    await write(factory, lambda uow: start_track(uow, title="t", check_in_every=1))
    at(factory, 2026, 11, 27, 9, 0)
    assert len(await service(factory, notifier).run_due()) == 3

    again = RecordingNotifier()
    for hour, minute in ((9, 0), (9, 5), (10, 0)):
        at(factory, 2026, 11, 27, hour, minute)
        assert await service(factory, again).run_due() == []
    assert again.texts == []


async def test_an_old_sent_event_still_claims_its_key(factory, notifier):
    """Logs from before retries: `notification.sent` was claim and send in one, and a key
    with one is never sent again, even with a `notification.failed` after it."""
    at(factory, 2026, 11, 26, 9, 0)
    key = "daily-summary:2026-11-26"
    claim = NewEvent(
        type="notification.sent",
        aggregate_type="notification",
        aggregate_id=key,
        payload={},
        idempotency_key=f"notification:{key}",
    )
    failure = NewEvent(
        type="notification.failed",
        aggregate_type="notification",
        aggregate_id=key,
        payload={"kind": "daily-summary", "key": key, "error": "TelegramNetworkError"},
    )
    await write(factory, lambda uow: uow.events.append([claim, failure]))
    for hour in (9, 12, 21):
        at(factory, 2026, 11, 26, hour, 0)
        assert await service(factory, notifier).run_due() == []
    assert notifier.texts == []
    assert await all_events(factory, "notification.expired") == []


async def test_concurrent_runners_send_each_key_once(factory, notifier):
    await add_todos(factory, a=date(2026, 11, 26), b=date(2026, 11, 27))
    at(factory, 2026, 11, 26, 9, 0)
    runs = await asyncio.gather(*(service(factory, notifier).run_due() for _ in range(3)))
    keys = [key for run in runs for key in run]
    assert len(keys) == len(set(keys)) == 3
    assert len(notifier.texts) == 3
    assert len(await all_events(factory, NOTIFICATION_SCHEDULED)) == 3
    assert len(await all_events(factory, NOTIFICATION_DELIVERED)) == 3


class ForgetfulUnitOfWork(InMemoryUnitOfWork):
    """Sees none of the notifications' events on reading, as a runner racing another one
    would: only the append's idempotency key stands in its way."""

    async def __aenter__(self):
        await super().__aenter__()

        async def not_found(key):
            return None

        async def nothing(**kwargs):
            return []

        self.events.get_by_idempotency_key = not_found
        self.events.read = nothing
        return self


async def test_a_claim_lost_to_a_racing_runner_is_skipped(factory, notifier):
    at(factory, 2026, 11, 26, 9, 0)
    assert await service(factory, notifier).run_due() == ["daily-summary:2026-11-26"]

    def forgetful(*, write=False):
        return ForgetfulUnitOfWork(factory.state, factory.clock, asyncio.Lock(), write)

    racing = NotificationService(forgetful, notifier, factory.clock, NotificationPolicy())
    assert await racing.run_due() == []
    assert len(notifier.texts) == 1
    assert len(await all_events(factory, NOTIFICATION_SCHEDULED)) == 1
