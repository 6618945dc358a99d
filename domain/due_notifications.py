"""What is worth telling the owner on a given local day, and how it reads.

Pure functions over read-model rows (the daily summary: over today's agenda,
domain/agenda.py) and the owner's local date: no clock, no storage, so
`domain.notifications` decides *when* and these decide *what*. Every notification has a
deterministic key (kind, object id, local date or due instant), which is what lets the log
say whether it was scheduled, delivered or given up on. The same rules also say whether a
notification is still worth sending: it is while they would still produce its key today.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo

from domain.agenda import Agenda, check_in_line, due_line, overdue_line, review_line
from domain.events import LogHead
from domain.objects import Decision, Todo, Track
from domain.replies import fit_reply

TODO_DUE = "todo-due"
TODO_AT = "todo-at"
TRACK_NUDGE = "track-nudge"
DAILY_SUMMARY = "daily-summary"

KIND_LABELS = {
    TODO_DUE: "todo reminder",
    TODO_AT: "todo reminder",
    TRACK_NUDGE: "check-in nudge",
    DAILY_SUMMARY: "daily summary",
}

SUMMARY_TODO_LIMIT = 20
SUMMARY_LIST_LIMIT = 10
TITLE_LIMIT = 100

# Fixed English names: strftime("%a") follows the process locale, and the texts must not.
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True)
class Notification:
    """One message for the owner; `key` names it forever (`<kind>:<id>:<local date>`, or
    `todo-at:<id>:<due instant>` for a todo given a time of day)."""

    kind: str
    key: str
    text: str
    targets: Mapping[str, Sequence[str]] = field(default_factory=dict)
    # A timed todo's due instant: not sent before it, but then at any hour of its day
    # (the owner chose the time); None: within waking hours.
    not_before: datetime | None = None


@dataclass(frozen=True)
class Missed:
    """A notification given up on (`notification.expired`), for the next summary."""

    key: str
    kind: str
    about: str


def local_date(moment: datetime, zone: tzinfo) -> date:
    """The owner's calendar day at `moment`; a naive time is taken as UTC, as stored."""
    return _aware(moment).astimezone(zone).date()


def day_label(day: date) -> str:
    return f"{_WEEKDAYS[day.weekday()]} {day.isoformat()}"


def clock_label(moment: datetime, zone: tzinfo) -> str:
    return _aware(moment).astimezone(zone).strftime("%H:%M")


def about(text: str) -> str:
    """A notification's first line, bounded: what a list of them shows."""
    return _short(text.split("\n", 1)[0])


def todo_due_soon(todo: Todo, today: date) -> bool:
    """Open with a due date of today or tomorrow, or already overdue."""
    return todo.status == "open" and todo.due is not None and todo.due <= today + timedelta(1)


def timed_today(todo: Todo, today: date, zone: tzinfo) -> bool:
    """Open, given a time of day on `today` (in the owner's zone): its own reminder, at
    that time, covers today."""
    return (
        todo.status == "open" and todo.due_at is not None and local_date(todo.due_at, zone) == today
    )


def check_in_due(track: Track, today: date, zone: tzinfo) -> bool:
    """Active, and `check_in_every` calendar days (in the owner's zone) or more since the
    last check-in, or since the start when there was none: a 2-day track started on Monday
    evening is due on Wednesday morning, not Wednesday evening."""
    if track.status != "active":
        return False
    since = local_date(track.last_check_in_at or track.created_at, zone)
    return (today - since).days >= track.check_in_every


def todo_reminders(todos: Iterable[Todo], today: date, zone: tzinfo = UTC) -> list[Notification]:
    """The morning reminders: due today or tomorrow, or overdue; a todo with a time of day
    today gets its timed reminder instead (`timed_reminders`)."""
    return [
        Notification(
            kind=TODO_DUE,
            key=f"{TODO_DUE}:{todo.id}:{today.isoformat()}",
            text=f"Reminder: todo #{todo.number} {_short(todo.title)} "
            f"{_due_phrase(todo, today, zone)}",
            targets={"todo": [todo.id]},
        )
        for todo in todos
        if todo_due_soon(todo, today) and not timed_today(todo, today, zone)
    ]


def timed_reminders(todos: Iterable[Todo], today: date, zone: tzinfo) -> list[Notification]:
    """At its time, for an open todo due at a time of day today; none for a todo created
    after that time had passed (the owner has just written it down)."""
    return [
        Notification(
            kind=TODO_AT,
            key=timed_key(todo),
            text=f"Reminder: todo #{todo.number} {_short(todo.title)} is due at "
            f"{clock_label(todo.due_at, zone)} ({day_label(today)})",
            targets={"todo": [todo.id]},
            not_before=todo.due_at,
        )
        for todo in todos
        if timed_today(todo, today, zone)
        and todo.due_at is not None
        and _aware(todo.created_at) < _aware(todo.due_at)
    ]


def timed_key(todo: Todo) -> str:
    # ISO 8601's basic format in UTC keeps the key within the log's 64-character
    # aggregate_id (infrastructure/tables.py) with a 36-character id.
    assert todo.due_at is not None
    return f"{TODO_AT}:{todo.id}:{_aware(todo.due_at).astimezone(UTC):%Y%m%dT%H%M%SZ}"


def track_nudges(tracks: Iterable[Track], today: date, zone: tzinfo) -> list[Notification]:
    return [
        Notification(
            kind=TRACK_NUDGE,
            key=f"{TRACK_NUDGE}:{track.id}:{today.isoformat()}",
            text=f"Check-in: how is '{_short(track.title)}' going? (/tracks)",
            targets={"track": [track.id]},
        )
        for track in tracks
        if check_in_due(track, today, zone)
    ]


def day_notifications(
    todos: Sequence[Todo], tracks: Sequence[Track], today: date, zone: tzinfo
) -> list[Notification]:
    """Every notification but the summary that the rules give for `today`, whatever the
    hour: what may still be sent today, and so what is still worth retrying."""
    return [
        *todo_reminders(todos, today, zone),
        *timed_reminders(todos, today, zone),
        *track_nudges(tracks, today, zone),
    ]


def summary_key(today: date) -> str:
    return f"{DAILY_SUMMARY}:{today.isoformat()}"


def daily_summary(
    agenda: Agenda,
    decided_today: Sequence[Decision],
    head: LogHead | None = None,
    *,
    missed: Sequence[Missed] = (),
) -> Notification:
    """The day's overview: today's agenda (`read_agenda` for one day: what is overdue, due
    today, the check-ins and the reviews), what was decided today, how many other todos are
    open, and what was not delivered. With nothing to say it still says so ("Nothing open
    today."), so a silent morning means the service is down, not that the list is empty."""
    today, zone = agenda.start, agenda.zone
    overdue = agenda.overdue[:SUMMARY_TODO_LIMIT]
    due = agenda.due[:SUMMARY_TODO_LIMIT]
    reviews = agenda.reviews[:SUMMARY_LIST_LIMIT]
    lines = [f"Daily summary, {day_label(today)}"]
    lines += _section(
        "Overdue:",
        [overdue_line(t, zone) for t in overdue],
        len(agenda.overdue),
        SUMMARY_TODO_LIMIT,
        "/todos",
    )
    lines += _section(
        "Due today:",
        [due_line(t, zone) for t in due],
        len(agenda.due),
        SUMMARY_TODO_LIMIT,
        "/todos",
    )
    if others := agenda.open_todos - len(agenda.overdue) - len(agenda.due):
        todos = "todo" if others == 1 else "todos"
        lines += [
            "",
            f"{others} more open {todos} (/todos)"
            if overdue or due
            else f"{others} open {todos}, none due today (/todos)",
        ]
    lines += _section(
        "Check-ins:",
        [check_in_line(c, today) for c in agenda.check_ins],
        len(agenda.check_ins),
        len(agenda.check_ins),
        "/tracks",
    )
    lines += _section(
        "Decisions to review:",
        [review_line(d) for d in reviews],
        len(agenda.reviews),
        SUMMARY_LIST_LIMIT,
        "/decisions",
    )
    decided = sorted(decided_today, key=lambda d: d.number)
    lines += _section(
        "Decided today:",
        [_decision_line(d) for d in decided],
        len(decided),
        len(decided),
        "/decisions",
    )
    lines += _section(
        "Not delivered:",
        [f"{KIND_LABELS.get(m.kind, m.kind)}: {m.about}" for m in missed[:SUMMARY_LIST_LIMIT]],
        len(missed),
        SUMMARY_LIST_LIMIT,
        "/reminders",
    )
    if len(lines) == 1:
        lines.append("Nothing open today.")
    if head is not None and head.last_seq:
        lines += ["", f"Log digest: seq {head.last_seq}, hash {head.last_hash}"]
    return Notification(
        kind=DAILY_SUMMARY,
        key=summary_key(today),
        text=fit_reply("\n".join(lines)),
        targets={
            "todo": [t.id for t in [*overdue, *due]],
            "decision": [d.id for d in [*decided_today, *reviews]],
            "track": [c.track.id for c in agenda.check_ins],
        },
    )


def _section(title: str, lines: list[str], total: int, limit: int, command: str) -> list[str]:
    if not lines:
        return []
    return ["", title, *lines, *_more(total, limit, command)]


def _due_phrase(todo: Todo, today: date, zone: tzinfo) -> str:
    assert todo.due is not None
    at = f" at {clock_label(todo.due_at, zone)}" if todo.due_at is not None else ""
    if todo.due < today:
        return f"is overdue (was due {day_label(todo.due)}{at})"
    when = "today" if todo.due == today else "tomorrow"
    return f"is due {when}{at} ({day_label(todo.due)})"


def _decision_line(decision: Decision) -> str:
    line = f"#{decision.number} {_short(decision.title)}"
    return line if decision.status == "active" else f"{line} ({decision.status})"


def _more(count: int, limit: int, command: str) -> list[str]:
    return [f"… and {count - limit} more ({command})"] if count > limit else []


def _short(title: str) -> str:
    """One line, bounded: a title pasted from a long message must not flood the chat."""
    flat = " ".join(title.split())
    return flat if len(flat) <= TITLE_LIMIT else flat[: TITLE_LIMIT - 1] + "…"


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
