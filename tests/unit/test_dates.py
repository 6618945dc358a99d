"""Reading dues, case by case, against fixed clocks in three zones.

UTC: Thursday 2026-11-26 10:00. New York: Saturday 2027-03-13 22:00 EST, the night
before clocks go forward (02:00-03:00 on Sunday does not exist), and Saturday
2027-11-06 22:00 EDT, the night before they go back (01:00-02:00 happens twice).
Kiritimati (UTC+14): Friday 2026-11-27 05:00, still Thursday in UTC.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.dates import read_due

NOW = {
    "utc": datetime(2026, 11, 26, 10, 0, tzinfo=ZoneInfo("UTC")),
    "ny": datetime(2027, 3, 13, 22, 0, tzinfo=ZoneInfo("America/New_York")),
    "ny-fall": datetime(2027, 11, 6, 22, 0, tzinfo=ZoneInfo("America/New_York")),
    "kiritimati": datetime(2026, 11, 27, 5, 0, tzinfo=ZoneInfo("Pacific/Kiritimati")),
}
assert NOW["utc"].strftime("%A") == "Thursday" and NOW["kiritimati"].strftime("%A") == "Friday"
assert NOW["kiritimati"].astimezone(ZoneInfo("UTC")).date() == date(2026, 11, 26)

# (clock, text) -> (due as ISO or None, the text left, unread)
CASES: list[tuple[str, str, str | None, str, tuple[str, ...]]] = [
    # days
    ("utc", "today", "2026-11-26", "", ()),
    ("utc", "call mom today", "2026-11-26", "call mom", ()),
    ("utc", "Tomorrow gym", "2026-11-27", "gym", ()),
    ("utc", "the day after tomorrow", "2026-11-28", "", ()),
    ("utc", "tonight", "2026-11-26T20:00:00+00:00", "", ()),
    ("utc", "movie tonight at 9", "2026-11-26T21:00:00+00:00", "movie", ()),
    # weekdays: the next one strictly after today; "next" changes nothing
    ("utc", "dentist friday", "2026-11-27", "dentist", ()),
    ("utc", "gym thursday", "2026-12-03", "gym", ()),
    ("utc", "next monday", "2026-11-30", "", ()),
    ("utc", "mon standup", "2026-11-30", "standup", ()),
    ("utc", "slides by wednesday", "2026-12-02", "slides", ()),
    ("utc", "on Friday dentist", "2026-11-27", "dentist", ()),
    ("utc", "report due sunday", "2026-11-29", "report", ()),
    ("utc", "prepare friday slides by monday", "2026-11-30", "prepare friday slides", ()),
    ("utc", "x friday saturday", "2026-11-27", "x saturday", ()),
    ("utc", "buy sun cream", None, "buy sun cream", ()),
    ("utc", "picnic on sun", "2026-11-29", "picnic", ()),
    # relative
    ("utc", "in 3 days", "2026-11-29", "", ()),
    ("utc", "renew in 2 weeks", "2026-12-10", "renew", ()),
    ("utc", "in a week", "2026-12-03", "", ()),
    ("utc", "in 3 months", "2027-02-26", "", ()),
    ("utc", "in 2 hours", "2026-11-26T12:00:00+00:00", "", ()),
    ("utc", "tea in 30 minutes", "2026-11-26T10:30:00+00:00", "tea", ()),
    ("utc", "next week", "2026-11-30", "", ()),
    ("utc", "taxes end of the month", "2026-11-30", "taxes", ()),
    ("utc", "end of week", "2026-11-29", "", ()),
    ("utc", "in 999999999 weeks", None, "in 999999999 weeks", ("in 999999999 weeks",)),
    # calendar dates; a year-less one is the next on or after today
    ("utc", "party on dec 31", "2026-12-31", "party", ()),
    ("utc", "31 dec", "2026-12-31", "", ()),
    ("utc", "December 31st", "2026-12-31", "", ()),
    ("utc", "31st of december", "2026-12-31", "", ()),
    ("utc", "may 5", "2027-05-05", "", ()),
    ("utc", "march 3, 2028", "2028-03-03", "", ()),
    ("utc", "feb 29", "2028-02-29", "", ()),
    ("utc", "renew passport 2026-12-01", "2026-12-01", "renew passport", ()),
    ("utc", "31.12.2026", "2026-12-31", "", ()),
    ("utc", "31.12.26", "2026-12-31", "", ()),
    ("utc", "31.12.", "2026-12-31", "", ()),
    ("utc", "31.12", "2026-12-31", "", ()),
    ("utc", "26.11.", "2026-11-26", "", ()),
    ("utc", "25.11.", "2027-11-25", "", ()),
    ("utc", "9999-12-31", "9999-12-31", "", ()),
    # times: alone, today if still ahead, else tomorrow
    ("utc", "meeting 9am", "2026-11-27T09:00:00+00:00", "meeting", ()),
    ("utc", "call bob at 5pm", "2026-11-26T17:00:00+00:00", "call bob", ()),
    ("utc", "5:30 p.m. train", "2026-11-26T17:30:00+00:00", "train", ()),
    ("utc", "17:30", "2026-11-26T17:30:00+00:00", "", ()),
    ("utc", "at 9", "2026-11-27T09:00:00+00:00", "", ()),
    ("utc", "at 17", "2026-11-26T17:00:00+00:00", "", ()),
    ("utc", "noon lunch", "2026-11-26T12:00:00+00:00", "lunch", ()),
    ("utc", "12am", "2026-11-27T00:00:00+00:00", "", ()),
    # times with a date beside them
    ("utc", "tomorrow 9am gym", "2026-11-27T09:00:00+00:00", "gym", ()),
    ("utc", "9am tomorrow", "2026-11-27T09:00:00+00:00", "", ()),
    ("utc", "friday at 17:30", "2026-11-27T17:30:00+00:00", "", ()),
    ("utc", "at 5pm on friday", "2026-11-27T17:00:00+00:00", "", ()),
    ("utc", "by friday, 5pm", "2026-11-27T17:00:00+00:00", "", ()),
    ("utc", "2026-12-31 23:00 fireworks", "2026-12-31T23:00:00+00:00", "fireworks", ()),
    ("utc", "tomorrow call bob at 5pm", "2026-11-27", "call bob at 5pm", ()),
    # not dates
    ("utc", "read today's paper", None, "read today's paper", ()),
    ("utc", "buy 3 apples", None, "buy 3 apples", ()),
    ("utc", "may I help", None, "may I help", ()),
    ("utc", "upgrade python 3.11", None, "upgrade python 3.11", ()),
    ("utc", "pay 12.50", None, "pay 12.50", ()),
    ("utc", "read chapter 1.5.", None, "read chapter 1.5.", ()),
    ("utc", "at 9 call bob", None, "at 9 call bob", ()),
    ("utc", "before midnight", None, "before midnight", ()),
    ("utc", "tomorrowland tickets", None, "tomorrowland tickets", ()),
    ("utc", "todo !p1 #x", None, "todo !p1 #x", ()),
    # unread: shapes that fail, glued phrases, misspellings
    ("utc", "pay 2026-02-30 bill", None, "pay 2026-02-30 bill", ("2026-02-30",)),
    ("utc", "31.13.2026", None, "31.13.2026", ("31.13.2026",)),
    ("utc", "rent 31.02.2026", None, "rent 31.02.2026", ("31.02.2026",)),
    ("utc", "32 dec", None, "32 dec", ("32 dec",)),
    ("utc", "25:00", None, "25:00", ("25:00",)),
    ("utc", "13pm", None, "13pm", ("13pm",)),
    ("utc", "gym tommorow", None, "gym tommorow", ("tommorow",)),
    ("utc", "wednesay review", None, "wednesay review", ("wednesay",)),
    ("utc", "nextweek", None, "nextweek", ("nextweek",)),
    ("utc", "2026-02-30 or friday", "2026-11-27", "2026-02-30 or", ("2026-02-30",)),
    # German
    ("utc", "heute einkaufen", "2026-11-26", "einkaufen", ()),
    ("utc", "zahnarzt morgen", "2026-11-27", "zahnarzt", ()),
    ("utc", "Morgen Zahnarzt", "2026-11-27", "Zahnarzt", ()),
    ("utc", "Guten Morgen sagen", None, "Guten Morgen sagen", ()),
    ("utc", "heute Morgen joggen", "2026-11-26", "Morgen joggen", ()),
    ("utc", "übermorgen", "2026-11-28", "", ()),
    ("utc", "am Freitag Zahnarzt", "2026-11-27", "Zahnarzt", ()),
    ("utc", "bis montag", "2026-11-30", "", ()),
    ("utc", "zahnarzt am freitag um 9 uhr", "2026-11-27T09:00:00+00:00", "zahnarzt", ()),
    ("utc", "um 9 am Freitag", "2026-11-27T09:00:00+00:00", "", ()),
    ("utc", "um 17 am Freitag", "2026-11-27T17:00:00+00:00", "", ()),
    ("utc", "meeting 9 am friday", "2026-11-27T09:00:00+00:00", "meeting", ()),
    ("utc", "um 9", "2026-11-27T09:00:00+00:00", "", ()),
    ("utc", "9 uhr", "2026-11-27T09:00:00+00:00", "", ()),
    ("utc", "um 17 uhr", "2026-11-26T17:00:00+00:00", "", ()),
    ("utc", "in 3 tagen", "2026-11-29", "", ()),
    ("utc", "preis um 5 euro senken", None, "preis um 5 euro senken", ()),
    ("utc", "bis 31.12.", "2026-12-31", "", ()),
    ("utc", "31. Dezember", "2026-12-31", "", ()),
    ("utc", "nächste Woche", "2026-11-30", "", ()),
    ("utc", "25 uhr", None, "25 uhr", ("25 uhr",)),
    # Russian
    ("utc", "сегодня позвонить", "2026-11-26", "позвонить", ()),
    ("utc", "завтра", "2026-11-27", "", ()),
    ("utc", "послезавтра", "2026-11-28", "", ()),
    ("utc", "отчёт в пятницу", "2026-11-27", "отчёт", ()),
    ("utc", "отчёт к пятнице", "2026-11-27", "отчёт", ()),
    ("utc", "до понедельника", "2026-11-30", "", ()),
    ("utc", "в среду", "2026-12-02", "", ()),
    ("utc", "настроить среду", None, "настроить среду", ()),
    ("utc", "уборка в субботу", "2026-11-28", "уборка", ()),
    ("utc", "завтра в 9", "2026-11-27T09:00:00+00:00", "", ()),
    ("utc", "в 9:00", "2026-11-27T09:00:00+00:00", "", ()),
    ("utc", "в 7 вечера", "2026-11-26T19:00:00+00:00", "", ()),
    ("utc", "купить в 3 магазинах", None, "купить в 3 магазинах", ()),
    ("utc", "через 3 дня", "2026-11-29", "", ()),
    ("utc", "через 2 недели", "2026-12-10", "", ()),
    ("utc", "через неделю", "2026-12-03", "", ()),
    ("utc", "31 декабря", "2026-12-31", "", ()),
    ("utc", "завтрак с Аней", None, "завтрак с Аней", ()),
    ("utc", "завтра завтрак", "2026-11-27", "завтрак", ()),
    # New York, the night before the clocks go forward
    ("ny", "today", "2027-03-13", "", ()),
    ("ny", "tomorrow", "2027-03-14", "", ()),
    ("ny", "tomorrow 9am", "2027-03-14T09:00:00-04:00", "", ()),
    ("ny", "tomorrow 2:30am", "2027-03-14T03:30:00-04:00", "", ()),  # after the gap
    ("ny", "at 2:30", "2027-03-14T03:30:00-04:00", "", ()),
    ("ny", "at 11pm", "2027-03-13T23:00:00-05:00", "", ()),
    ("ny", "at 9", "2027-03-14T09:00:00-04:00", "", ()),
    ("ny", "in 3 hours", "2027-03-14T01:00:00-05:00", "", ()),
    ("ny", "in 5 hours", "2027-03-14T04:00:00-04:00", "", ()),  # elapsed, not wall, hours
    ("ny", "tonight", "2027-03-13T20:00:00-05:00", "", ()),  # already past: as written
    ("ny", "monday 8:00", "2027-03-15T08:00:00-04:00", "", ()),
    ("ny", "end of month", "2027-03-31", "", ()),
    ("ny", "9999-12-31 23:00", None, "9999-12-31 23:00", ("9999-12-31",)),
    # New York, the night before the clocks go back: the first 01:30
    ("ny-fall", "tomorrow 1:30am", "2027-11-07T01:30:00-04:00", "", ()),
    ("ny-fall", "tomorrow 9am", "2027-11-07T09:00:00-05:00", "", ()),
    # Kiritimati: the local date, not UTC's
    ("kiritimati", "today", "2026-11-27", "", ()),
    ("kiritimati", "tomorrow", "2026-11-28", "", ()),
    ("kiritimati", "friday", "2026-12-04", "", ()),
    ("kiritimati", "at 9", "2026-11-27T09:00:00+14:00", "", ()),
    ("kiritimati", "at 4", "2026-11-28T04:00:00+14:00", "", ()),
    ("kiritimati", "in 2 hours", "2026-11-27T07:00:00+14:00", "", ()),
    ("kiritimati", "26.11.", "2027-11-26", "", ()),
    ("kiritimati", "heute", "2026-11-27", "", ()),
]


@pytest.mark.parametrize(
    ("clock", "text", "due", "rest", "unread"),
    CASES,
    ids=[f"{clock}: {text}" for clock, text, *_ in CASES],
)
def test_reading(
    clock: str, text: str, due: str | None, rest: str, unread: tuple[str, ...]
) -> None:
    now = NOW[clock]
    reading = read_due(text, now)
    assert (reading.due.isoformat() if reading.due else None, " ".join(reading.text.split()),
            reading.unread) == (due, rest, unread)  # fmt: skip
    if isinstance(reading.due, datetime):
        assert reading.due.tzinfo is now.tzinfo


def test_the_table_is_large() -> None:
    assert len(CASES) >= 60


@pytest.mark.parametrize(
    "text",
    ["", " ", "\x00", "\ud800", "9" * 5000, "in " + "9" * 5000 + " days", "31.12." * 3,
     "0000-01-01", "00:00", "0am", "0 dec", "dec 0", "feb 30", "9999-12-31", "monatsende",
     "31.12.9999 23:59", "in 99 months", "в 99 часов", "@ 9", "at 09.99", "ｔｏｍｏｒｒｏｗ"],
)  # fmt: skip
@pytest.mark.parametrize("clock", NOW)
def test_odd_input_never_raises(text: str, clock: str) -> None:
    read_due(text, NOW[clock])


_DATE_ISH = st.sampled_from(
    ["today", "tomorrow", "friday", "by", "am", "в", "at", "9", "17:30", "9am", "31.12.",
     "2026-02-30", "dec", "31", "in", "3", "days", "hours", "morgen", "Morgen", "um", "uhr",
     "tonight", ",", " ", "  ", "next", "week", "end of", "month", "tommorow", "!", "'s"]
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(_DATE_ISH, st.text(max_size=5)), max_size=12), st.sampled_from(list(NOW)))
def test_any_mix_of_date_words_reads_without_raising(parts: list[str], clock: str) -> None:
    text = " ".join(parts)
    reading = read_due(text, NOW[clock])
    if reading.due is None:
        assert reading.text == text  # nothing is taken unless a due is read
    elif isinstance(reading.due, datetime):
        assert reading.due.tzinfo is NOW[clock].tzinfo and reading.due.second == 0
    assert all(word in text for word in reading.unread)


@pytest.mark.parametrize(
    ("text", "due"),
    [
        (" " * 100_000 + "tomorrow", date(2026, 11, 27)),
        ("9" * 100_000, None),
        ("in " * 50_000, None),
        ("at " * 50_000 + "9", datetime(2026, 11, 27, 9, 0, tzinfo=NOW["utc"].tzinfo)),
        ("by " * 50_000, None),
        ("31.12." * 30_000, None),
        ("12:" * 50_000, None),
        ("dec " * 50_000, None),
        ("tommorow " * 20_000, None),
        ("in" + " " * 100_000 + "3 days", date(2026, 11, 29)),
        ("heute" + " " * 100_000 + "x", date(2026, 11, 26)),
    ],
    ids=["spaces", "digits", "in", "at", "by", "dots", "colons", "months", "typos",
         "spread out", "heute"],
)  # fmt: skip
def test_long_input_is_read_in_linear_time(text: str, due: date | None) -> None:
    assert read_due(text, NOW["utc"]).due == due
