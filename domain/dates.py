"""When a todo is due, read from the owner's words in the owner's time zone.

`read_due(text, now)` takes `now` aware and already in the owner's zone, so "today" is
`now.date()` there, not UTC's date. It answers a `date` when no time of day was named, else
an aware `datetime` in now's zone; the text minus the words that named it; and, as typed,
the date-like words it could not read. docs/CONVERSATION.md ("Reading dates") lists every
word it knows in English, German and Russian; the choices, pinned in tests/unit/test_dates.py:

- A weekday is the next one strictly after today; "next monday" is "monday". A year-less
  date is its next occurrence on or after today. "next week" is its Monday, "end of the
  week" its Sunday. "in N hours" counts elapsed time, to the minute.
- A date with a marker (by, due, on, bis, am, к, до, в, ...) wins over a bare one, else the
  first wins. A time beside the chosen date (only spaces or commas between) is that day's
  time; a time alone is today if still ahead, else tomorrow. "tonight" is 20:00 and makes
  an hour 1-11 without am/pm an evening one. "midnight" is not read (start or end of day?).
- Words that are also ordinary words need company: a month name a day number, `sat`/`sun`
  and среда a marker, a bare hour ("at 9", "в 3") no word after it unless a date; German
  "Morgen" is the noun when capitalised after the first word or after guten/heute/am/... .
  A bare number is never a date; "31.12" needs two digits each and "1.5." a marker.
- DST: a wall time is built in now's zone with fold=0 and normalised through UTC, so a
  time skipped by the spring change (02:30 on 2027-03-14 in New York) lands after the gap
  (03:30 EDT), and a time that happens twice in autumn is the first (EDT).
- `unread`: shapes that fail (2026-02-30, 32 dec, 25:00, 13pm, past date.max), glued
  phrases (nextweek) and close misspellings of day words (tommorow; difflib ratio >= 0.85,
  five letters or more, never a word that merely starts with one, like "tomorrowland").

No input raises, and every pattern runs in linear time (`domain/date_words.py`).
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from itertools import islice
from re import Match, Pattern

from domain import date_words as words

_MAX_FOUND = 64  # per pattern: plenty for a todo, and a bound on the pairing work
_MAX_TYPO_WORDS = 100


@dataclass(frozen=True)
class DateReading:
    due: date | datetime | None
    text: str
    unread: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Clock:
    hour: int
    minute: int
    may_be_evening: bool = False  # no am/pm given and an hour from 1 to 11


@dataclass(frozen=True)
class _Found:
    """Words that look like a date or a time, and what they mean (None: unreadable)."""

    start: int  # the marker included
    core_start: int
    end: int
    typed: str
    marked: bool
    value: date | datetime | _Clock | None
    evening: bool = False
    takes_time: bool = True


def read_due(text: str, now: datetime) -> DateReading:
    folded = text.casefold()
    patterns = [p for p in words.CLUES if any(clue in folded for clue in words.CLUES[p])]
    found = [f for p in words.DATE_PATTERNS if p in patterns for f in _dates(p, text, now)]
    dates = _without_overlaps(found)
    clocks = [p for p in words.TIME_PATTERNS if p in patterns]
    dates, times = _settle(dates, _times(clocks, text, dates))
    chosen, clock = _choose(text, dates, times)
    unread = [(f.core_start, f.typed) for f in dates + times if f.value is None]
    unread += _misspellings(text, dates + times)
    due = _due(chosen, clock, now)
    if due is None and chosen is not None:  # a date and a time past datetime's range
        unread.append((chosen.core_start, chosen.typed))
    elif due is not None:
        spans = [f for f in (chosen, clock) if f is not None]
        start, end = min(f.start for f in spans), max(f.end for f in spans)
        text = f"{text[:start]} {text[end:]}"
    return DateReading(due, text, tuple(dict.fromkeys(typed for _, typed in sorted(unread))))


def _dates(pattern: Pattern[str], text: str, now: datetime) -> list[_Found]:
    resolve = _DATE_READERS[pattern]
    found = (resolve(match, now, text) for match in islice(pattern.finditer(text), _MAX_FOUND))
    return [f for f in found if f is not None]


def _found(match: Match[str], value: date | datetime | _Clock | None, **extra: bool) -> _Found:
    return _Found(
        match.start(), match.start("core"), match.end(), match["core"],
        match.groupdict().get("marker") is not None, value, **extra,
    )  # fmt: skip


def _iso(match: Match[str], now: datetime, text: str) -> _Found:
    return _found(match, _calendar_date(match["year"], match["month"], match["day"]))


def _dotted(match: Match[str], now: datetime, text: str) -> _Found | None:
    year = match["year"]
    if year is not None:
        century = "20" if len(year) == 2 else ""
        return _found(match, _calendar_date(century + year, match["month"], match["day"]))
    if match["marker"] is None and (len(match["day"]) < 2 or len(match["month"]) < 2):
        return None  # "chapter 1.5." is not the first of May
    return _found(match, _next_occurrence(int(match["month"]), int(match["day"]), now.date()))


def _short_dotted(match: Match[str], now: datetime, text: str) -> _Found | None:
    due = _next_occurrence(int(match["month"]), int(match["day"]), now.date())
    return None if due is None else _found(match, due)  # 12.50 is a price, not unreadable


def _month_name(match: Match[str], now: datetime, text: str) -> _Found | None:
    month = words.MONTHS.get(match["month"].lower())
    if month is None:
        return None
    if match["year"] is not None:
        return _found(match, _calendar_date(match["year"], str(month), match["day"]))
    return _found(match, _next_occurrence(month, int(match["day"]), now.date()))


def _day_word(match: Match[str], now: datetime, text: str) -> _Found | None:
    word = " ".join(match["core"].lower().split())
    ahead = words.DAYS_AHEAD.get(word)
    if ahead is None or (word == "morgen" and _is_the_morning(match, text)):
        return None
    return _found(match, _plus_days(now.date(), ahead), evening=word in words.EVENINGS)


def _is_the_morning(match: Match[str], text: str) -> bool:
    """German "Morgen" as the noun: "Guten Morgen", "heute Morgen", "am Morgen"."""
    if (match["marker"] or "").lower() == "am":
        return True
    before = words.LAST_WORD.search(text, max(0, match.start() - 40), match.start())
    if before is not None and before[1].lower() in words.WORDS_BEFORE_MORNING:
        return True
    return match["core"] == "Morgen" and bool(text[: match.start()].strip())  # not first


def _weekday(match: Match[str], now: datetime, text: str) -> _Found | None:
    word = match["weekday"].lower()
    weekday = words.WEEKDAYS.get(word)
    if weekday is None:
        return None
    if word in words.WEEKDAYS_NEEDING_A_MARKER and not (match["marker"] or match["modifier"]):
        return None
    today = now.date()
    return _found(match, _plus_days(today, (weekday - today.weekday()) % 7 or 7))


def _relative(match: Match[str], now: datetime, text: str) -> _Found | None:
    unit = words.UNITS.get(match["unit"].lower())
    spelled = match["count"]
    if spelled is None:  # "через неделю"; "in weeks" says no when
        count = 1 if match["lead"].lower() == "через" else None
    else:
        count = int(spelled) if spelled.isdigit() else words.NUMBERS.get(spelled.lower())
    if unit is None or count is None:
        return None
    today = now.date()
    if unit in ("hours", "minutes"):
        return _found(match, _elapsed(now, unit, count), takes_time=False)
    if unit == "months":
        return _found(match, _plus_months(today, count))
    return _found(match, _plus_days(today, count * (7 if unit == "weeks" else 1)))


def _next_week(match: Match[str], now: datetime, text: str) -> _Found:
    today = now.date()
    return _found(match, _plus_days(today, 7 - today.weekday()))


def _end_of(match: Match[str], now: datetime, text: str) -> _Found:
    today, core = now.date(), match["core"].lower()
    if any(month in core for month in ("month", "monat", "месяц")):
        return _found(match, today.replace(day=_days_in(today.year, today.month)))
    return _found(match, _plus_days(today, 6 - today.weekday()))


_DATE_READERS = {
    words.ISO_DATE: _iso,
    words.DOTTED_DATE: _dotted,
    words.SHORT_DOTTED_DATE: _short_dotted,
    words.MONTH_DAY: _month_name,
    words.DAY_MONTH: _month_name,
    words.DAY_WORD: _day_word,
    words.WEEKDAY: _weekday,
    words.RELATIVE: _relative,
    words.NEXT_WEEK: _next_week,
    words.END_OF: _end_of,
}


def _times(patterns: list[Pattern[str]], text: str, dates: list[_Found]) -> list[_Found]:
    date_starts = {f.start for f in dates} | {f.core_start for f in dates}
    found = []
    for pattern in patterns:
        for match in islice(pattern.finditer(text), _MAX_FOUND):
            clock = _time(pattern, match, text, date_starts)
            if clock is not None:
                found.append(clock)
    return _without_overlaps(found)


def _time(
    pattern: Pattern[str], match: Match[str], text: str, date_starts: set[int]
) -> _Found | None:
    if pattern is words.NOON:
        return _found(match, _Clock(12, 0))
    groups = match.groupdict()
    if pattern is words.MERIDIEM_TIME and match.start("half") in date_starts:
        german = (groups["marker"] or "").lower() == "um" or not 1 <= int(match["hour"]) <= 12
        if german:
            return None  # "um 17 am Freitag": the "am" is Friday's; "um 17" is the time
    shaped = pattern is not words.HOUR_TIME or any(groups[g] for g in ("minute", "suffix", "part"))
    if not shaped:  # "at 9": a word after it must start a date ("at 9 tomorrow")
        follows = words.NEXT_LETTER.match(text, match.end())
        if follows is not None and follows.end() not in date_starts:
            return None
    minute = int(groups["minute"] or 0)
    clock = _clock(int(match["hour"]), minute, groups.get("half") or groups.get("part"))
    if clock is None and not shaped:
        return None  # "at 25" is not a time of day at all
    return _found(match, clock)


def _clock(hour: int, minute: int, half: str | None) -> _Clock | None:
    if half is not None:
        if not 1 <= hour <= 12:
            return None
        late = half.lower() in words.LATE_PARTS or half.lower() == "p"
        hour = hour % 12 + (12 if late else 0)
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        return None
    return _Clock(hour, minute, may_be_evening=half is None and 1 <= hour <= 11)


def _without_overlaps(found: list[_Found]) -> list[_Found]:
    """The earliest of overlapping finds, and the longest of those starting together."""
    kept: list[_Found] = []
    for candidate in sorted(found, key=lambda f: (f.start, -f.end)):
        if not kept or candidate.start >= kept[-1].end:
            kept.append(candidate)
    return kept


def _settle(dates: list[_Found], times: list[_Found]) -> tuple[list[_Found], list[_Found]]:
    """A date wins over a time it overlaps, except when the time only reaches into the
    date's marker: in "9 am Friday" the "am" is the time's, not Friday's (German) marker."""
    starts, ends = [d.start for d in dates], [d.end for d in dates]  # both ascending
    kept = []
    for clock in times:
        first, last = bisect.bisect_right(ends, clock.start), bisect.bisect_left(starts, clock.end)
        if first == last:
            kept.append(clock)
        elif last - first == 1 and clock.end <= dates[first].core_start:
            dates[first] = replace(dates[first], start=dates[first].core_start, marked=False)
            kept.append(clock)
    return dates, kept


def _choose(
    text: str, dates: list[_Found], times: list[_Found]
) -> tuple[_Found | None, _Found | None]:
    """The due's date (marked before bare, then first) and the time beside it."""
    readable = [f for f in dates if f.value is not None]
    clocks = [f for f in times if f.value is not None]
    if not readable:
        return None, (clocks[0] if clocks else None)
    day = min(readable, key=lambda f: (not f.marked, f.start))
    if not day.takes_time:
        return day, None
    after = next((f for f in clocks if f.start >= day.end), None)
    if after is not None and words.GAP.fullmatch(text, day.end, after.start):
        return day, after
    before = next((f for f in reversed(clocks) if f.end <= day.start), None)
    if before is not None and words.GAP.fullmatch(text, before.end, day.start):
        return day, before
    return day, None


def _due(day: _Found | None, clock: _Found | None, now: datetime) -> date | datetime | None:
    at = clock.value if clock is not None and isinstance(clock.value, _Clock) else None
    if day is None:
        return None if at is None else _next_at(at, now)
    if isinstance(day.value, datetime) or not isinstance(day.value, date):
        return None if isinstance(day.value, _Clock) else day.value  # "in 3 hours"
    if at is None:
        return _local(day.value, words.EVENING_HOUR, 0, now.tzinfo) if day.evening else day.value
    hour = at.hour + 12 if day.evening and at.may_be_evening else at.hour
    return _local(day.value, hour, at.minute, now.tzinfo)


def _next_at(at: _Clock, now: datetime) -> datetime | None:
    """Today at that time if it is still ahead, else tomorrow."""
    today = _local(now.date(), at.hour, at.minute, now.tzinfo)
    if today is not None and today > now:
        return today
    tomorrow = _plus_days(now.date(), 1)
    return None if tomorrow is None else _local(tomorrow, at.hour, at.minute, now.tzinfo)


def _local(day: date, hour: int, minute: int, zone: tzinfo | None) -> datetime | None:
    """The wall time in `zone`, normalised through UTC (see the module's note on DST)."""
    wall = datetime.combine(day, time(hour, minute), tzinfo=zone)
    if zone is None:
        return wall
    try:
        return wall.astimezone(UTC).astimezone(zone)
    except (OverflowError, ValueError):  # 9999-12-31 23:00 in New York is past year 9999
        return None


def _elapsed(now: datetime, unit: str, count: int) -> datetime | None:
    try:
        later = now.astimezone(UTC) + timedelta(**{unit: count})  # elapsed, not wall, time
        return later.astimezone(now.tzinfo).replace(second=0, microsecond=0)
    except (OverflowError, ValueError):
        return None


def _plus_days(day: date, days: int) -> date | None:
    try:
        return day + timedelta(days=days)
    except OverflowError:
        return None


def _plus_months(day: date, months: int) -> date | None:
    year, month = divmod(day.year * 12 + day.month - 1 + months, 12)
    if not 1 <= year <= 9999:
        return None
    return date(year, month + 1, min(day.day, _days_in(year, month + 1)))


def _days_in(year: int, month: int) -> int:
    """Without `calendar`, whose import pulls in `locale`."""
    if month == 12:
        return 31
    return (date(year, month + 1, 1) - timedelta(days=1)).day


def _calendar_date(year: str, month: str, day: str) -> date | None:
    try:
        return date(int(year), int(month), int(day))
    except ValueError:
        return None


def _next_occurrence(month: int, day: int, today: date) -> date | None:
    """The next month-day on or after today; 29 Feb can be up to eight years away."""
    for year in range(today.year, min(today.year + 9, 10_000)):
        try:
            candidate = date(year, month, day)
        except ValueError:
            continue
        if candidate >= today:
            return candidate
    return None


def _misspellings(text: str, found: list[_Found]) -> list[tuple[int, str]]:
    starts = sorted(f.start for f in found)
    ends = {f.start: f.end for f in found}
    misspelt = []
    for match in islice(words.WORD.finditer(text), _MAX_TYPO_WORDS):
        i = bisect.bisect_right(starts, match.start()) - 1
        if i >= 0 and match.start() < ends[starts[i]]:
            continue  # part of a date already read (or found unreadable)
        if words.looks_misspelt(match.group().lower()):
            misspelt.append((match.start(), match.group()))
    return misspelt
