"""A JSON object's members, each with the exact text of its value.

The json module reads values but does not say where each stood; a helionyx-log line's
payload and metadata must be kept as the text they were written as (a number's spelling
is part of what the hash covers). Each value is read with the json module's own decoder
(`raw_decode`, which says where a value ends), so a member's text is exactly the
characters of its value in the line. Names are limited to plain lower-case ones: the
events table's columns.
"""

from __future__ import annotations

import json
import re
from typing import Any

_WHITE = " \t\n\r"  # JSON's insignificant white space
_NAME = re.compile(r'[ \t\n\r]*"([a-z_]{1,40})"[ \t\n\r]*:[ \t\n\r]*')
_AFTER_VALUE = re.compile(r"[ \t\n\r]*([,}])")


class NotMembers(ValueError):
    """Why the text is not a JSON object of plainly named members."""


def no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


# NaN and Infinity are not JSON: refused, as everywhere else in Helionyx.
DECODER = json.JSONDecoder(parse_constant=no_constant)


def members(text: str) -> dict[str, tuple[Any, str]]:
    """Each member's value, and the text it was written as."""
    start = len(text) - len(text.lstrip(_WHITE))
    if not text.startswith("{", start):
        raise NotMembers("is not a JSON object")
    found: dict[str, tuple[Any, str]] = {}
    position = start + 1
    if (close := _AFTER_VALUE.match(text, position)) and close.group(1) == "}":
        position = close.end()
    else:
        while True:
            name = _NAME.match(text, position)
            if name is None:
                raise NotMembers(f"is not a JSON object of columns (at character {position})")
            begin = name.end()
            try:
                value, length = value_at(text, begin)
            except (ValueError, RecursionError) as e:
                raise NotMembers(f"is not JSON ({name.group(1)}: {e})") from None
            if name.group(1) in found:
                raise NotMembers(f"names {name.group(1)} twice")
            found[name.group(1)] = (value, text[begin : begin + length])
            after = _AFTER_VALUE.match(text, begin + length)
            if after is None:
                raise NotMembers(f"is not JSON (after {name.group(1)})")
            position = after.end()
            if after.group(1) == "}":
                break
    if text[position:].strip(_WHITE):
        raise NotMembers("has more after its JSON object")
    return found


def value_at(text: str, begin: int) -> tuple[Any, int]:
    """The JSON value that starts at `begin`, and its length. On the rest of the text:
    `raw_decode` documents no starting index."""
    return DECODER.raw_decode(text[begin:])
