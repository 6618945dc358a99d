"""The agenda (domain/agenda.py): what is overdue and due over the owner's local days, and
the daily summary read from the same query."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from domain.agenda import MAX_DAYS, agenda_reply, read_agenda
from domain.decisions import record_decision, review_decision, supersede_decision
from domain.errors import InvalidInput
from domain.todos import complete_todo, create_todo
from domain.tracks import check_in_track, pause_track, start_track
from tests.fakes import FakeClock, InMemoryUnitOfWorkFactory
from tests.unit.notification_support import RecordingNotifier, service, write

NEW_YORK = ZoneInfo("America/New_York")
KIRITIMATI = ZoneInfo("Pacific/Kiritimati")  # UTC+14: its day starts before anyone's


@pytest.fixture
def factory():
    return InMemoryUnitOfWorkFactory(FakeClock(datetime(2026, 12, 1, 12, 0, tzinfo=UTC)))


def local(zone, *args) -> datetime:
    return datetime(*args, tzinfo=zone)


async def agenda(factory, now, days=1):
    async with factory() as uow:
        return await read_agenda(uow, now, days)


async def todos(factory, **dues):
    """Todos titled by the keyword, due on the date or aware time given (or None)."""

    async def create(uow):
        for title, due in dues.items():
            await create_todo(uow, title=title, due=due)

    await write(factory, create)


def titles(items) -> list[str]:
    return [item.title for item in items]


def section(text: str, title: str) -> list[str]:
    lines = text.split("\n")
    if title not in lines:
        return []
    start = lines.index(title) + 1
    end = lines.index("", start) if "" in lines[start:] else len(lines)
    return lines[start:end]


# --- todos --------------------------------------------------------------------------------


async def test_a_timed_todo_is_overdue_from_its_minute(factory):
    await todos(
        factory,
        standup=local(NEW_YORK, 2026, 12, 7, 9, 0),
        dentist=local(NEW_YORK, 2026, 12, 7, 9, 10),
    )
    now = local(NEW_YORK, 2026, 12, 7, 9, 5)
    found = await agenda(factory, now)
    assert titles(found.overdue) == ["standup"] and titles(found.due) == ["dentist"]
    assert agenda_reply(found, now) == "\n".join(
        [
            "Today, Mon 2026-12-07",
            "",
            "Overdue:",
            "#1 standup (was due Mon 2026-12-07 09:00)",
            "",
            "Due today:",
            "#2 dentist at 09:10",
        ]
    )


async def test_a_day_is_the_owners_while_utc_is_already_tomorrow(factory):
    await todos(
        factory,
        yesterday=date(2026, 12, 6),
        today=date(2026, 12, 7),
        tomorrow=date(2026, 12, 8),
        undated=None,
    )
    now = local(NEW_YORK, 2026, 12, 7, 21, 0)
    assert now.astimezone(UTC).date() == date(2026, 12, 8)
    found = await agenda(factory, now)
    assert titles(found.overdue) == ["yesterday"] and titles(found.due) == ["today"]
    assert (found.start, found.end, found.open_todos) == (date(2026, 12, 7), date(2026, 12, 7), 4)


async def test_a_day_is_the_owners_while_utc_is_still_yesterday(factory):
    await todos(
        factory,
        yesterday=date(2026, 12, 7),
        today=date(2026, 12, 8),
        early=datetime(2026, 12, 8, 7, 0, tzinfo=KIRITIMATI),
        late=datetime(2026, 12, 8, 23, 30, tzinfo=KIRITIMATI),
        # Written in UTC: 00:00 on the 9th in Kiritimati, so not today there.
        midnight=datetime(2026, 12, 8, 10, 0, tzinfo=UTC),
    )
    now = local(KIRITIMATI, 2026, 12, 8, 8, 0)
    assert now.astimezone(UTC).date() == date(2026, 12, 7)
    found = await agenda(factory, now)
    assert titles(found.overdue) == ["yesterday", "early"]
    assert titles(found.due) == ["today", "late"]
    week = agenda_reply(await agenda(factory, now, 2), now)
    assert section(week, "Wed 2026-12-09 (tomorrow):") == ["#5 midnight at 00:00"]


async def test_due_todos_by_day_then_time_then_number(factory):
    await todos(
        factory,
        b_late=local(NEW_YORK, 2026, 12, 8, 17, 0),
        a_untimed=date(2026, 12, 8),
        c_early=local(NEW_YORK, 2026, 12, 8, 8, 0),
        d_today=date(2026, 12, 7),
        e_untimed=date(2026, 12, 8),
        f_beyond=date(2026, 12, 14),
    )
    found = await agenda(factory, local(NEW_YORK, 2026, 12, 7, 12, 0), 7)
    assert titles(found.due) == ["d_today", "a_untimed", "e_untimed", "c_early", "b_late"]


async def test_only_open_todos(factory):
    await todos(factory, done=date(2026, 12, 1), open=date(2026, 12, 1))
    await write(factory, lambda uow: complete_todo(uow, 1))
    found = await agenda(factory, local(NEW_YORK, 2026, 12, 7, 12, 0))
    assert titles(found.overdue) == ["open"] and found.open_todos == 1


# --- check-ins and reviews ----------------------------------------------------------------


async def test_check_ins_due_and_overdue(factory):
    factory.clock.current = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)

    async def start(uow):
        await start_track(uow, title="running", check_in_every=1)  # due Sun 12-06
        await start_track(uow, title="Greek", check_in_every=2)  # due Mon 12-07
        await start_track(uow, title="piano", check_in_every=3)  # due Tue 12-08
        await start_track(uow, title="paused", check_in_every=1)
        await pause_track(uow, 4)
        await start_track(uow, title="weekly", check_in_every=7)  # checked in: Sun 12-13

    await write(factory, start)
    factory.clock.current = datetime(2026, 12, 6, 15, 0, tzinfo=UTC)
    await write(factory, lambda uow: check_in_track(uow, 5))
    now = local(NEW_YORK, 2026, 12, 7, 9, 0)

    today = await agenda(factory, now)
    assert [(c.track.title, c.due_on.day, c.overdue) for c in today.check_ins] == [
        ("running", 6, True),
        ("Greek", 7, False),
    ]
    text = agenda_reply(today, now)
    assert section(text, "Check-ins:") == ["#1 running (was due Sun 2026-12-06)", "#2 Greek"]

    week = await agenda(factory, now, 7)
    assert [c.track.title for c in week.check_ins] == ["running", "Greek", "piano", "weekly"]
    assert section(agenda_reply(week, now), "Check-ins:") == [
        "#1 running (was due Sun 2026-12-06)",
        "#2 Greek (today)",
        "#3 piano (Tue 2026-12-08)",
        "#5 weekly (Sun 2026-12-13)",
    ]


async def test_a_check_in_day_is_the_owners(factory):
    # Started at 01:00 on Monday in Kiritimati, Sunday in UTC: daily, so due on Tuesday.
    factory.clock.current = datetime(2026, 12, 6, 11, 0, tzinfo=UTC)
    await write(factory, lambda uow: start_track(uow, title="running", check_in_every=1))
    now = local(KIRITIMATI, 2026, 12, 8, 8, 0)
    [check_in] = (await agenda(factory, now)).check_ins
    assert (check_in.due_on, check_in.overdue) == (date(2026, 12, 8), False)


async def test_decisions_to_review(factory):
    async def decide(uow):
        await record_decision(uow, title="overdue", review_on=date(2026, 12, 1))
        await record_decision(uow, title="today", review_on=date(2026, 12, 7))
        await record_decision(uow, title="friday", review_on=date(2026, 12, 11))
        await record_decision(uow, title="next month", review_on=date(2027, 1, 7))
        await record_decision(uow, title="reviewed", review_on=date(2026, 12, 2))
        await review_decision(uow, 5, outcome="fine")
        await record_decision(uow, title="replaced", review_on=date(2026, 12, 3))
        await supersede_decision(uow, 6, title="its successor")
        await record_decision(uow, title="no review")

    await write(factory, decide)
    now = local(NEW_YORK, 2026, 12, 7, 9, 0)
    assert titles((await agenda(factory, now)).reviews) == ["overdue", "today"]
    week = await agenda(factory, now, 7)
    assert titles(week.reviews) == ["overdue", "today", "friday"]
    assert section(agenda_reply(week, now), "Decisions to review:")[-1] == (
        "#3 friday (review due Fri 2026-12-11) — /outcome 3 <text>"
    )


# --- the week, and the reply ----------------------------------------------------------------


async def test_a_week_across_a_change_of_clocks(factory):
    # New York leaves daylight saving time on Sunday 2026-11-01.
    await todos(
        factory,
        before=local(NEW_YORK, 2026, 10, 31, 9, 0),
        after=local(NEW_YORK, 2026, 11, 2, 9, 0),
        night=local(NEW_YORK, 2026, 11, 4, 23, 30),
        beyond=date(2026, 11, 5),
        laundry=date(2026, 11, 1),
    )
    factory.clock.current = datetime(2026, 10, 29, 16, 0, tzinfo=UTC)
    await write(factory, lambda uow: start_track(uow, title="running", check_in_every=4))
    now = local(NEW_YORK, 2026, 10, 29, 12, 0)
    week = await agenda(factory, now, 7)
    assert (week.start, week.end) == (date(2026, 10, 29), date(2026, 11, 4))
    assert titles(week.due) == ["before", "laundry", "after", "night"]
    assert agenda_reply(week, now) == "\n".join(
        [
            "Next 7 days, Thu 2026-10-29 to Wed 2026-11-04",
            "",
            "Sat 2026-10-31:",
            "#1 before at 09:00",
            "",
            "Sun 2026-11-01:",
            "#5 laundry",
            "",
            "Mon 2026-11-02:",
            "#2 after at 09:00",
            "",
            "Wed 2026-11-04:",
            "#3 night at 23:30",
            "",
            "Check-ins:",
            "#1 running (Mon 2026-11-02)",
        ]
    )


async def test_nothing_due(factory):
    await todos(factory, later=date(2026, 12, 20), undated=None)
    now = local(NEW_YORK, 2026, 12, 7, 9, 0)
    assert agenda_reply(await agenda(factory, now), now) == "Today, Mon 2026-12-07\nNothing due."
    assert agenda_reply(await agenda(factory, now, 7), now) == (
        "Next 7 days, Mon 2026-12-07 to Sun 2026-12-13\nNothing due."
    )


async def test_a_long_agenda_fits_a_reply(factory):
    day = date(2026, 12, 7)
    await todos(factory, **{f"todo {n} " + "x" * 90: day - timedelta(n % 2) for n in range(150)})
    now = local(NEW_YORK, 2026, 12, 7, 9, 0)
    text = agenda_reply(await agenda(factory, now), now)
    assert len(text) <= 4000
    lines = text.split("\n")
    shown = [line for line in lines if line.startswith("#")]
    assert lines[-1] == f"… and {150 - len(shown)} more"
    assert lines[-2].startswith("#")  # never a heading without its lines


@pytest.mark.parametrize("days", [0, -1, MAX_DAYS + 1, True, 1.5])
async def test_days_from_one_to_366(factory, days):
    with pytest.raises(InvalidInput, match="days must be from 1 to 366"):
        await agenda(factory, local(NEW_YORK, 2026, 12, 7, 9, 0), days)


async def test_a_year_ahead(factory):
    await todos(factory, next_year=date(2027, 12, 6))
    found = await agenda(factory, local(NEW_YORK, 2026, 12, 7, 9, 0), MAX_DAYS)
    assert found.end == date(2027, 12, 7) and titles(found.due) == ["next_year"]


# --- the daily summary --------------------------------------------------------------------


async def test_the_daily_summary_is_todays_agenda(factory):
    factory.clock.current = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)

    async def setup(uow):
        await start_track(uow, title="running", check_in_every=1)
        await record_decision(uow, title="use SQLite", review_on=date(2026, 12, 7))
        await create_todo(uow, title="bills", due=date(2026, 12, 4))
        await create_todo(uow, title="standup", due=local(NEW_YORK, 2026, 12, 7, 7, 55))
        await create_todo(uow, title="dentist", due=local(NEW_YORK, 2026, 12, 7, 16, 0))
        await create_todo(uow, title="someday")
        await create_todo(uow, title="next week", due=date(2026, 12, 14))

    await write(factory, setup)
    now = local(NEW_YORK, 2026, 12, 7, 8, 0)
    factory.clock.current = now.astimezone(UTC)
    notifier = RecordingNotifier()
    await service(factory, notifier, timezone="America/New_York").run_due()
    summary = notifier.texts[0]
    reply = agenda_reply(await agenda(factory, now), now)
    for title in ("Overdue:", "Due today:", "Check-ins:", "Decisions to review:"):
        assert section(summary, title) == section(reply, title) != []
    assert summary.split("\n\nLog digest")[0] == "\n".join(
        [
            "Daily summary, Mon 2026-12-07",
            "",
            "Overdue:",
            "#1 bills (was due Fri 2026-12-04)",
            "#2 standup (was due Mon 2026-12-07 07:55)",
            "",
            "Due today:",
            "#3 dentist at 16:00",
            "",
            "2 more open todos (/todos)",
            "",
            "Check-ins:",
            "#1 running (was due Sun 2026-12-06)",
            "",
            "Decisions to review:",
            "#1 use SQLite (review due Mon 2026-12-07) — /outcome 1 <text>",
        ]
    )
