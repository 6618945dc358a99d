"""Deterministic extraction from explicit prefixes: `todo:`, `note:`, `track:`, `decide:`.

The owner's prefix says what to make, so nothing here guesses: unprefixed text yields no
items. The rules, per prefix (all matching is case-insensitive):

- todo: `!urgent` / `!high` / `!normal` / `!low` set the priority (the first one wins);
  `#tag` words become tags; a due date comes from `2026-12-01`, `today`, `tomorrow` or a
  weekday name, optionally after `due`, `by` or `on`. A weekday means the next such day
  strictly after today, so naming today's weekday means a week from today. A date with a
  marker (`by friday`) wins over a bare one, so "prepare friday slides by monday" is due on
  Monday. Markers, tags and the chosen date are removed from the title.
- note: the whole text after the prefix is the content; its first line, without #tags and
  cut to 80 characters at a word boundary, is the title; tags come from the whole content.
- track: `daily` / `every day` (1), `weekly` / `every week` (7), `every N days` and
  `every N weeks` (up to 365 days) set the check-in interval, default 7, and are removed.
- decide / decision: `<title> because <rationale>`, split on the first "because". Options
  come from an `options: a, b or c` clause (to the end of its line or the "because"; removed
  from the title) or else from a parenthetical `(a vs b vs c)`, which stays in the title.

A title left empty by the rules means no item. Titles longer than 200 characters are cut
and the full text is kept as the todo's or track's description. No input raises, and every
pattern runs in linear time, since the text is untrusted.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

from domain.extraction import (
    DEFAULT_CHECK_IN_DAYS,
    MAX_CHECK_IN_DAYS,
    MAX_OPTIONS,
    PRIORITIES,
    ExtractedDecision,
    ExtractedItem,
    ExtractedNote,
    ExtractedTodo,
    ExtractedTrack,
    Extraction,
    Priority,
    clip,
    collapse_whitespace,
    normalise_tags,
)

NOTE_TITLE_LENGTH = 80
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_PRIORITY_BY_NAME: dict[str, Priority] = {name: name for name in PRIORITIES}

# Each pattern opens with a literal or a lookaround, never with `\s+`: re retries a match
# at every position, and a leading `\s+` would rescan a long run of spaces from each one.
_PREFIX = re.compile(r"\s*(?P<kind>todo|note|track|decide|decision)\s*:", re.IGNORECASE)
_PRIORITY = re.compile(r"(?<!\S)!(?P<level>urgent|high|normal|low)(?!\w)", re.IGNORECASE)
_TAG = re.compile(r"(?<!\S)#(?P<tag>\w+(?:-\w+)*)")
_DUE = re.compile(
    r"(?<!\w)(?:(?P<marker>due|by|on)\s+)?"
    rf"(?P<when>\d{{4}}-\d{{2}}-\d{{2}}|today|tomorrow|{'|'.join(WEEKDAYS)})"
    r"(?![\w'’-])",  # "today's paper" is not a date
    re.IGNORECASE,
)
_FREQUENCY = re.compile(
    r"(?<!\w)(?:every\s+(?P<count>\d{1,4})\s+(?P<unit>days?|weeks?)"
    r"|every\s+(?P<single>day|week)|(?P<adverb>daily|weekly))(?!\w)",
    re.IGNORECASE,
)
_BECAUSE = re.compile(r"(?<!\S)because(?!\S)", re.IGNORECASE)
_OPTIONS_CLAUSE = re.compile(r"(?<!\w)options\s*:", re.IGNORECASE)
_OPTION_SEPARATOR = re.compile(r"[,;]|(?<!\S)or(?!\S)", re.IGNORECASE)
_PARENTHETICAL = re.compile(r"\((?P<inner>[^()\n]*)\)")
_VERSUS = re.compile(r"(?<!\S)vs\.?(?!\S)", re.IGNORECASE)


_NOTHING_FOUND = Extraction(items=(), extractor="rules")  # immutable: one will do


class RulesExtractor:
    """Needs nothing external and always answers; the LLM extractor falls back to it."""

    async def extract(self, text: str, *, today: date) -> Extraction:
        item = extract_item(text, today=today)
        return _NOTHING_FOUND if item is None else Extraction(items=(item,), extractor="rules")


def explicit_prefix(text: str) -> str | None:
    """The kind the text asks for by prefix ("todo", "note", "track", "decision"), if any."""
    match = _PREFIX.match(text)
    if match is None:
        return None
    kind = match["kind"].lower()
    return "decision" if kind == "decide" else kind


def extract_item(text: str, *, today: date) -> ExtractedItem | None:
    match = _PREFIX.match(text)
    if match is None:
        return None
    kind = match["kind"].lower()
    body = text[match.end() :]
    if kind == "todo":
        return _todo(body, today)
    if kind == "note":
        return _note(body)
    if kind == "track":
        return _track(body)
    return _decision(body)


def _todo(body: str, today: date) -> ExtractedTodo | None:
    levels = [m["level"].lower() for m in _PRIORITY.finditer(body)]
    priority = _PRIORITY_BY_NAME[levels[0]] if levels else "normal"
    body = _PRIORITY.sub(" ", body)
    tags = normalise_tags(m["tag"] for m in _TAG.finditer(body))
    body = _TAG.sub(" ", body)
    due, body = _take_due_date(body, today)
    title, description = _title_with_overflow(body)
    if not title:
        return None
    return ExtractedTodo(title, description, priority, due, tags)


def _note(body: str) -> ExtractedNote | None:
    content = body.strip()
    for line in content.splitlines():
        title = collapse_whitespace(_TAG.sub(" ", line))
        if title:
            tags = normalise_tags(m["tag"] for m in _TAG.finditer(content))
            return ExtractedNote(clip(title, NOTE_TITLE_LENGTH), content, tags)
    return None


def _track(body: str) -> ExtractedTrack | None:
    every = DEFAULT_CHECK_IN_DAYS
    for match in _FREQUENCY.finditer(body):
        days = _frequency_days(match)
        if days is not None:
            every = days
            body = body[: match.start()] + " " + body[match.end() :]
            break
    title, description = _title_with_overflow(body)
    return ExtractedTrack(title, description, every) if title else None


def _decision(body: str) -> ExtractedDecision | None:
    body, options = _take_options_clause(body)
    because = _BECAUSE.search(body)
    before, after = (body[: because.start()], body[because.end() :]) if because else (body, "")
    title = clip(collapse_whitespace(before))
    if not title:
        return None
    if not options:
        options = _versus_options(title)
    return ExtractedDecision(title, after.strip() or None, options)


def _take_due_date(body: str, today: date) -> tuple[date | None, str]:
    """Finds the due date and returns it with the body minus the words that named it."""
    candidates = []
    for match in _DUE.finditer(body):
        due = _resolve_date(match["when"].lower(), today)
        if due is not None:
            candidates.append((match["marker"] is None, match.start(), match.end(), due))
    if not candidates:
        return None, body
    _, start, end, due = min(candidates)
    return due, body[:start] + " " + body[end:]


def _resolve_date(when: str, today: date) -> date | None:
    try:
        if when == "today":
            return today
        if when == "tomorrow":
            return today + timedelta(days=1)
        if when in WEEKDAYS:
            ahead = (WEEKDAYS.index(when) - today.weekday()) % 7 or 7
            return today + timedelta(days=ahead)
        return date.fromisoformat(when)
    except (ValueError, OverflowError):  # 2026-02-30, or a day past date.max
        return None


def _frequency_days(match: re.Match[str]) -> int | None:
    if match["adverb"]:
        return 1 if match["adverb"].lower() == "daily" else 7
    if match["single"]:
        return 1 if match["single"].lower() == "day" else 7
    days = int(match["count"]) * (7 if match["unit"].lower().startswith("week") else 1)
    return days if 1 <= days <= MAX_CHECK_IN_DAYS else None


def _title_with_overflow(body: str) -> tuple[str, str | None]:
    """The collapsed title and, when it had to be cut, the full text as a description."""
    full = collapse_whitespace(body)
    title = clip(full)
    return title, (full if title != full else None)


def _take_options_clause(body: str) -> tuple[str, tuple[str, ...]]:
    clause = _OPTIONS_CLAUSE.search(body)
    if clause is None:
        return body, ()
    line_end = body.find("\n", clause.end())
    end = len(body) if line_end == -1 else line_end
    because = _BECAUSE.search(body, clause.end(), end)
    if because is not None:
        end = because.start()
    options = _distinct_options(_OPTION_SEPARATOR.split(body[clause.end() : end]))
    return body[: clause.start()] + " " + body[end:], options


def _versus_options(title: str) -> tuple[str, ...]:
    for group in _PARENTHETICAL.finditer(title):
        options = _distinct_options(_VERSUS.split(group["inner"]))
        if len(options) >= 2:
            return options
    return ()


def _distinct_options(parts: list[str]) -> tuple[str, ...]:
    options: list[str] = []
    for part in parts:
        option = clip(collapse_whitespace(part))
        if option and option not in options:
            options.append(option)
            if len(options) == MAX_OPTIONS:
                break
    return tuple(options)
