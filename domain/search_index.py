"""What the search index holds and how text becomes its words: one spelling for every
backend, the in-memory fake and the snippets.

Text is folded here, in Python, before any database sees it: case folded
(`str.casefold`, any script), accents removed (NFKD, combining marks dropped, NFKC again:
"Ärger" is "arger", "Ελλάδα" is "ελλαδα", full-width "ＡＢＣ" is "abc"; a few letters
Unicode does not decompose, such as ł, ø and æ, by a table). The folded text is
cut into words: runs of letters and digits, except in scripts written without spaces
(Chinese, Japanese, Korean, Thai, Lao, Khmer, Myanmar), where every character is a word
of its own, so that a query of several such characters is a phrase of them and finds
them anywhere (substring search where word tokenising fails). Everything else (spaces,
punctuation, emoji, symbols) separates words and is never searched for.

So the databases see only words of letters and digits, separated by spaces: SQLite's
FTS5 `ascii` tokenizer and PostgreSQL's tsvector literal take them as they are, and
neither's own idea of a word (its locale, its Unicode tables) can disagree with this one.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import NamedTuple, TypeGuard

from domain.objects import DECISION, NOTE, TODO, TRACK, Decision, Note, Todo, Track

MESSAGE = "message"
# Every kind the index holds, in the order that breaks ties in the ranking.
SEARCH_KINDS = (TODO, NOTE, TRACK, DECISION, MESSAGE)
OBJECT_KINDS = SEARCH_KINDS[:-1]

# Only so much of a text is indexed (a pasted log must not make a row PostgreSQL's
# tsvector cannot hold: 1 MiB); a message's text is at most 16,000 over HTTP.
MAX_INDEXED_CHARS = 100_000

# Characters of scripts written without spaces between words: each is a word of its own.
UNSEGMENTED = (
    "\u0e00-\u0eff"  # Thai, Lao
    "\u1000-\u109f"  # Myanmar
    "\u1780-\u17ff"  # Khmer
    "\u3040-\u30ff"  # Hiragana, Katakana
    "\u3100-\u312f"  # Bopomofo
    "\u3400-\u4dbf"  # CJK Extension A
    "\u4e00-\u9fff"  # CJK Unified Ideographs
    "\uac00-\ud7af"  # Hangul syllables
    "\uf900-\ufaff"  # CJK Compatibility Ideographs
    "\U00020000-\U0003134f"  # CJK Extensions B to H
)
# A word: one unsegmented character, or a run of other letters and digits (\w without _).
WORD = re.compile(f"[{UNSEGMENTED}]|[^\\W_{UNSEGMENTED}]+")
_UNSEGMENTED_CHAR = re.compile(f"[{UNSEGMENTED}]")


# Letters whose accent or stroke is part of the letter in Unicode (no decomposition), as
# they are commonly written without it: "Łódź" is found by "lodz".
_BASE_LETTERS = str.maketrans(
    {
        "ł": "l",
        "ø": "o",
        "đ": "d",
        "ð": "d",
        "ħ": "h",
        "ŧ": "t",
        "ı": "i",
        "ɨ": "i",
        "ƀ": "b",
        "ƶ": "z",
        "ŀ": "l",
        "æ": "ae",
        "œ": "oe",
        "þ": "th",
    }
)


def fold(text: str) -> str:
    """Case and accents folded, compatibility forms unified; ASCII is only lowercased."""
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text.casefold().translate(_BASE_LETTERS))
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return unicodedata.normalize("NFKC", stripped)


@lru_cache(maxsize=8192)
def fold_char(ch: str) -> str:
    """One character folded (the snippets map folded text back to the original)."""
    return fold(ch)


def words(text: str | None) -> list[str]:
    """The searchable words of a text, folded, in order."""
    if not text:
        return []
    return WORD.findall(fold(text[:MAX_INDEXED_CHARS]))


def is_unsegmented(word: str) -> bool:
    return _UNSEGMENTED_CHAR.fullmatch(word) is not None


class Phrase(NamedTuple):
    """Words that must follow one another; with `prefix`, the last may begin a longer
    word ("pass" finds "password")."""

    words: tuple[str, ...]
    prefix: bool


@dataclass(frozen=True)
class SearchQuery:
    """What to look for: every phrase must match, in the title or the body."""

    phrases: tuple[Phrase, ...]

    def key(self) -> str:
        """The query as the index reads it: two spellings that search alike share it."""
        return "|".join(" ".join(p.words) + ("*" if p.prefix else "") for p in self.phrases)


# A word this long or longer matches the beginning of longer words; a shorter one only
# itself: "a*" would have to read every word beginning with an a.
PREFIX_FROM = 3


def phrase_of(query_word: str) -> Phrase | None:
    """What one word of a query looks for: its words in a row (e-mail: e, mail), the last
    as a prefix if it is long enough and not a single unsegmented character."""
    found = tuple(words(query_word))
    if not found:
        return None
    last = found[-1]
    return Phrase(found, len(last) >= PREFIX_FROM and not is_unsegmented(last))


@dataclass(frozen=True)
class SearchEntry:
    """An object as the index holds it: the kind and number name it, `title` and `body`
    are searched (the title ranks above the body) and shown in snippets."""

    kind: str
    number: int
    title: str
    body: str
    status: str


def entry_of(obj: Todo | Note | Track | Decision) -> SearchEntry | None:
    """The index entry of an object, or None when it must not be found (an archived note)."""
    if isinstance(obj, Todo):
        return todo_entry(obj.number, obj.title, obj.description, obj.tags, obj.status)
    if isinstance(obj, Note):
        return note_entry(obj.number, obj.title, obj.content, obj.tags, obj.status)
    if isinstance(obj, Track):
        return track_entry(obj.number, obj.title, obj.description, obj.status)
    return decision_entry(
        obj.number, obj.title, obj.rationale, obj.outcome, obj.options, obj.status
    )


# Field by field, so that a migration can index rows without building the objects.


def todo_entry(
    number: int, title: str, description: str | None, tags: Sequence[str], status: str
) -> SearchEntry:
    return SearchEntry(TODO, number, title, _lines(description, _tags(tags)), status)


def note_entry(
    number: int, title: str, content: str, tags: Sequence[str], status: str
) -> SearchEntry | None:
    if status == "archived":
        return None
    # Tags written in the text already are not repeated.
    unwritten = [tag for tag in tags if f"#{tag}" not in content.casefold()]
    return SearchEntry(NOTE, number, title, _lines(content, _tags(unwritten)), status)


def track_entry(number: int, title: str, description: str | None, status: str) -> SearchEntry:
    return SearchEntry(TRACK, number, title, description or "", status)


def decision_entry(
    number: int,
    title: str,
    rationale: str | None,
    outcome: str | None,
    options: Sequence[str],
    status: str,
) -> SearchEntry:
    return SearchEntry(DECISION, number, title, _lines(rationale, outcome, *options), status)


def kind_of(obj: Todo | Note | Track | Decision) -> str:
    return {Todo: TODO, Note: NOTE, Track: TRACK, Decision: DECISION}[type(obj)]


def searchable_message(text: object) -> TypeGuard[str]:
    """A message is searched for what the owner said: free text. A command (`/done 3`,
    `/search wifi`) is not; what one created is found as the object itself."""
    return isinstance(text, str) and not text.lstrip().startswith("/")


def _tags(tags: Sequence[str]) -> str:
    return " ".join(f"#{tag}" for tag in tags)


def _lines(*parts: str | None) -> str:
    return "\n".join(part for part in parts if part)


class Found(NamedTuple):
    """One hit as the index returns it, best first: an object's entry, or a message
    (kind "message", `number` its seq, `body` its text, no title and no status)."""

    kind: str
    number: int
    title: str
    body: str
    status: str | None
