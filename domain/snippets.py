"""A short piece of a text around what a search matched, the matches marked.

The marks are «guillemets»: plain text, so they read the same in a Telegram chat (whose
replies are sent without a parse mode), a terminal or a JSON client, and they cannot be
taken for Markdown. A text that holds guillemets of its own keeps them; the snippet is for
reading, not for parsing.

The matches are found the way the index found the hit (domain/search_index.py): the text
is folded character by character, remembering where each folded character came from, cut
into the same words, and each phrase of the query is looked for among them.
"""

from __future__ import annotations

import unicodedata

from domain.search_index import MAX_INDEXED_CHARS, WORD, Phrase, SearchQuery, fold_char

MARK_OPEN, MARK_CLOSE = "«", "»"
SNIPPET_CHARS = 160
ELLIPSIS = "…"

Span = tuple[int, int]


def snippet(text: str, query: SearchQuery, width: int = SNIPPET_CHARS) -> str | None:
    """About `width` characters of `text` around its first match, every match in them
    marked, on one line; None when nothing of the query is in `text`."""
    spans = matches(text, query)
    if not spans:
        return None
    first = spans[0]
    start = max(0, min(first[0] - width // 3, len(text) - width))
    end = min(len(text), max(start + width, first[1]))
    start, end = _whole_words(text, start, end, first)
    marked, at = [], start
    for left, right in spans:
        if left < start or right > end:
            continue
        marked += [text[at:left], MARK_OPEN, text[left:right], MARK_CLOSE]
        at = right
    marked.append(text[at:end])
    body = " ".join("".join(marked).split())
    return (ELLIPSIS if start > 0 else "") + body + (ELLIPSIS if end < len(text) else "")


def opening(text: str, width: int = SNIPPET_CHARS) -> str:
    """The beginning of a text on one line, for a hit whose match is elsewhere."""
    flat = " ".join(text[: width * 4].split())
    return flat if len(flat) <= width else flat[: width - 1].rstrip() + ELLIPSIS


def matches(text: str, query: SearchQuery) -> list[Span]:
    """Where in `text` the query's phrases are, as sorted, non-overlapping spans."""
    text = text[:MAX_INDEXED_CHARS]
    folded, origin = _folded(text)
    found = [(m.group(), m.start(), m.end()) for m in WORD.finditer(folded)]
    words = [word for word, _, _ in found]
    spans: list[Span] = []
    for phrase in query.phrases:
        for index in _places(words, phrase):
            left = origin[found[index][1]]
            right = origin[found[index + len(phrase.words) - 1][2] - 1] + 1
            while right < len(text) and unicodedata.combining(text[right]):
                right += 1  # a mark the folding dropped stays with its letter
            spans.append((left, right))
    merged: list[Span] = []
    for left, right in sorted(spans):
        if merged and left <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(right, merged[-1][1]))
        else:
            merged.append((left, right))
    return merged


def _places(words: list[str], phrase: Phrase) -> list[int]:
    """Where the phrase's words start among `words`."""
    *whole, last = phrase.words
    size = len(whole)
    places = []
    for index in range(len(words) - size):
        if size and (words[index] != whole[0] or words[index : index + size] != whole):
            continue
        word = words[index + size]
        if word == last or (phrase.prefix and word.startswith(last)):
            places.append(index)
    return places


def _folded(text: str) -> tuple[str, list[int]]:
    """The text folded character by character, and for each folded character the index
    of the character it came from."""
    if text.isascii():
        return text.lower(), list(range(len(text)))
    parts: list[str] = []
    origin: list[int] = []
    for index, ch in enumerate(text):
        folded = fold_char(ch)
        parts.append(folded)
        origin.extend([index] * len(folded))
    return "".join(parts), origin


def _whole_words(text: str, start: int, end: int, keep: Span) -> Span:
    """Move the cut points to spaces, where there are some near, never into `keep`."""
    if start > 0:
        space = text.find(" ", start, min(start + 20, keep[0]))
        if space != -1:
            start = space + 1
    if end < len(text):
        space = text.rfind(" ", max(end - 20, keep[1]), end)
        if space != -1:
            end = space
    return start, end
