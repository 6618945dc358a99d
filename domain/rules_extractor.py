"""Deterministic extraction from explicit prefixes: `todo:`, `note:`, `track:`, `decide:`.

The owner's prefix says what to make, so nothing here guesses: unprefixed text yields no
items. The rules, per prefix (all matching is case-insensitive):

- todo: `!urgent`, `!high` / `!p1`, `!normal` / `!medium` / `!p2`, `!low` / `!p3` set the
  priority (the first one wins; any other `!word` stays in the title); `#tag` words become
  tags; the due date or time is read by `domain/dates.py` in the owner's time zone (its
  docstring lists the words, in English, German and Russian): a marked date (`by friday`,
  `bis freitag`, `к пятнице`) wins over a bare one, so "prepare friday slides by monday"
  is due on Monday, and "tomorrow 9am" is due at 09:00 local time. Date-like words it
  could not read ("2026-02-30", "tommorow") stay in the title and are listed in
  `unread_dates`. Markers, tags and the chosen date are removed from the title.
- note: the whole text after the prefix is the content; its first line, without #tags and
  cut to 80 characters at a word boundary, is the title; tags come from the whole content.
- track: `daily` / `every day` (1), `weekly` / `every week` (7), `every N days` and
  `every N weeks` (up to 365 days) set the check-in interval, default 7, and are removed.
- decide / decision: `<title> because <rationale>`, split on the first "because". Options
  come from an `options: a, b or c` clause (to the end of its line or the "because"; removed
  from the title) or else from a parenthetical `(a vs b vs c)`, which stays in the title.
  `review in 3 months` (days, weeks, months, years; `a month`) or `review on <date>` (any
  date `domain/dates.py` reads) at the end of a line sets the review day, and
  `supersedes #2` / `replaces #2` (in parentheses or not) names the decision it replaces;
  both are removed from the title and the rationale.

A title left empty by the rules means no item. Titles longer than 200 characters are cut
and the full text is kept as the todo's or track's description. No input raises, and every
pattern runs in linear time, since the text is untrusted.
"""

from __future__ import annotations

import calendar
import re
from datetime import date, datetime

from domain.dates import read_due
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
_PRIORITY_BY_NAME: dict[str, Priority] = {
    **{name: name for name in PRIORITIES},
    "medium": "normal",
    "p1": "high",
    "p2": "normal",
    "p3": "low",
}

# Each pattern opens with a literal or a lookaround, never with `\s+`: re retries a match
# at every position, and a leading `\s+` would rescan a long run of spaces from each one.
_PREFIX = re.compile(r"\s*(?P<kind>todo|note|track|decide|decision)\s*:", re.IGNORECASE)
_PRIORITY = re.compile(
    r"(?<!\S)!(?P<level>urgent|high|medium|normal|low|p1|p2|p3)(?!\w)", re.IGNORECASE
)
_TAG = re.compile(r"(?<!\S)#(?P<tag>\w+(?:-\w+)*)")
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
_REVIEW = re.compile(r"(?<!\S)(?:review|revisit)(?=\s)(?P<when>[^\n]*)", re.IGNORECASE)
_REVIEW_IN = re.compile(
    r"\s*(?:in|after)\s+(?P<count>\d{1,3}|an?|one)\s+(?P<unit>months?|years?)\s*", re.IGNORECASE
)
_SUPERSEDES = re.compile(
    r"\(?(?<!\w)(?:supersedes|replaces)\s+#?(?P<number>\d{1,9})(?!\w)\)?", re.IGNORECASE
)


_NOTHING_FOUND = Extraction(items=(), extractor="rules")  # immutable: one will do


class RulesExtractor:
    """Needs nothing external and always answers; the LLM extractor falls back to it."""

    async def extract(self, text: str, *, now: datetime) -> Extraction:
        item = extract_item(text, now=now)
        return _NOTHING_FOUND if item is None else Extraction(items=(item,), extractor="rules")


def explicit_prefix(text: str) -> str | None:
    """The kind the text asks for by prefix ("todo", "note", "track", "decision"), if any."""
    match = _PREFIX.match(text)
    if match is None:
        return None
    kind = match["kind"].lower()
    return "decision" if kind == "decide" else kind


def extract_item(text: str, *, now: datetime) -> ExtractedItem | None:
    """The item an explicitly prefixed text asks for; `now` is aware, in the owner's zone."""
    match = _PREFIX.match(text)
    if match is None:
        return None
    kind = match["kind"].lower()
    body = text[match.end() :]
    if kind == "todo":
        return _todo(body, now)
    if kind == "note":
        return _note(body)
    if kind == "track":
        return _track(body)
    return _decision(body, now)


def stated_priority(text: str) -> Priority | None:
    """The priority a `!marker` in the text names, if any (the first one wins)."""
    match = _PRIORITY.search(text)
    return None if match is None else _PRIORITY_BY_NAME[match["level"].lower()]


def _todo(body: str, now: datetime) -> ExtractedTodo | None:
    levels = [m["level"].lower() for m in _PRIORITY.finditer(body)]
    priority = _PRIORITY_BY_NAME[levels[0]] if levels else "normal"
    body = _PRIORITY.sub(" ", body)
    tags = normalise_tags(m["tag"] for m in _TAG.finditer(body))
    body = _TAG.sub(" ", body)
    reading = read_due(body, now)
    title, description = _title_with_overflow(reading.text)
    if not title:
        return None
    return ExtractedTodo(title, description, priority, reading.due, tags, reading.unread)


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


def _decision(body: str, now: datetime) -> ExtractedDecision | None:
    supersedes = None
    if (replaced := _SUPERSEDES.search(body)) is not None:
        supersedes = int(replaced["number"])
        body = body[: replaced.start()] + " " + body[replaced.end() :]
    body, review_on = _take_review(body, now)
    body, options = _take_options_clause(body)
    because = _BECAUSE.search(body)
    before, after = (body[: because.start()], body[because.end() :]) if because else (body, "")
    title = clip(collapse_whitespace(before))
    if not title:
        return None
    if not options:
        options = _versus_options(title)
    rationale = collapse_whitespace(after) or None
    return ExtractedDecision(title, rationale, options, review_on, supersedes)


def _take_review(body: str, now: datetime) -> tuple[str, date | None]:
    """The review day a `review in 3 months` or `review on <date>` clause names (the
    last one, to its line's end), and the body without it; an unreadable clause is left."""
    for clause in reversed(list(_REVIEW.finditer(body))):
        day = _review_day(clause["when"], now)
        if day is not None:
            return body[: clause.start()] + " " + body[clause.end() :], day
    return body, None


def _review_day(when: str, now: datetime) -> date | None:
    if (span := _REVIEW_IN.fullmatch(when)) is not None:
        count = span["count"].lower()
        months = int(count) if count.isdigit() else 1
        if span["unit"].lower().startswith("year"):
            months *= 12
        return _months_later(now.date(), months)
    reading = read_due(when, now)
    if reading.due is None or reading.text.strip(" .,;") not in ("", "on", "in", "by"):
        return None
    return reading.due.date() if isinstance(reading.due, datetime) else reading.due


def _months_later(day: date, months: int) -> date | None:
    """The same day `months` later, or that month's last day (Jan 31 + 1 month: Feb 28)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    if year > date.max.year:
        return None
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


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
