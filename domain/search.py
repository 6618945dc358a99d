"""Search everything: todos, notes, tracks, decisions and the messages of the log.

`search` answers `/search <words>` in the chat and `GET /api/v1/search` alike. Every word
of the query must be found (in any order, in the title or the body); a word of three or
more letters also finds longer words it begins ("pass" finds "password"); case and
accents never matter, in any script (domain/search_index.py). Archived notes are not
found.

A message is found as what it made: one that made an object (a todo, note, track or
decision whose `source_event_seq` is the message's seq, as everything derived from a
message is) is found as that object only, never as a message too, and whatever became of
the object (a message whose note was archived is not found at all); a message that made
nothing is found as a message. Commands are never indexed (domain/search_index.py). The
rule is asked of the read models when searching (each backend's `find_messages`), so the
index of the messages stays what the log says, live and in a rebuild.

Ranking: the objects (what the owner keeps) before the messages (what was said). Objects
by the database's own relevance (SQLite FTS5's bm25, PostgreSQL's ts_rank), a hit in a
title counting ten times one in a body; ties by kind, then number. Messages newest first:
a log is searched for what was said last, and ranking a million messages by relevance
costs ~1 us each that match (0.8 s for a word in nine of ten of them, measured on SQLite),
where the newest are read first and the reading stops at the page (under 2 ms).

Paging: `next` is an opaque cursor, the offset of the next page signed with the query and
the kinds it belongs to, so it pages through the same ranking stably and a cursor of
another search is refused (InvalidInput, 422), never answered with wrong results. A hit
that a write moves in between two pages may show twice or be passed over, as in any
offset paging of a ranking that changes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from domain.errors import InvalidInput
from domain.replies import clip_line, fit
from domain.repositories import SearchIndex
from domain.search_index import MESSAGE, SEARCH_KINDS, Found, SearchQuery, phrase_of
from domain.snippets import MARK_CLOSE, MARK_OPEN, opening, snippet

MAX_QUERY_WORDS = 32
MAX_QUERY_CHARS = 500
MAX_LIMIT = 100
TITLE_CHARS = 80


@dataclass(frozen=True)
class SearchHit:
    """`number`: the object's, or the message's seq; `status`: None for a message."""

    kind: str
    number: int
    title: str
    snippet: str
    status: str | None


@dataclass(frozen=True)
class SearchPage:
    hits: tuple[SearchHit, ...]
    next: str | None  # the cursor of the next page, None on the last
    total: int


class Searchable(Protocol):
    search: SearchIndex


def parse_query(text: str) -> SearchQuery:
    """InvalidInput when there is nothing to look for, or too much."""
    text = (text or "").strip()
    if not text:
        raise InvalidInput("say what to search for")
    if len(text) > MAX_QUERY_CHARS:
        raise InvalidInput(f"search for at most {MAX_QUERY_CHARS} characters")
    given = text.split()
    if len(given) > MAX_QUERY_WORDS:
        raise InvalidInput(f"search for at most {MAX_QUERY_WORDS} words")
    phrases = dict.fromkeys(p for word in given if (p := phrase_of(word)) is not None)
    if not phrases:
        raise InvalidInput("say what to search for: some letters or digits")
    return SearchQuery(tuple(phrases))


def parse_kinds(types: Sequence[str] | None) -> tuple[str, ...]:
    """The kinds to search, in SEARCH_KINDS order; None means every kind."""
    if types is None:
        return SEARCH_KINDS
    wanted = {kind.strip().lower() for kind in types if kind.strip()}
    choose = f"choose from {', '.join(SEARCH_KINDS)}"
    if not wanted:
        raise InvalidInput(f"types: name at least one kind; {choose}")
    if unknown := wanted - set(SEARCH_KINDS):
        raise InvalidInput(f"types: {', '.join(sorted(unknown))} is not a kind to search; {choose}")
    return tuple(kind for kind in SEARCH_KINDS if kind in wanted)


async def search(
    uow: Searchable,
    query: str,
    *,
    types: Sequence[str] | None = None,
    limit: int = 20,
    after: str | None = None,
) -> SearchPage:
    """One page of hits, best first, with the cursor of the next and the number of all."""
    parsed, kinds = parse_query(query), parse_kinds(types)
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit must be between 1 and {MAX_LIMIT}")
    offset = 0 if after is None else read_cursor(after, parsed, kinds)
    objects = tuple(kind for kind in kinds if kind != MESSAGE)
    found, total = (
        await uow.search.find_objects(parsed, objects, offset, limit) if objects else ([], 0)
    )
    if MESSAGE in kinds:  # after the objects: what of the page they leave
        messages, said = await uow.search.find_messages(
            parsed, max(0, offset - total), limit - len(found)
        )
        found, total = found + messages, total + said
    end = offset + len(found)
    following = make_cursor(parsed, kinds, end) if found and end < total else None
    return SearchPage(tuple(hit_of(item, parsed) for item in found), following, total)


async def search_in(uow_factory: Any, query: str, **options: Any) -> SearchPage:
    """`search` in a read unit of work of its own (for an adapter without one)."""
    async with uow_factory() as uow:
        return await search(uow, query, **options)


def hit_of(found: Found, query: SearchQuery) -> SearchHit:
    if found.kind == MESSAGE:
        title = opening(found.body.split("\n", 1)[0], TITLE_CHARS)
        return SearchHit(
            MESSAGE, found.number, title, snippet(found.body, query) or opening(found.body), None
        )
    shown = snippet(found.body, query) or snippet(found.title, query) or opening(found.body)
    return SearchHit(found.kind, found.number, found.title, shown, found.status)


_CURSOR = "s1"


def make_cursor(query: SearchQuery, kinds: tuple[str, ...], offset: int) -> str:
    text = f"{_CURSOR}:{offset}:{_signature(query, kinds)}"
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def read_cursor(cursor: str, query: SearchQuery, kinds: tuple[str, ...]) -> int:
    """The offset a cursor of this search (query and kinds) names; InvalidInput for
    anything else: a cursor of another search or list, or not a cursor at all."""
    refused = InvalidInput("after: not a cursor of this search; search again without it")
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise refused from None
    version, _, rest = text.partition(":")
    offset, _, signature = rest.partition(":")
    if version != _CURSOR or not offset.isdigit() or len(offset) > 9:
        raise refused
    if signature != _signature(query, kinds):
        raise refused
    return int(offset)


def _signature(query: SearchQuery, kinds: tuple[str, ...]) -> str:
    said = f"{','.join(kinds)}|{query.key()}".encode()
    return hashlib.sha256(said).hexdigest()[:16]


def search_reply(page: SearchPage, query: str) -> str:
    """The chat's answer: a line per hit (and its snippet, where that says more than the
    title), within a reply's length, "… and N more" for the hits that did not fit or were
    not fetched."""
    asked = clip_line(query, 100)
    if not page.hits:
        return f"Nothing found for “{asked}”."
    return fit(f"Found {page.total} for “{asked}”:", [_line(hit) for hit in page.hits], page.total)


def _line(hit: SearchHit) -> str:
    if hit.kind == MESSAGE:
        return clip_line(f"message {hit.number}: {hit.snippet}")
    status = f" [{hit.status}]" if hit.status else ""
    plain = hit.snippet.replace(MARK_OPEN, "").replace(MARK_CLOSE, "")
    if " ".join(plain.split()) == " ".join(hit.title.split()):  # the title matched alone
        return clip_line(f"{hit.kind} #{hit.number} {hit.snippet}{status}")
    heading = clip_line(f"{hit.kind} #{hit.number} {hit.title}{status}")
    return f"{heading}\n  {clip_line(hit.snippet)}"
