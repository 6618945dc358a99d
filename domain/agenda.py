"""What is due over the owner's next days: overdue and due todos, track check-ins and
decisions to review.

One query (`read_agenda`) answers `/today` and `/week` in the chat, `GET /api/v1/agenda`
and the daily summary (domain/due_notifications.py), so none of them can disagree on what
is due. Days are the owner's local days: `now` carries the owner's zone.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

from domain.errors import InvalidInput
from domain.objects import Decision, Todo, Track
from domain.replies import MAX_REPLY, clip_line, day, due_label, next_check_in
from domain.repositories import ReadModels

MAX_DAYS = 366
TITLE_LIMIT = 100


@dataclass(frozen=True)
class CheckIn:
    """An active track's next check-in, on or before the agenda's last day."""

    track: Track
    due_on: date
    overdue: bool  # due before the agenda's first day


@dataclass(frozen=True)
class Agenda:
    """The owner's local days `start` to `end`, both included, in `zone`."""

    start: date
    end: date
    zone: tzinfo
    overdue: tuple[Todo, ...]  # open, due before now
    due: tuple[Todo, ...]  # open, due from now to the end of `end`
    check_ins: tuple[CheckIn, ...]
    reviews: tuple[Decision, ...]
    open_todos: int  # every open todo, those above and those due later or never

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def empty(self) -> bool:
        return not (self.overdue or self.due or self.check_ins or self.reviews)


async def read_agenda(uow: ReadModels, now: datetime, days: int) -> Agenda:
    """The agenda of the `days` local days from `now`'s (in `now`'s zone, the owner's).

    A todo with a time of day is overdue from that instant on, one with a day only from
    the next day; a track's check-in is due `check_in_every` local days after the last
    one (or the start); a decision is up for review from its `review_on` until it has an
    outcome."""
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_DAYS:
        raise InvalidInput(f"days must be from 1 to {MAX_DAYS}")
    now = now if now.tzinfo is not None else now.replace(tzinfo=UTC)
    zone = now.tzinfo or UTC
    start = now.date()
    end = start + timedelta(days - 1)
    todos = await read_every(uow.todos, "open")
    tracks = await read_every(uow.tracks, "active")
    decisions = await read_every(uow.decisions, "active")
    dated = sorted((t for t in todos if t.due is not None), key=lambda t: _order(t, zone))
    overdue = [t for t in dated if is_overdue(t, now)]
    due = [t for t in dated if not is_overdue(t, now) and todo_day(t, zone) <= end]
    check_ins = [
        CheckIn(t, on, on < start) for t in tracks if (on := next_check_in(t, zone)) <= end
    ]
    return Agenda(
        start=start,
        end=end,
        zone=zone,
        overdue=tuple(overdue),
        due=tuple(due),
        check_ins=tuple(sorted(check_ins, key=lambda c: (c.due_on, c.track.number))),
        reviews=tuple(to_review(decisions, end)),
        open_todos=len(todos),
    )


async def read_every(models: Any, status: str) -> list[Any]:
    """Every row with `status`: the repositories page by limit, so ask for exactly all."""
    count = (await models.count_by_status()).get(status, 0)
    return await models.list(status, limit=count) if count else []


def to_review(decisions: Iterable[Decision], last_day: date) -> list[Decision]:
    """Active decisions whose review day is `last_day` or before, with no outcome yet."""
    due = [
        d
        for d in decisions
        if d.status == "active"
        and d.outcome is None
        and d.review_on is not None
        and d.review_on <= last_day
    ]
    return sorted(due, key=lambda d: (d.review_on, d.number))


def is_overdue(todo: Todo, now: datetime) -> bool:
    """Open and past due: a timed todo from its instant, a dated one from the next day."""
    if todo.status != "open" or todo.due is None:
        return False
    if todo.due_at is not None:
        return _aware(todo.due_at) < now
    return todo.due < now.date()


def todo_day(todo: Todo, zone: tzinfo) -> date:
    """The owner's day a todo is due on: a timed one's instant in `zone`."""
    if todo.due_at is not None:
        return _aware(todo.due_at).astimezone(zone).date()
    assert todo.due is not None
    return todo.due


def _order(todo: Todo, zone: tzinfo) -> tuple[date, int, datetime, int]:
    # By day, the day's untimed todos first, then by time, then by number.
    timed = todo.due_at is not None
    at = _aware(todo.due_at) if todo.due_at is not None else datetime.min.replace(tzinfo=UTC)
    return todo_day(todo, zone), int(timed), at, todo.number


# --- lines, shared by the chat's agenda and the daily summary --------------------------------


def due_line(todo: Todo, zone: tzinfo) -> str:
    """`#n title`, and its time of day when it has one: `#3 dentist at 09:00`."""
    at = f" at {_aware(todo.due_at).astimezone(zone):%H:%M}" if todo.due_at is not None else ""
    return f"#{todo.number} {_title(todo.title)}{at}"


def overdue_line(todo: Todo, zone: tzinfo) -> str:
    return f"#{todo.number} {_title(todo.title)} (was due {due_label(todo.due, todo.due_at, zone)})"


def check_in_line(check_in: CheckIn, start: date, *, show_day: bool = False) -> str:
    """`#n title`; overdue: since when; with `show_day` (a view of several days): when."""
    line = f"#{check_in.track.number} {_title(check_in.track.title)}"
    if check_in.overdue:
        return f"{line} (was due {day(check_in.due_on)})"
    if not show_day:
        return line
    return f"{line} (today)" if check_in.due_on == start else f"{line} ({day(check_in.due_on)})"


def review_line(decision: Decision) -> str:
    assert decision.review_on is not None
    return (
        f"#{decision.number} {_title(decision.title)} (review due "
        f"{day(decision.review_on)}) — /outcome {decision.number} <text>"
    )


def agenda_reply(agenda: Agenda, now: datetime) -> str:
    """The agenda as a chat reply: a day's sections, or one heading per day with something
    due; under 4000 characters, ending "… and N more" when cut."""
    zone = now.tzinfo or agenda.zone
    if agenda.days == 1:
        header = f"Today, {day(agenda.start)}"
    else:
        header = f"Next {agenda.days} days, {day(agenda.start)} to {day(agenda.end)}"
    if agenda.empty:
        return f"{header}\nNothing due."
    entries = _section("Overdue:", [overdue_line(t, zone) for t in agenda.overdue])
    if agenda.days == 1:
        entries += _section("Due today:", [due_line(t, zone) for t in agenda.due])
    else:
        for on in sorted({todo_day(t, zone) for t in agenda.due}):
            heading = f"{day(on)}{_relative(on, agenda.start)}:"
            entries += _section(
                heading, [due_line(t, zone) for t in agenda.due if todo_day(t, zone) == on]
            )
    entries += _section(
        "Check-ins:",
        [check_in_line(c, agenda.start, show_day=agenda.days > 1) for c in agenda.check_ins],
    )
    entries += _section("Decisions to review:", [review_line(d) for d in agenda.reviews])
    return _fit(header, entries)


def _relative(on: date, today: date) -> str:
    return {0: " (today)", 1: " (tomorrow)"}.get((on - today).days, "")


def _section(title: str, lines: list[str]) -> list[tuple[str, bool]]:
    """A blank line, the title and the lines; True marks an item (what "… more" counts)."""
    if not lines:
        return []
    return [("", False), (title, False), *((clip_line(line), True) for line in lines)]


def _fit(header: str, entries: list[tuple[str, bool]]) -> str:
    """As many lines as fit in a reply, then "… and N more" for the items left out."""
    total = sum(item for _, item in entries)
    kept: list[tuple[str, bool]] = []
    size, shown = len(header), 0
    for text, item in entries:
        rest = total - shown - item
        footer = len(f"\n… and {rest} more") if rest else 0
        if size + 1 + len(text) + footer > MAX_REPLY:
            break
        kept.append((text, item))
        size, shown = size + 1 + len(text), shown + item
    if shown < total:
        while kept and not kept[-1][1]:  # no heading left without its lines
            kept.pop()
        kept.append((f"… and {total - shown} more", False))
    return "\n".join([header, *(text for text, _ in kept)])


def _title(title: str) -> str:
    return clip_line(title, TITLE_LIMIT)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
