"""The Markdown export's text: one object, or one event of its history, as lines.

Plain enough to read in any editor: the owner's words are written as they are (only line
breaks inside a one-line field are folded), notes' content is quoted line by line, and
times are in the owner's time zone.
"""

from __future__ import annotations

from datetime import date, datetime, tzinfo
from typing import Any

from domain.objects import (
    DECISION_RECORDED,
    DECISION_REVIEWED,
    DECISION_REVOKED,
    DECISION_SUPERSEDED,
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

TODO_BOXES = {"open": "- [ ]", "done": "- [x]", "cancelled": "- [-]"}


def one_line(text: str | None) -> str:
    return " ".join((text or "").split())


def moment(value: datetime | None, zone: tzinfo) -> str:
    return "" if value is None else value.astimezone(zone).strftime("%Y-%m-%d %H:%M")


def day(value: date | None) -> str:
    return "" if value is None else value.isoformat()


def quoted(text: str) -> list[str]:
    return [f"> {line}".rstrip() for line in text.splitlines()] or [">"]


def tags(values: tuple[str, ...]) -> str:
    return " ".join(f"#{one_line(tag)}" for tag in values)


def todo_lines(todo: Todo, zone: tzinfo) -> list[str]:
    parts = [f"{TODO_BOXES.get(todo.status, '-')} #{todo.number} {one_line(todo.title)}"]
    if todo.due_at is not None:
        parts.append(f"due {moment(todo.due_at, zone)}")
    elif todo.due is not None:
        parts.append(f"due {day(todo.due)}")
    if todo.priority != "normal":
        parts.append(f"priority {todo.priority}")
    if todo.tags:
        parts.append(tags(todo.tags))
    if todo.completed_at is not None:
        parts.append(f"done {moment(todo.completed_at, zone)}")
    lines = [" · ".join(parts)]
    if todo.description:
        lines += [f"  {line}".rstrip() for line in todo.description.splitlines()]
    return lines


def note_lines(note: Note, zone: tzinfo) -> list[str]:
    about = [f"recorded {moment(note.created_at, zone)}"]
    if note.updated_at is not None and note.updated_at != note.created_at:
        about.append(f"edited {moment(note.updated_at, zone)}")
    if note.tags:
        about.append(tags(note.tags))
    lines = [f"#### #{note.number} {one_line(note.title)}", "", " · ".join(about)]
    if note.content:
        lines += ["", *quoted(note.content)]
    return [*lines, ""]


def track_lines(track: Track, zone: tzinfo) -> list[str]:
    about = [
        f"every {track.check_in_every} day{'s' if track.check_in_every != 1 else ''}",
        f"{track.check_ins} check-in{'s' if track.check_ins != 1 else ''}",
        f"streak {track.streak}",
        f"started {moment(track.created_at, zone)}",
    ]
    if track.last_check_in_at is not None:
        about.append(f"last check-in {moment(track.last_check_in_at, zone)}")
    lines = [
        f"#### #{track.number} {one_line(track.title)} ({track.status})",
        "",
        " · ".join(about),
    ]
    if track.description:
        lines += ["", *quoted(track.description)]
    return [*lines, ""]


def decision_lines(decision: Decision, zone: tzinfo, numbers: dict[str, int]) -> list[str]:
    """`numbers`: the numbers of the decisions it supersedes or is superseded by, by id."""
    state = decision.status
    if decision.superseded_by in numbers:
        state = f"superseded by #{numbers[decision.superseded_by]}"
    lines = [f"#### #{decision.number} {one_line(decision.title)} ({state})", ""]
    about = [f"decided {moment(decision.decided_at, zone)}"]
    if decision.supersedes in numbers:
        about.append(f"supersedes #{numbers[decision.supersedes]}")
    if decision.review_on is not None:
        about.append(f"review on {day(decision.review_on)}")
    lines.append(" · ".join(about))
    for label, value in (
        ("Because", decision.rationale),
        ("Options", ", ".join(decision.options)),
        ("Revoked", decision.revoke_reason if state == "revoked" else None),
        ("Outcome", decision.outcome),
    ):
        if value:
            lines.append(f"- {label}: {one_line(value)}")
    if decision.reviewed_at is not None:
        lines.append(f"- Reviewed: {moment(decision.reviewed_at, zone)}")
    return [*lines, ""]


def history_line(
    type_: str, occurred_at: datetime, payload: dict[str, Any], zone: tzinfo
) -> str | None:
    """One event of a track's or a decision's history; None for one not shown."""
    what = _history_text(type_, payload)
    return None if what is None else f"- {moment(occurred_at, zone)} {what}"


def _history_text(type_: str, payload: dict[str, Any]) -> str | None:
    if type_ == TRACK_CHECKED_IN:
        note = one_line(payload.get("note"))
        return f"check-in: {note}" if note else "check-in"
    simple = {
        TRACK_STARTED: "started",
        TRACK_PAUSED: "paused",
        TRACK_RESUMED: "resumed",
        TRACK_FINISHED: "finished",
        DECISION_RECORDED: "recorded",
    }
    if type_ in simple:
        return simple[type_]
    if type_ == DECISION_SUPERSEDED:
        number, title = payload.get("superseded_by_number"), payload.get("title")
        return (
            f"superseded by #{number}"
            if number is not None
            else (f"superseded ({one_line(title)})" if title else "superseded")
        )
    if type_ == DECISION_REVOKED:
        reason = one_line(payload.get("reason"))
        return f"revoked: {reason}" if reason else "revoked"
    if type_ == DECISION_REVIEWED:
        return f"outcome: {one_line(payload.get('outcome'))}"
    if type_.endswith(f".{UNDONE}"):
        return "a change undone"
    return None
