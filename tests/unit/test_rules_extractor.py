"""The rules extractor, case by case, against a fixed now (Thursday 2026-11-26 10:00 UTC)."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime

import pytest

from domain.extraction import (
    MAX_TAGS,
    MAX_TITLE_LENGTH,
    ExtractedDecision,
    ExtractedItem,
    ExtractedNote,
    ExtractedTodo,
    ExtractedTrack,
)
from domain.rules_extractor import RulesExtractor, explicit_prefix

NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
TODAY = NOW.date()
assert TODAY.strftime("%A") == "Thursday"


async def extract_one(text: str) -> ExtractedItem | None:
    extraction = await RulesExtractor().extract(text, now=NOW)
    assert extraction.extractor == "rules"
    assert extraction.model is None and extraction.fallback_reason is None
    assert len(extraction.items) <= 1
    return extraction.items[0] if extraction.items else None


CASES: dict[str, tuple[str, ExtractedItem | None]] = {
    # prefixes
    "todo prefix": ("todo: buy milk", ExtractedTodo("buy milk")),
    "prefix case and spaces": ("  ToDo  :   buy   milk  ", ExtractedTodo("buy milk")),
    "note prefix": ("NOTE: hello", ExtractedNote("hello", "hello")),
    "track prefix": ("Track: sleep", ExtractedTrack("sleep")),
    "decide prefix": ("decide: go", ExtractedDecision("go")),
    "decision prefix": ("DECISION: go", ExtractedDecision("go")),
    "unprefixed": ("buy milk tomorrow", None),
    "prefix not at start": ("please todo: buy milk", None),
    "empty title": ("todo:   ", None),
    # todo priorities
    "urgent": ("todo: !urgent fix prod", ExtractedTodo("fix prod", priority="urgent")),
    "high": ("todo: call bank !HIGH", ExtractedTodo("call bank", priority="high")),
    "low": ("todo: water plants !low", ExtractedTodo("water plants", priority="low")),
    "normal": ("todo: read !normal", ExtractedTodo("read", priority="normal")),
    "first priority wins": ("todo: x !low !high", ExtractedTodo("x", priority="low")),
    "bang inside a word": ("todo: wow!high", ExtractedTodo("wow!high")),
    "medium is normal": ("todo: read !Medium", ExtractedTodo("read", priority="normal")),
    "p1 is high": ("todo: !p1 call bank", ExtractedTodo("call bank", priority="high")),
    "p2 is normal": ("todo: !P2 call bank", ExtractedTodo("call bank", priority="normal")),
    "p3 is low": ("todo: call bank !p3", ExtractedTodo("call bank", priority="low")),
    "other bangs stay": (
        "todo: !p0 !important !p12 x",
        ExtractedTodo("!p0 !important !p12 x", priority="normal"),
    ),
    # todo tags
    "tags": (
        "todo: buy #Home milk #errands #home",
        ExtractedTodo("buy milk", tags=("home", "errands")),
    ),
    "hyphenated tag": ("todo: plan #deep-work", ExtractedTodo("plan", tags=("deep-work",))),
    "hash inside a word": ("todo: learn C#", ExtractedTodo("learn C#")),
    "only tags": ("todo: #a #b", None),
    # todo due dates
    "iso date": (
        "todo: renew passport 2026-12-01",
        ExtractedTodo("renew passport", due=date(2026, 12, 1)),
    ),
    "due iso": ("todo: pay rent due 2027-01-05", ExtractedTodo("pay rent", due=date(2027, 1, 5))),
    "by iso": (
        "todo: file taxes by 2027-04-30",
        ExtractedTodo("file taxes", due=date(2027, 4, 30)),
    ),
    "invalid iso stays": (
        "todo: pay 2026-02-30 bill",
        ExtractedTodo("pay 2026-02-30 bill", unread_dates=("2026-02-30",)),
    ),
    "misspelt date stays": (
        "todo: gym tommorow",
        ExtractedTodo("gym tommorow", unread_dates=("tommorow",)),
    ),
    "time of day": (
        "todo: tomorrow 9am gym",
        ExtractedTodo("gym", due=datetime(2026, 11, 27, 9, 0, tzinfo=UTC)),
    ),
    "time alone": (
        "todo: call bob at 5pm",
        ExtractedTodo("call bob", due=datetime(2026, 11, 26, 17, 0, tzinfo=UTC)),
    ),
    "german": (
        "todo: Zahnarzt am Freitag um 9 Uhr !p1",
        ExtractedTodo("Zahnarzt", priority="high", due=datetime(2026, 11, 27, 9, 0, tzinfo=UTC)),
    ),
    "russian": (
        "todo: отчёт к пятнице #работа",
        ExtractedTodo("отчёт", due=date(2026, 11, 27), tags=("работа",)),
    ),
    "today": ("todo: call mom today", ExtractedTodo("call mom", due=TODAY)),
    "tomorrow": ("todo: Tomorrow gym", ExtractedTodo("gym", due=date(2026, 11, 27))),
    "due tomorrow": ("todo: report due tomorrow", ExtractedTodo("report", due=date(2026, 11, 27))),
    "weekday": ("todo: dentist friday", ExtractedTodo("dentist", due=date(2026, 11, 27))),
    "on weekday": ("todo: dentist on Monday", ExtractedTodo("dentist", due=date(2026, 11, 30))),
    "by weekday": ("todo: slides by wednesday", ExtractedTodo("slides", due=date(2026, 12, 2))),
    "due weekday": ("todo: slides due sunday", ExtractedTodo("slides", due=date(2026, 11, 29))),
    "today's weekday is next week": (
        "todo: gym thursday",
        ExtractedTodo("gym", due=date(2026, 12, 3)),
    ),
    "marked date wins": (
        "todo: prepare friday slides by monday",
        ExtractedTodo("prepare friday slides", due=date(2026, 11, 30)),
    ),
    "first bare date wins": (
        "todo: x friday saturday",
        ExtractedTodo("x saturday", due=date(2026, 11, 27)),
    ),
    "possessive is not a date": ("todo: read today's paper", ExtractedTodo("read today's paper")),
    "only a date": ("todo: tomorrow", None),
    "everything": (
        "todo: !high #work send report by friday #q4",
        ExtractedTodo("send report", priority="high", due=date(2026, 11, 27), tags=("work", "q4")),
    ),
    # notes
    "note tags": (
        "note: Idea #Product\nship it #later #product",
        ExtractedNote("Idea", "Idea #Product\nship it #later #product", ("product", "later")),
    ),
    "note title from first non-tag line": (
        "note: #x\n  body text",
        ExtractedNote("body text", "#x\n  body text", ("x",)),
    ),
    "note only tags": ("note: #a #b", None),
    # tracks
    "daily": ("track: meditation daily", ExtractedTrack("meditation", check_in_every=1)),
    "every day": ("track: Every Day stretch", ExtractedTrack("stretch", check_in_every=1)),
    "weekly": ("track: weekly review", ExtractedTrack("review", check_in_every=7)),
    "every week": ("track: budget every week", ExtractedTrack("budget", check_in_every=7)),
    "every n days": ("track: run every 3 days", ExtractedTrack("run", check_in_every=3)),
    "every 1 day": ("track: run every 1 day", ExtractedTrack("run", check_in_every=1)),
    "every n weeks": ("track: haircut every 4 weeks", ExtractedTrack("haircut", check_in_every=28)),
    "every 0 days stays": ("track: x every 0 days", ExtractedTrack("x every 0 days")),
    "too rare stays": ("track: x every 9999 days", ExtractedTrack("x every 9999 days")),
    "default frequency": ("track: weight", ExtractedTrack("weight", check_in_every=7)),
    "only a frequency": ("track: daily", None),
    # decisions
    "because": (
        "decide: use postgres because it is boring",
        ExtractedDecision("use postgres", "it is boring"),
    ),
    "first because splits": (
        "decision: move BECAUSE rent because commute",
        ExtractedDecision("move", "rent because commute"),
    ),
    "because inside a word": ("decide: becausey thing", ExtractedDecision("becausey thing")),
    "options clause": (
        "decide: which db options: postgres, sqlite or duckdb because ops",
        ExtractedDecision("which db", "ops", ("postgres", "sqlite", "duckdb")),
    ),
    "options clause after because": (
        "decide: db because simple options: a; b",
        ExtractedDecision("db", "simple", ("a", "b")),
    ),
    "versus parenthetical": (
        "decide: laptop (mac vs thinkpad vs. framework) because battery",
        ExtractedDecision(
            "laptop (mac vs thinkpad vs. framework)", "battery", ("mac", "thinkpad", "framework")
        ),
    ),
    "parenthetical without vs": ("decide: stay (for now)", ExtractedDecision("stay (for now)")),
    "no title before because": ("decide: because reasons", None),
}


@pytest.mark.parametrize(("text", "expected"), CASES.values(), ids=CASES.keys())
async def test_rules(text: str, expected: ExtractedItem | None) -> None:
    assert await extract_one(text) == expected


@pytest.mark.parametrize(
    ("text", "kind"),
    [("todo: x", "todo"), (" Decide: x", "decision"), ("decision:x", "decision"), ("x", None)],
)
def test_explicit_prefix(text: str, kind: str | None) -> None:
    assert explicit_prefix(text) == kind


async def test_long_title_is_clipped_and_kept_whole_as_description() -> None:
    words = " ".join(f"word{i}" for i in range(100))
    item = await extract_one(f"todo: {words}")
    assert isinstance(item, ExtractedTodo)
    assert len(item.title) <= MAX_TITLE_LENGTH
    assert words.startswith(item.title) and not item.title.endswith(" ")
    assert item.description == words


async def test_note_title_is_cut_at_a_word_boundary() -> None:
    item = await extract_one("note: " + "lorem ipsum " * 20)
    assert isinstance(item, ExtractedNote)
    assert len(item.title) <= 80
    assert item.content.startswith(item.title + " ")  # whole words only


async def test_tags_are_capped() -> None:
    item = await extract_one("todo: x " + " ".join(f"#t{i}" for i in range(50)))
    assert isinstance(item, ExtractedTodo)
    assert item.title == "x"
    assert item.tags == tuple(f"t{i}" for i in range(MAX_TAGS))


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   \n\t ",
        "todo:",
        "note:\n\n",
        "decide: options:",
        "todo: \ud800 lone surrogate",
        "\x00todo: nul",
        "todo: 明天 买牛奶 #日本 !high ☃",
        "track: every " + "9" * 50 + " days",
        "todo: " + "(" * 10_000,
    ],
)
async def test_odd_input_never_raises(text: str) -> None:
    await extract_one(text)


@pytest.mark.parametrize(
    "text",
    [
        "todo: " + " " * 500_000 + "x",
        "todo: " + "due " * 100_000,
        "track: " + "every " * 100_000,
        "decide: options:" + " " * 500_000 + "because",
        "decide: " + "( vs " * 100_000,
        "note: " + "#tag " * 100_000,
        "todo: " + "#a" * 100_000,
    ],
    ids=["spaces", "due", "every", "options", "versus", "tags", "glued tags"],
)
async def test_huge_input_is_handled_in_linear_time(text: str) -> None:
    started = time.perf_counter()
    item = await extract_one(text)
    assert time.perf_counter() - started < 2.0
    assert item is None or len(item.title) <= MAX_TITLE_LENGTH
