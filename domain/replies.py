"""What the owner reads back: short plain-text replies, never longer than Telegram allows.

Replies to changes are built from the recorded events alone, so a redelivered message gets
the same answer as the first delivery did.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date

from domain.events import RecordedEvent
from domain.objects import (
    DECISION_RECORDED,
    DECISION_SUPERSEDED,
    NOTE_RECORDED,
    TODO_COMPLETED,
    TODO_CREATED,
    TRACK_STARTED,
    Decision,
    Note,
    Todo,
    Track,
)
from domain.stats import Stats

# Telegram refuses messages over 4096 characters; the margin leaves room for a prefix.
# https://core.telegram.org/bots/api#sendmessage
MAX_REPLY = 4000
MAX_LINE = 300

HELP = """\
Helionyx records what you say and keeps your todos, notes, tracks and decisions.

/todo <text> - add a todo (tomorrow, friday or 2026-12-01 sets a due date; !high; #tag)
/todos [open|done|all] - list todos
/done <n> - complete todo n
/note <text> - record a note
/notes [search] - list or search notes
/track <text> - start tracking something (daily, weekly, every 3 days)
/tracks - list tracks
/decide <title> [because <rationale>] - record a decision
/decisions - list active decisions
/stats - counts of everything
/help - this text

Anything else is recorded as a message; start it with todo:, note:, track: or decide: \
to make an item of it."""

GREETING = "Hello! I'm Helionyx, your decision-and-execution log.\n\n" + HELP
NOTED = "Noted."
ALREADY_RECORDED = "Already recorded; nothing changed."
EMPTY = "Send me some text, or /help."

USAGE = {
    "todo": "Usage: /todo <text>, e.g. /todo buy milk tomorrow !high #home",
    "note": "Usage: /note <text>",
    "track": "Usage: /track <text>, e.g. /track running every 3 days",
    "decide": "Usage: /decide <title> [because <rationale>]",
    "done": "Usage: /done <number>, e.g. /done 3 (see /todos for the numbers)",
    "todos": "Usage: /todos [open|done|cancelled|all]",
}

_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def unknown_command(name: str) -> str:
    return f"I don't know /{clip_line(name, 40)}.\n\n{HELP}"


def sentence(text: str) -> str:
    """A domain error's message as a reply: capitalised, with a full stop."""
    text = text.strip()
    return fit_reply(text[:1].upper() + text[1:] + ("" if text.endswith(".") else "."))


def day(value: date) -> str:
    return f"{_WEEKDAYS[value.weekday()]} {value.isoformat()}"


def every(days: int) -> str:
    return {1: "daily", 7: "weekly"}.get(days, f"every {days} days")


def recorded(events: Iterable[RecordedEvent], titles: Mapping[str, str]) -> str:
    """One line per object the events created or changed; `titles` names the todos that a
    completion event names only by id."""
    lines = [line for event in events if (line := describe(event, titles))]
    return fit(None, lines, len(lines)) if lines else NOTED


def describe(event: RecordedEvent, titles: Mapping[str, str]) -> str | None:
    p = event.payload
    if event.type == TODO_CREATED:
        due = date.fromisoformat(p["due"]) if p.get("due") else None
        marks = _todo_marks(due, p.get("priority", "normal"), p.get("tags", ()))
        return clip_line(f"Todo #{p['number']}: {p['title']}{_parenthesised(marks)}")
    if event.type == TODO_COMPLETED:
        title = titles.get(event.aggregate_id)
        return clip_line(f"Done: todo #{p['number']}" + (f", {title}" if title else ""))
    if event.type == NOTE_RECORDED:
        return clip_line(f"Note #{p['number']}: {p['title']}")
    if event.type == TRACK_STARTED:
        return clip_line(f"Track #{p['number']}: {p['title']} ({every(p['check_in_every'])})")
    if event.type == DECISION_RECORDED:
        return clip_line(f"Decision #{p['number']}: {p['title']}" + _because(p.get("rationale")))
    if event.type == DECISION_SUPERSEDED:
        return f"(decision #{p['number']} is superseded)"
    return None


def todo_list(todos: list[Todo], status: str, total: int, today: date) -> str:
    label = "" if status == "all" else f"{status} "
    if not todos:
        return f"No {label}todos."
    lines = [_todo_line(todo, status == "all", today) for todo in todos]
    return fit(f"{label.capitalize() or 'All '}todos ({total}):", lines, total)


def note_list(notes: list[Note], search: str | None, total: int) -> str:
    if not notes:
        return f"No notes match “{clip_line(search, 100)}”." if search else "No notes yet."
    header = f"Notes matching “{clip_line(search, 100)}”" if search else "Notes"
    return fit(f"{header} ({total}):", [clip_line(f"#{n.number} {n.title}") for n in notes], total)


def track_list(tracks: list[Track], total: int) -> str:
    if not tracks:
        return "No tracks yet. Start one with /track <text>."
    lines = []
    for track in tracks:
        details = [every(track.check_in_every), track.status]
        if track.last_check_in_at is not None:
            details.append(f"last check-in {track.last_check_in_at.date().isoformat()}")
        lines.append(clip_line(f"#{track.number} {track.title} - {', '.join(details)}"))
    return fit(f"Tracks ({total}):", lines, total)


def decision_list(decisions: list[Decision], total: int) -> str:
    if not decisions:
        return "No active decisions. Record one with /decide <title> because <rationale>."
    lines = [clip_line(f"#{d.number} {d.title}{_because(d.rationale)}") for d in decisions]
    return fit(f"Active decisions ({total}):", lines, total)


def stats_text(stats: Stats) -> str:
    lines = [
        f"Todos: {_counts(stats.todos)}",
        f"Notes: {stats.notes}",
        f"Tracks: {_counts(stats.tracks)}",
        f"Decisions: {_counts(stats.decisions)}",
        f"Events: {stats.event_count}",
    ]
    lines += [f"  {type_}: {count}" for type_, count in stats.events.items()]
    return fit(None, lines, len(lines))


def fit(header: str | None, lines: list[str], total: int) -> str:
    """The header and as many lines as fit in a reply, then "… and N more" for the rest
    of `total` (which may count items that were never fetched)."""
    kept = [header] if header else []
    size = len(header) if header else -1
    for index, line in enumerate(lines):
        rest = total - index - 1
        footer = len(_more(rest)) + 1 if rest > 0 else 0
        if size + 1 + len(line) + footer > MAX_REPLY:
            break
        kept.append(line)
        size += 1 + len(line)
    rest = total - (len(kept) - (1 if header else 0))
    if rest > 0:
        kept.append(_more(rest))
    return fit_reply("\n".join(kept))


def fit_reply(text: str) -> str:
    return text if len(text) <= MAX_REPLY else text[: MAX_REPLY - 1] + "…"


def clip_line(text: str | None, limit: int = MAX_LINE) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _more(count: int) -> str:
    return f"… and {count} more"


def _todo_line(todo: Todo, with_status: bool, today: date) -> str:
    marks = _todo_marks(todo.due, todo.priority, todo.tags)
    if todo.status == "open" and todo.due is not None and todo.due < today:
        marks[0] += " (overdue)"
    if todo.status == "done" and todo.completed_at is not None:
        marks.insert(0, f"done {todo.completed_at.date().isoformat()}")
    status = f"[{todo.status}] " if with_status else ""
    details = f" - {', '.join(marks)}" if marks else ""
    return clip_line(f"{status}#{todo.number} {todo.title}{details}")


def _todo_marks(due: date | None, priority: str, tags: Iterable[str]) -> list[str]:
    marks = [f"due {day(due)}"] if due else []
    if priority != "normal":
        marks.append(f"!{priority}")
    marks += [f"#{tag}" for tag in tags]
    return marks


def _parenthesised(marks: list[str]) -> str:
    return f" ({', '.join(marks)})" if marks else ""


def _because(rationale: str | None) -> str:
    return f" - because {rationale}" if rationale else ""


def _counts(by_status: Mapping[str, int]) -> str:
    return ", ".join(f"{count} {status}" for status, count in by_status.items())
