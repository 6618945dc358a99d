"""What is worth telling the owner on a given local day, and how it reads.

Pure functions over read-model rows and the owner's local date: no clock, no storage, so
`domain.notifications` decides *when* and these decide *what*. Every notification has a
deterministic key (kind, object id, local date), which is what makes it sendable at most once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo

from domain.events import LogHead
from domain.objects import Decision, Todo, Track

TODO_DUE = "todo-due"
TRACK_NUDGE = "track-nudge"
DAILY_SUMMARY = "daily-summary"

SUMMARY_TODO_LIMIT = 20
TITLE_LIMIT = 100

# Fixed English names: strftime("%a") follows the process locale, and the texts must not.
_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True)
class Notification:
    """One message for the owner; `key` names it forever (`<kind>:<id>:<local date>`)."""

    kind: str
    key: str
    text: str
    targets: Mapping[str, Sequence[str]] = field(default_factory=dict)


def local_date(moment: datetime, zone: tzinfo) -> date:
    """The owner's calendar day at `moment`; a naive time is taken as UTC, as stored."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(zone).date()


def day_label(day: date) -> str:
    return f"{_WEEKDAYS[day.weekday()]} {day.isoformat()}"


def todo_due_soon(todo: Todo, today: date) -> bool:
    """Open with a due date of today or tomorrow, or already overdue."""
    return todo.status == "open" and todo.due is not None and todo.due <= today + timedelta(1)


def check_in_due(track: Track, today: date, zone: tzinfo) -> bool:
    """Active, and `check_in_every` calendar days (in the owner's zone) or more since the
    last check-in, or since the start when there was none: a 2-day track started on Monday
    evening is due on Wednesday morning, not Wednesday evening."""
    if track.status != "active":
        return False
    since = local_date(track.last_check_in_at or track.created_at, zone)
    return (today - since).days >= track.check_in_every


def todo_reminders(todos: Iterable[Todo], today: date) -> list[Notification]:
    return [
        Notification(
            kind=TODO_DUE,
            key=f"{TODO_DUE}:{todo.id}:{today.isoformat()}",
            text=f"Reminder: todo #{todo.number} {_short(todo.title)} {_due_phrase(todo, today)}",
            targets={"todo": [todo.id]},
        )
        for todo in todos
        if todo_due_soon(todo, today)
    ]


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


def summary_key(today: date) -> str:
    return f"{DAILY_SUMMARY}:{today.isoformat()}"


def daily_summary(
    today: date,
    open_todos: Sequence[Todo],
    decided_today: Sequence[Decision],
    tracks_due: Sequence[Track],
    head: LogHead | None = None,
) -> Notification:
    """The day's overview. With nothing to say it still says so ("Nothing open today."),
    so a silent morning means the service is down, not that the list is empty."""
    lines = [f"Daily summary, {day_label(today)}"]
    if open_todos:
        lines += ["", f"Open todos ({len(open_todos)}):"]
        lines += [_todo_line(t, today) for t in open_todos[:SUMMARY_TODO_LIMIT]]
        if len(open_todos) > SUMMARY_TODO_LIMIT:
            lines.append(f"… and {len(open_todos) - SUMMARY_TODO_LIMIT} more (/todos)")
    if decided_today:
        lines += ["", "Decided today:"]
        lines += [_decision_line(d) for d in sorted(decided_today, key=lambda d: d.number)]
    if tracks_due:
        lines += ["", "Tracks due for check-in:"]
        lines += [f"#{t.number} {_short(t.title)}" for t in tracks_due]
    if len(lines) == 1:
        lines.append("Nothing open today.")
    if head is not None and head.last_seq:
        lines += ["", f"Log digest: seq {head.last_seq}, hash {head.last_hash}"]
    shown = open_todos[:SUMMARY_TODO_LIMIT]
    return Notification(
        kind=DAILY_SUMMARY,
        key=summary_key(today),
        text="\n".join(lines),
        targets={
            "todo": [t.id for t in shown],
            "decision": [d.id for d in decided_today],
            "track": [t.id for t in tracks_due],
        },
    )


def _due_phrase(todo: Todo, today: date) -> str:
    assert todo.due is not None
    if todo.due < today:
        return f"is overdue (was due {day_label(todo.due)})"
    when = "today" if todo.due == today else "tomorrow"
    return f"is due {when} ({day_label(todo.due)})"


def _todo_line(todo: Todo, today: date) -> str:
    line = f"#{todo.number} {_short(todo.title)}"
    if todo.due is None:
        return line
    if todo.due < today:
        return f"{line} (overdue, was due {day_label(todo.due)})"
    if todo.due == today:
        return f"{line} (due today)"
    if todo.due == today + timedelta(1):
        return f"{line} (due tomorrow)"
    return f"{line} (due {day_label(todo.due)})"


def _decision_line(decision: Decision) -> str:
    line = f"#{decision.number} {_short(decision.title)}"
    return line if decision.status == "active" else f"{line} ({decision.status})"


def _short(title: str) -> str:
    """One line, bounded: a title pasted from a long message must not flood the chat."""
    flat = " ".join(title.split())
    return flat if len(flat) <= TITLE_LIMIT else flat[: TITLE_LIMIT - 1] + "…"
