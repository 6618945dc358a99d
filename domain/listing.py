"""Lists that page: todos, notes, tracks, decisions and events, a page at a time.

A page holds up to `limit` items, `next` (the cursor of the page after it; None on the
last) and `total` (how many items the list's filters match in all, on every page).

A cursor is keyset, not an offset: it names the list and ordering it came from and the
sort key of the last item shown, and the next page starts after that key. So every item
that stays in the list is seen exactly once however the list changes in between (an
item added before the cursor is not seen, and one whose sort key moves may be seen again
or passed over, as with any cursor). A cursor is opaque to clients: base64url of a JSON
array, version first. A cursor of another list or ordering, or not a cursor at all, is
refused (InvalidInput, 422), never answered with the wrong items.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Generic, TypeVar

from domain.errors import InvalidInput

T = TypeVar("T")

MAX_PAGE = 1000

# A sort key as cursors carry it: a tuple of ints, days, instants and None.
Key = tuple[int | date | datetime | None, ...]
# How to read each part of a key back from its JSON: by the list's ordering.
Reader = Callable[[object], int | date | datetime | None]

_VERSION = "c1"


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next: str | None  # the cursor of the next page; None on the last
    total: int  # items the filters match in all


def make_cursor(ordering: str, key: Key) -> str:
    parts = [part.isoformat() if isinstance(part, date) else part for part in key]
    text = json.dumps([_VERSION, ordering, *parts], separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def read_cursor(cursor: str, ordering: str, readers: Sequence[Reader]) -> Key:
    """The key a cursor of this ordering names; InvalidInput for anything else."""
    refused = InvalidInput(f"after: not a cursor of this list ({ordering}); start again without it")
    if len(cursor) > 400:
        raise refused
    try:
        said = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise refused from None
    if (
        not isinstance(said, list)
        or said[:2] != [_VERSION, ordering]
        or len(said) != 2 + len(readers)
    ):
        raise refused
    try:
        return tuple(read(part) for read, part in zip(readers, said[2:], strict=True))
    except (TypeError, ValueError):
        raise refused from None


def number(part: object) -> int:
    if type(part) is not int or not 0 <= part < 2**63:
        raise ValueError("not a number")
    return part


def day_or_none(part: object) -> date | None:
    if part is None:
        return None
    if not isinstance(part, str):
        raise TypeError("not a day")
    return date.fromisoformat(part)


def instant_or_none(part: object) -> datetime | None:
    if part is None:
        return None
    if not isinstance(part, str):
        raise TypeError("not an instant")
    moment = datetime.fromisoformat(part)
    if moment.utcoffset() is None:
        raise ValueError("an instant needs its offset")
    return moment


BY_NUMBER: tuple[Reader, ...] = (number,)


def check_limit(limit: int) -> int:
    if not 1 <= limit <= MAX_PAGE:
        raise InvalidInput(f"limit must be between 1 and {MAX_PAGE}, not {limit}")
    return limit


async def page_of(
    ordering: str,
    readers: Sequence[Reader],
    after: str | None,
    limit: int,
    fetch: Callable[[Key | None, int], Awaitable[list[T]]],
    key_of: Callable[[T], Key],
    count: Callable[[], Awaitable[int]],
) -> Page[T]:
    """One page: `fetch(after_key, n)` gives up to n items after the key, in order; one
    more than the page tells whether another follows."""
    start = None if after is None else read_cursor(after, ordering, readers)
    found = await fetch(start, check_limit(limit) + 1)
    items = found[:limit]
    following = make_cursor(ordering, key_of(items[-1])) if len(found) > limit else None
    return Page(items, following, await count())
