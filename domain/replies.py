"""What the owner reads back: short plain-text replies, never longer than Telegram allows.

Replies to changes are built from the recorded events alone, so a redelivered message gets
the same answer as the first delivery did.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

from domain.events import RecordedEvent
from domain.objects import (
    DECISION_RECORDED,
    DECISION_REVIEWED,
    DECISION_REVOKED,
    DECISION_SUPERSEDED,
    NOTE_ARCHIVED,
    NOTE_EDITED,
    NOTE_RECORDED,
    TODO_CANCELLED,
    TODO_COMPLETED,
    TODO_CREATED,
    TODO_EDITED,
    TODO_REOPENED,
    TRACK_CHECKED_IN,
    TRACK_FINISHED,
    TRACK_PAUSED,
    TRACK_RESUMED,
    TRACK_STARTED,
    UNDONE,
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

# Every command with one example; /help shows this table, and the README's conversation
# table lists the same commands (tests/unit/test_help.py).
COMMANDS: tuple[tuple[str, str, str], ...] = (
    ("/todo <text>", "/todo call the dentist tomorrow 9am !high #health", "add a todo"),
    (
        "/todos [open|done|cancelled|all] [#tag] [due]",
        "/todos #home due",
        "list todos; due: soonest first",
    ),
    ("/done <n>", "/done 3", "complete todo 3"),
    ("/edit <n> <text>", "/edit 3 friday 17:30", "change what the text states"),
    ("/cancel <n>", "/cancel 3", "cancel a todo"),
    ("/reopen <n>", "/reopen 3", "open a done or cancelled todo again"),
    ("/note <text>", "/note the wifi password is on the router #home", "record a note"),
    ("/notes [search]", "/notes wifi", "list or search notes"),
    ("/edit note <n> <text>", "/edit note 2 the wifi password changed", "rewrite a note"),
    ("/archive <n>", "/archive 2", "archive note 2"),
    ("/track <text>", "/track running every 3 days", "start a track"),
    ("/tracks", "/tracks", "tracks with streaks and next check-ins"),
    ("/checkin <n|name> [note]", "/checkin running 5 km easy", "check in on a track"),
    ("/pause <n>", "/pause 1", "pause a track"),
    ("/resume <n>", "/resume 1", "resume a paused track"),
    ("/finish <n>", "/finish 1", "finish a track"),
    (
        "/decide <title> [because <why>] [review in <when>]",
        "/decide use PostgreSQL because backups review in 3 months",
        "record a decision",
    ),
    ("/decisions [all]", "/decisions all", "active decisions, or all with their history"),
    (
        "/supersede <n> <title> [because <why>]",
        "/supersede 1 use SQLite because one user",
        "replace decision 1",
    ),
    ("/revoke <n> [reason]", "/revoke 1 the project was dropped", "withdraw a decision"),
    ("/outcome <n> <text>", "/outcome 1 worked well", "record how a decision turned out"),
    ("/search <words>", "/search wifi password", "find any todo, note, track, decision or message"),
    ("/today", "/today", "overdue and due today, check-ins and reviews"),
    ("/week", "/week", "the same for the next 7 days"),
    ("/undo", "/undo", "reverse your last change (15 minutes)"),
    ("/export", "/export", "everything as a Markdown file"),
    ("/reminders", "/reminders", "scheduled, delivered and failed reminders"),
    ("/stats", "/stats", "counts of everything"),
    ("/help", "/help", "this text"),
)

HELP = (
    "Helionyx records what you say and keeps your todos, notes, tracks and decisions.\n\n"
    + "\n".join(f"{usage} - {what}, e.g. {example}" for usage, example, what in COMMANDS)
    + "\n\nDates and times are read in your time zone: today, tonight, tomorrow 9am, "
    "friday 17:30, in 3 days, next week, end of month, dec 31, 31.12.2026; "
    "morgen, Freitag; завтра, в пятницу. Priorities: !high, !medium, !low, !p1-!p3.\n"
    "Anything else is recorded as a message; start it with todo:, note:, track: or decide: "
    "to make an item of it."
)

GREETING = "Hello! I'm Helionyx, your decision-and-execution log.\n\n" + HELP
NOTED = "Noted."
ALREADY_RECORDED = "Already recorded; nothing changed."
EMPTY = "Send me some text, or /help."

USAGE = {
    "todo": "Usage: /todo <text>, e.g. /todo buy milk tomorrow !high #home",
    "note": "Usage: /note <text>",
    "track": "Usage: /track <text>, e.g. /track running every 3 days",
    "decide": "Usage: /decide <title> [because <rationale>] [review in <when>]",
    "done": "Usage: /done <number>, e.g. /done 3 (see /todos for the numbers)",
    "cancel": "Usage: /cancel <number>, e.g. /cancel 3",
    "reopen": "Usage: /reopen <number>, e.g. /reopen 3",
    "edit": "Usage: /edit <number> <text>, e.g. /edit 3 friday 17:30, "
    "or /edit note <number> <text>",
    "archive": "Usage: /archive <note number>, e.g. /archive 2",
    "checkin": "Usage: /checkin <number or name> [note], e.g. /checkin running 5 km",
    "pause": "Usage: /pause <track number>, e.g. /pause 1",
    "resume": "Usage: /resume <track number>, e.g. /resume 1",
    "finish": "Usage: /finish <track number>, e.g. /finish 1",
    "supersede": "Usage: /supersede <number> <new decision> [because <why>]",
    "revoke": "Usage: /revoke <number> [reason], e.g. /revoke 1 plans changed",
    "outcome": "Usage: /outcome <number> <how it turned out>, e.g. /outcome 1 worked well",
    "todos": "Usage: /todos [open|done|cancelled|all] [#tag] [due], e.g. /todos #home due",
    "decisions": "Usage: /decisions [active|superseded|revoked|all]",
}

_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

# How a status change reads, by event type: (verb, kind).
_MOVES = {
    TODO_COMPLETED: "Done",
    TODO_CANCELLED: "Cancelled",
    TODO_REOPENED: "Reopened",
    NOTE_ARCHIVED: "Archived",
    TRACK_PAUSED: "Paused",
    TRACK_RESUMED: "Resumed",
    TRACK_FINISHED: "Finished",
}
_CREATIONS = (TODO_CREATED, NOTE_RECORDED, TRACK_STARTED, DECISION_RECORDED)


def unknown_command(name: str) -> str:
    return f"I don't know /{clip_line(name, 40)}. Send /help for the commands."


def sentence(text: str) -> str:
    """A domain error's message as a reply: capitalised, with a full stop."""
    text = text.strip()
    return fit_reply(text[:1].upper() + text[1:] + ("" if text.endswith(".") else "."))


def day(value: date) -> str:
    return f"{_WEEKDAYS[value.weekday()]} {value.isoformat()}"


def due_label(due: date | None, due_at: datetime | None, zone: tzinfo | None = None) -> str:
    """ "Mon 2026-12-07", with " 09:00" when it has a time (in `zone`, else as written)."""
    if due_at is not None:
        local = due_at.astimezone(zone) if zone is not None else due_at
        return f"{day(local.date())} {local:%H:%M}"
    return day(due) if due is not None else ""


def every(days: int) -> str:
    return {1: "daily", 7: "weekly"}.get(days, f"every {days} days")


def recorded(events: Iterable[RecordedEvent], titles: Mapping[str, str]) -> str:
    """One line per object the events created or changed; `titles` names objects whose
    older events carry only their number."""
    lines = [line for event in events if (line := describe(event, titles))]
    return fit(None, lines, len(lines)) if lines else NOTED


def describe(event: RecordedEvent, titles: Mapping[str, str]) -> str | None:
    p = event.payload
    title = p.get("title") or titles.get(event.aggregate_id, "")
    named = f"{event.aggregate_type} #{p.get('number')}" + (f", {title}" if title else "")
    if event.type == TODO_CREATED:
        marks = _todo_marks(
            _written_due(p.get("due")), p.get("priority", "normal"), p.get("tags", ())
        )
        line = f"Todo #{p['number']}: {p['title']}{_parenthesised(marks)}"
        return clip_line(line) + _unread(event.metadata.get("unread_dates"))
    if event.type in _MOVES:
        return clip_line(f"{_MOVES[event.type]}: {named}")
    if event.type in (TODO_EDITED, NOTE_EDITED):
        return clip_line(
            f"Changed {event.aggregate_type} #{p['number']}: "
            + "; ".join(_change(name, value) for name, value in p["changes"].items())
        )
    if event.type == NOTE_RECORDED:
        return clip_line(f"Note #{p['number']}: {p['title']}")
    if event.type == TRACK_STARTED:
        return clip_line(f"Track #{p['number']}: {p['title']} ({every(p['check_in_every'])})")
    if event.type == TRACK_CHECKED_IN:
        note = f" ({p['note']})" if p.get("note") else ""
        return clip_line(f"Checked in: {named}{note}")
    if event.type == DECISION_RECORDED:
        review = (
            f" (review on {day(date.fromisoformat(p['review_on']))})" if p.get("review_on") else ""
        )
        return clip_line(
            f"Decision #{p['number']}: {p['title']}" + _because(p.get("rationale")) + review
        )
    if event.type == DECISION_SUPERSEDED:
        return clip_line(f"Superseded: {named}, by #{p['superseded_by_number']}")
    if event.type == DECISION_REVOKED:
        return clip_line(f"Revoked: {named}" + _because(p.get("reason")))
    if event.type == DECISION_REVIEWED:
        return clip_line(f"Outcome of {named}: {p['outcome']}")
    if event.type.endswith(f".{UNDONE}"):
        return clip_line(f"Undone: {_undone(event.aggregate_type, p)}")
    return None


def _undone(kind: str, p: Mapping[str, Any]) -> str:
    named = f"{kind} #{p['number']}" + (f", {p['title']}" if p.get("title") else "")
    undid, restore = p["undoes_type"], p["restore"]
    if undid in _CREATIONS:
        return f"{named} is taken back (now {restore['status']})"
    if undid in (TODO_EDITED, NOTE_EDITED):
        return f"the change to {named}; back to " + "; ".join(
            _change(name, value) for name, value in restore.items()
        )
    if undid == TRACK_CHECKED_IN:
        return f"the check-in on {named}"
    if undid == DECISION_REVIEWED:
        return f"the outcome of {named}"
    return f"{named} is {restore['status']} again"


def _change(name: str, value: Any) -> str:
    if name == "due":
        return f"due {_written_due(value)}" if value else "no due date"
    if name == "tags":
        return "tags " + (" ".join(f"#{tag}" for tag in value) if value else "none")
    if name == "priority":
        return f"!{value}"
    if name == "content":
        return "new text"
    return f"{name} “{value}”" if value else f"no {name}"


def _written_due(text: str | None) -> str:
    """An event's due in the zone it was written in (the owner's at the time)."""
    if not text:
        return ""
    if "T" in text:
        return due_label(None, datetime.fromisoformat(text))
    return day(date.fromisoformat(text))


def _unread(words: Iterable[str] | None) -> str:
    words = list(words or ())
    if not words:
        return ""
    quoted = ", ".join(f"“{clip_line(word, 40)}”" for word in words[:3])
    return f"\n(I could not read {quoted} as a date; set one with /edit.)"


def todo_list(
    todos: list[Todo], label: str, total: int, now: datetime, *, every: bool = False
) -> str:
    """`now` in the owner's zone: overdue and today are their days. `label` says which
    ("open", "all #home"); `every`: of every status, so each line shows its own."""
    if not todos:
        return f"No {label} todos." if label != "all" else "No todos."
    header = f"{label[0].upper()}{label[1:]} todos ({total}):"
    return fit(header, [_todo_line(todo, every, now) for todo in todos], total)


def note_list(notes: list[Note], search: str | None, total: int) -> str:
    if not notes:
        return f"No notes match “{clip_line(search, 100)}”." if search else "No notes yet."
    header = f"Notes matching “{clip_line(search, 100)}”" if search else "Notes"
    return fit(f"{header} ({total}):", [clip_line(f"#{n.number} {n.title}") for n in notes], total)


def next_check_in(track: Track, zone: tzinfo) -> date:
    """The owner's day the next check-in is due on."""
    since = track.last_check_in_at or track.created_at
    return _local(since, zone).date() + timedelta(days=track.check_in_every)


def track_list(tracks: list[Track], total: int, now: datetime) -> str:
    if not tracks:
        return "No tracks yet. Start one with /track <text>."
    zone = now.tzinfo or UTC
    lines = []
    for track in tracks:
        details = [every(track.check_in_every)]
        if track.status != "active":
            details.append(track.status)
        if track.last_check_in_at is not None:
            details.append(f"last check-in {day(_local(track.last_check_in_at, zone).date())}")
            details.append(f"streak {track.streak}")
        if track.status == "active":
            due = next_check_in(track, zone)
            details.append(
                "check-in due today"
                if due == now.date()
                else f"overdue since {day(due)}"
                if due < now.date()
                else f"next check-in {day(due)}"
            )
        lines.append(clip_line(f"#{track.number} {track.title} - {', '.join(details)}"))
    return fit(f"Tracks ({total}):", lines, total)


def decision_list(
    decisions: list[Decision], status: str, total: int, numbers: Mapping[str, int]
) -> str:
    """`numbers`: the number of each decision by id, for "superseded by #n"."""
    if not decisions:
        if status == "active":
            return "No active decisions. Record one with /decide <title> because <rationale>."
        return f"No {'' if status == 'all' else status + ' '}decisions."
    lines = []
    for d in decisions:
        line = f"#{d.number} {d.title}{_because(d.rationale)}"
        if d.status == "superseded":
            by = numbers.get(d.superseded_by or "")
            line += f" [superseded by #{by}]" if by else " [superseded]"
        elif d.status == "revoked":
            line += f" [revoked{': ' + d.revoke_reason if d.revoke_reason else ''}]"
        if d.review_on is not None and d.outcome is None:
            line += f" (review on {day(d.review_on)})"
        if d.outcome is not None:
            line += f" - outcome: {d.outcome}"
        lines.append(clip_line(line))
    label = {"active": "Active decisions", "all": "Decisions"}.get(
        status, f"{status.capitalize()} decisions"
    )
    return fit(f"{label} ({total}):", lines, total)


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


def _local(moment: datetime, zone: tzinfo) -> datetime:
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(zone)


def _todo_line(todo: Todo, with_status: bool, now: datetime) -> str:
    zone = now.tzinfo or UTC
    marks = _todo_marks(due_label(todo.due, todo.due_at, zone), todo.priority, todo.tags)
    if todo.status == "open" and todo.due is not None:
        overdue = (todo.due_at < now) if todo.due_at is not None else todo.due < now.date()
        if overdue:
            marks[0] += " (overdue)"
        elif todo.due == now.date():
            marks[0] += " (today)"
    if todo.status == "done" and todo.completed_at is not None:
        marks.insert(0, f"done {_local(todo.completed_at, zone).date().isoformat()}")
    status = f"[{todo.status}] " if with_status else ""
    details = f" - {', '.join(marks)}" if marks else ""
    return clip_line(f"{status}#{todo.number} {todo.title}{details}")


def _todo_marks(due: str, priority: str, tags: Iterable[str]) -> list[str]:
    marks = [f"due {due}"] if due else []
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
