"""The extraction port: turning what the owner said into todos, notes, tracks and decisions.

Two implementations exist: the deterministic `RulesExtractor` (`domain/rules_extractor.py`)
and an OpenAI-compatible LLM extractor in `infrastructure/` that falls back to the rules.
Whatever produced an `Extraction`, its items respect the caps below, so nothing downstream
has to defend against a runaway model or a pasted novel.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal, Protocol

Priority = Literal["low", "normal", "high", "urgent"]
PRIORITIES: tuple[Priority, ...] = ("low", "normal", "high", "urgent")

MAX_ITEMS = 20
MAX_TITLE_LENGTH = 200
MAX_TAGS = 20
MAX_TAG_LENGTH = 50
MAX_OPTIONS = 20
DEFAULT_CHECK_IN_DAYS = 7
MAX_CHECK_IN_DAYS = 365


@dataclass(frozen=True)
class ExtractedTodo:
    title: str
    description: str | None = None
    priority: Priority = "normal"
    due: date | datetime | None = None  # a datetime, aware, when a time of day was named
    tags: tuple[str, ...] = ()
    unread_dates: tuple[str, ...] = ()  # date-like words the rules could not read


@dataclass(frozen=True)
class ExtractedNote:
    title: str
    content: str
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class ExtractedTrack:
    title: str
    description: str | None = None
    check_in_every: int = DEFAULT_CHECK_IN_DAYS  # days


@dataclass(frozen=True)
class ExtractedDecision:
    title: str
    rationale: str | None = None
    options: tuple[str, ...] = ()
    review_on: date | None = None  # when to look back at how it turned out
    supersedes: int | None = None  # the number of the active decision it replaces


ExtractedItem = ExtractedTodo | ExtractedNote | ExtractedTrack | ExtractedDecision


@dataclass(frozen=True)
class Extraction:
    """What one extractor made of one text.

    `extractor` names what produced the items ("rules" or "llm"). When the LLM failed and
    the rules answered instead, `extractor` is "rules" and `fallback_reason` says why in a
    few words ("timeout", "http 429", "invalid output").
    """

    items: tuple[ExtractedItem, ...]
    extractor: str
    model: str | None = None
    fallback_reason: str | None = None


class Extractor(Protocol):
    async def extract(self, text: str, *, now: datetime) -> Extraction:
        """`now` is aware and in the owner's time zone: relative dates resolve there."""
        ...


def collapse_whitespace(text: str) -> str:
    return " ".join(text.split())


def clip(text: str, limit: int = MAX_TITLE_LENGTH) -> str:
    """Shortens `text` to at most `limit` characters, at a word boundary when one is near."""
    if len(text) <= limit:
        return text
    cut = text[:limit]
    # Only back off to a space when it keeps most of the text; one long word is cut hard.
    space = cut.rfind(" ")
    if space >= limit // 2:
        cut = cut[:space]
    return cut.rstrip()


def normalise_tags(raw_tags: Iterable[str]) -> tuple[str, ...]:
    """Lowercased, without '#', deduplicated in first-seen order, at most `MAX_TAGS`."""
    tags: list[str] = []
    for raw in raw_tags:
        tag = raw.strip().lstrip("#").strip().lower()[:MAX_TAG_LENGTH]
        if tag and tag not in tags:
            tags.append(tag)
            if len(tags) == MAX_TAGS:
                break
    return tuple(tags)
