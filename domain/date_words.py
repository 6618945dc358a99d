"""The words and shapes `domain/dates.py` reads, in English, German and Russian.

Every pattern opens with a lookbehind and keeps each `\\s+` right after a literal, so it
runs in linear time on untrusted text: re retries a match at every position, and a
pattern that could start on whitespace would rescan a long run of it from each one.
Each has a `core` group (the words without their marker: what `unread` reports) and an
optional `marker` group (`by`, `bis`, `к`, ...), which makes a date win over bare ones.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from difflib import get_close_matches
from functools import lru_cache

WEEKDAYS: dict[str, int] = {
    "monday": 0, "mon": 0, "tuesday": 1, "tues": 1, "tue": 1, "wednesday": 2, "wed": 2,
    "thursday": 3, "thurs": 3, "thur": 3, "thu": 3, "friday": 4, "fri": 4,
    "saturday": 5, "sat": 5, "sunday": 6, "sun": 6,
    "montag": 0, "dienstag": 1, "mittwoch": 2, "donnerstag": 3, "freitag": 4,
    "samstag": 5, "sonnabend": 5, "sonntag": 6,
    # Russian: nominative, accusative (в пятницу), dative (к пятнице), genitive (до пятницы)
    "понедельник": 0, "понедельника": 0, "понедельнику": 0,
    "вторник": 1, "вторника": 1, "вторнику": 1,
    "среда": 2, "среду": 2, "среды": 2, "среде": 2,
    "четверг": 3, "четверга": 3, "четвергу": 3,
    "пятница": 4, "пятницу": 4, "пятницы": 4, "пятнице": 4,
    "суббота": 5, "субботу": 5, "субботы": 5, "субботе": 5,
    "воскресенье": 6, "воскресенья": 6, "воскресенью": 6,
}  # fmt: skip
# Ordinary words too ("sun cream", "sat down", "среда разработки"): read only when marked.
WEEKDAYS_NEEDING_A_MARKER = frozenset({"sat", "sun", "среда", "среду", "среды", "среде"})

MONTHS: dict[str, int] = {
    "january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3, "april": 4,
    "apr": 4, "may": 5, "june": 6, "jun": 6, "july": 7, "jul": 7, "august": 8, "aug": 8,
    "september": 9, "sept": 9, "sep": 9, "october": 10, "oct": 10, "november": 11,
    "nov": 11, "december": 12, "dec": 12,
    "januar": 1, "jänner": 1, "februar": 2, "märz": 3, "maerz": 3, "mai": 5, "juni": 6,
    "juli": 7, "oktober": 10, "dezember": 12,
    "января": 1, "февраля": 2, "марта": 3, "апреля": 4, "мая": 5, "июня": 6, "июля": 7,
    "августа": 8, "сентября": 9, "октября": 10, "ноября": 11, "декабря": 12,
}  # fmt: skip

DAYS_AHEAD: dict[str, int] = {
    "today": 0, "tonight": 0, "tomorrow": 1, "day after tomorrow": 2,
    "the day after tomorrow": 2,
    "heute": 0, "heute abend": 0, "morgen": 1, "übermorgen": 2, "ubermorgen": 2,
    "uebermorgen": 2,
    "сегодня": 0, "сегодня вечером": 0, "завтра": 1, "послезавтра": 2,
}  # fmt: skip
EVENINGS = frozenset({"tonight", "heute abend", "сегодня вечером"})
EVENING_HOUR = 20

NUMBERS: dict[str, int] = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10,
    "einem": 1, "einer": 1, "einen": 1, "zwei": 2, "drei": 3, "vier": 4, "fünf": 5,
    "sechs": 6, "sieben": 7, "acht": 8, "neun": 9, "zehn": 10,
    "один": 1, "одну": 1, "два": 2, "две": 2, "три": 3, "четыре": 4, "пять": 5,
}  # fmt: skip

UNITS: dict[str, str] = {
    **dict.fromkeys(("minute", "minutes", "min", "mins", "minuten", "минуту", "минуты",
                     "минут"), "minutes"),
    **dict.fromkeys(("hour", "hours", "hr", "hrs", "stunde", "stunden", "час", "часа",
                     "часов"), "hours"),
    **dict.fromkeys(("day", "days", "tag", "tage", "tagen", "день", "дня", "дней"), "days"),
    **dict.fromkeys(("week", "weeks", "woche", "wochen", "неделю", "недели", "недель"),
                    "weeks"),
    **dict.fromkeys(("month", "months", "monat", "monate", "monaten", "месяц", "месяца",
                     "месяцев"), "months"),
}  # fmt: skip

# Hours after these words are in the afternoon or evening; after the others, the morning.
LATE_PARTS = frozenset({"pm", "вечера", "дня", "abends", "nachmittags"})
DAY_PARTS = ("утра", "дня", "вечера", "ночи", "abends", "morgens", "nachmittags", "vormittags")

# "Guten Morgen", "heute Morgen" (this morning), "am Morgen", "jeden Morgen".
WORDS_BEFORE_MORNING = frozenset({"guten", "gute", "heute", "am", "jeden", "diesen", "eines"})

# Misspellings are looked for among these; glued phrases are never right as typed.
TYPO_TARGETS = (
    "today", "tonight", "tomorrow", "monday", "tuesday", "wednesday", "thursday", "friday",
    "saturday", "sunday", "heute", "morgen", "übermorgen", "montag", "dienstag",
    "mittwoch", "donnerstag", "freitag", "samstag", "sonntag", "сегодня", "завтра",
    "послезавтра", "понедельник", "вторник", "четверг", "пятница", "пятницу", "суббота",
    "субботу", "воскресенье",
)  # fmt: skip
GLUED = frozenset({
    "nextweek", "endofmonth", "endofthemonth", "endofweek", "endoftheweek",
    "dayaftertomorrow", "nextmonday", "nexttuesday", "nextwednesday", "nextthursday",
    "nextfriday", "nextsaturday", "nextsunday", "nächstewoche",
})  # fmt: skip
# Real words (or names) that sit close to a date word.
NOT_TYPOS = frozenset({"frida", "morgan", "dienst", "dienste", "montage", "monda"})


def _alternatives(words: Iterable[str]) -> str:
    """An alternation that tries longer words first ("heute abend" before "heute")."""
    spelled = sorted(set(words), key=len, reverse=True)
    return "|".join(re.escape(word).replace(r"\ ", r"\s+") for word in spelled)


_END = r"(?![\w'’-])"  # "today's paper", "friday-ish" and "mayday" are not dates
_DATE_MARKER = (
    r"(?:(?P<marker>due|by|on|until|till|before|am|bis\s+zum|bis\s+zur|bis|vor|"
    r"в|во|к|ко|до|на)\s+)?"
)
_TIME_MARKER = r"(?:(?P<marker>at|by|until|um|bis|gegen|@|в|к|до)\s+)"
_OPTIONAL_TIME_MARKER = _TIME_MARKER + "?"
# ASCII digits only: "٣ dec" is not read, and int() never sees a digit it might misread.
_D12, _D2, _D4 = "[0-9]{1,2}", "[0-9]{2}", "[0-9]{4}"
_NUMBER = rf"(?:[0-9]{{1,9}}|{_alternatives(NUMBERS)})"
_ORDINAL = r"(?:st|nd|rd|th|\.)?"
_YEAR = rf"(?:,?\s+(?P<year>{_D4}))?"
_WORD_START = r"(?<!\w)(?=\w)"
# A numeric date does not follow a word, a point, a colon, a slash or a hyphen, so
# "v1.12." and "10.0.0.1" stay text.
_NUMERIC_START = r"(?<![\w.,:/-])(?=\w)"
_TIME_START = r"(?<![\w:.])(?=[\w@])"


def _pattern(*parts: str) -> re.Pattern[str]:
    return re.compile("".join(parts), re.IGNORECASE)


ISO_DATE = _pattern(
    _NUMERIC_START,
    _DATE_MARKER,
    rf"(?P<core>(?P<year>{_D4})-(?P<month>{_D12})-(?P<day>{_D12})){_END}",
)
# 31.12.2026, 31.12.26, 31.12.; never followed by another digit (a version, an address).
DOTTED_DATE = _pattern(
    _NUMERIC_START,
    _DATE_MARKER,
    rf"(?P<core>(?P<day>{_D12})\.(?P<month>{_D12})\.(?P<year>{_D4}|{_D2})?)",
    r"(?![\w'’-]|[.,:]?[0-9])",
)
# 31.12 without the closing point is also a decimal (12.50): two digits each, and a
# shape that fails is a number, not an unreadable date.
SHORT_DOTTED_DATE = _pattern(
    _NUMERIC_START,
    _DATE_MARKER,
    rf"(?P<core>(?P<day>{_D2})\.(?P<month>{_D2}))(?![\w'’.-]|[,:][0-9])",
)
MONTH_DAY = _pattern(
    _WORD_START,
    _DATE_MARKER,
    rf"(?P<core>(?P<month>{_alternatives(MONTHS)})\.?\s+(?P<day>{_D12}){_ORDINAL}{_YEAR})",
    r"(?![\w'’%-]|[.:,][0-9])",
)
DAY_MONTH = _pattern(
    _NUMERIC_START,
    _DATE_MARKER,
    rf"(?P<core>(?P<day>{_D12}){_ORDINAL}\s+(?:of\s+)?(?P<month>{_alternatives(MONTHS)})\.?",
    rf"{_YEAR}){_END}",
)
DAY_WORD = _pattern(_WORD_START, _DATE_MARKER, rf"(?P<core>{_alternatives(DAYS_AHEAD)}){_END}")
WEEKDAY = _pattern(
    _WORD_START,
    _DATE_MARKER,
    r"(?P<core>(?:(?P<modifier>next|this|coming|nächsten|nächster|nächste|kommenden|diesen|"
    r"следующий|следующую|следующее|следующей|эту|этот)\s+)?",
    rf"(?P<weekday>{_alternatives(WEEKDAYS)})){_END}",
)
RELATIVE = _pattern(
    _WORD_START,
    _DATE_MARKER,
    rf"(?P<core>(?P<lead>in|innerhalb|через)\s+(?:(?P<count>{_NUMBER})\s+)?",
    rf"(?P<unit>{_alternatives(UNITS)})){_END}",
)
NEXT_WEEK = _pattern(
    _WORD_START,
    _DATE_MARKER,
    r"(?P<core>(?:next|nächste|nächsten|kommende|следующей|следующая)\s+",
    rf"(?:week|woche|неделе|неделя)){_END}",
)
END_OF = _pattern(
    _WORD_START,
    _DATE_MARKER,
    r"(?P<core>(?:the\s+)?end\s+of\s+(?:the\s+|this\s+)?(?:month|week)",
    r"|ende\s+(?:des\s+|dieses\s+)?monats|ende\s+(?:der\s+|dieser\s+)?woche|monatsende",
    rf"|(?:конца|концу|конце)\s+(?:месяца|недели)){_END}",
)

_PART = rf"(?:\s+(?P<part>{_alternatives(DAY_PARTS)}))?"
# 9am, 9 am, 5:30pm, 9 a.m.; the hour must be 1-12.
MERIDIEM_TIME = _pattern(
    _TIME_START,
    _OPTIONAL_TIME_MARKER,
    rf"(?P<core>(?P<hour>{_D12})(?::(?P<minute>{_D2}))?\s?(?P<half>[ap])\.?m(?!\w)\.?)",
)
# 17:30, 9:00 uhr, в 9:00 вечера
CLOCK_TIME = _pattern(
    _TIME_START,
    _OPTIONAL_TIME_MARKER,
    rf"(?P<core>(?P<hour>{_D12}):(?P<minute>{_D2})(?:\s?(?:uhr|h)(?!\w))?{_PART})",
    r"(?![\w:]|\.[0-9])",
)
# at 9, um 9 uhr, в 9 утра: a bare hour needs the marker.
HOUR_TIME = _pattern(
    _TIME_START,
    _TIME_MARKER,
    rf"(?P<core>(?P<hour>{_D12})(?:\.(?P<minute>{_D2}))?",
    rf"(?:\s?(?P<suffix>uhr|o'clock|часов|часа|час)(?!\w))?{_PART})(?![\w:]|[.,][0-9])",
)
# 9 uhr, 9.30 uhr
UHR_TIME = _pattern(
    r"(?<![\w:.])(?=[0-9])",
    rf"(?P<core>(?P<hour>{_D12})(?:[.:](?P<minute>{_D2}))?\s?uhr)(?!\w)",
)
NOON = _pattern(_TIME_START, _OPTIONAL_TIME_MARKER, r"(?P<core>noon|midday|mittags|полдень)(?!\w)")

# A pattern runs only on text holding one of its clues (casefolded): most todos name no
# date, and a scan that cannot match costs as much as one that does.
_DIGITS = tuple("0123456789")
CLUES: dict[re.Pattern[str], tuple[str, ...]] = {
    ISO_DATE: _DIGITS, DOTTED_DATE: _DIGITS, SHORT_DOTTED_DATE: _DIGITS,
    MONTH_DAY: _DIGITS, DAY_MONTH: _DIGITS,
    DAY_WORD: tuple(word for word in DAYS_AHEAD if " " not in word),
    WEEKDAY: tuple(WEEKDAYS), RELATIVE: tuple(UNITS),
    NEXT_WEEK: ("week", "woche", "недел"), END_OF: ("end", "конц"),
    MERIDIEM_TIME: _DIGITS, CLOCK_TIME: _DIGITS, HOUR_TIME: _DIGITS, UHR_TIME: _DIGITS,
    NOON: ("noon", "midday", "mittags", "полдень"),
}  # fmt: skip
DATE_PATTERNS = (
    ISO_DATE, DOTTED_DATE, SHORT_DOTTED_DATE, MONTH_DAY, DAY_MONTH, DAY_WORD, WEEKDAY,
    RELATIVE, NEXT_WEEK, END_OF,
)  # fmt: skip
TIME_PATTERNS = (MERIDIEM_TIME, CLOCK_TIME, HOUR_TIME, UHR_TIME, NOON)

WORD = re.compile(r"(?<![^\W\d_])[^\W\d_]{5,20}(?![^\W\d_])")  # typo candidates
NEXT_LETTER = re.compile(r"\s*(?=[^\W\d_])")  # a word follows (after spaces)
LAST_WORD = re.compile(r"([^\W\d_]{1,20})\s*$")
GAP = re.compile(r"[\s,]*")  # what may stand between a date and its time


_KNOWN_WORDS = frozenset([*WEEKDAYS, *MONTHS, *DAYS_AHEAD, *UNITS, *NUMBERS])


@lru_cache(maxsize=1024)
def looks_misspelt(word: str) -> bool:
    """A lowercased word that is a glued phrase or a close misspelling of a date word."""
    if word in GLUED:
        return True
    if word in _KNOWN_WORDS or word in NOT_TYPOS:
        return False
    if any(word.startswith(target) for target in TYPO_TARGETS):
        return False  # "tomorrowland", "fridays", "завтрак"
    return bool(get_close_matches(word, TYPO_TARGETS, n=1, cutoff=0.85))
