"""Reading the owner's messages out of a ChatGPT data export (`conversations.json`).

The official export (Settings → Data controls → Export data) is a ZIP holding
`conversations.json`: a JSON list of conversations, each with a `mapping` of node id to
`{"id", "message", "parent", "children"}`. A node with two children is an edited message;
every branch is kept, since each version is something the owner said. A message is
`{"id", "author": {"role"}, "create_time", "content": {"content_type", "parts"}}`.

What becomes an `IncomingMessage`: messages whose author role is "user", of content type
`text` (string parts) or `multimodal_text` (strings kept, image asset pointers and other
objects dropped), joined with newlines. The message's `create_time` (epoch seconds, UTC)
dates it, else the conversation's `create_time`, else nothing (recorded at import time).
Messages come out in time order; equal times keep the file's order.

Limits and choices:
- The whole file is read into memory (a 100 MB export is fine); over 512 MB is refused.
- A file that is not UTF-8 JSON, not a list, or has a conversation without a `mapping`
  object is refused whole with a `ChatGPTExportError`: nothing from it is imported.
- A single bad message is skipped and counted by reason: "empty" (no text left),
  "not text" (code, tool output, ...), "malformed" (missing or mistyped fields, an id over
  200 characters), "duplicate id" (the same message id twice in the file).
- NUL characters are removed and lone surrogates become U+FFFD ("cleaned"), since
  PostgreSQL refuses both and SQLite would not read them back the same.
- Text over 16,000 characters (the API's cap) is cut there ("truncated"), not split.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from domain.messages import IncomingMessage

SOURCE = "chatgpt"
MAX_FILE_BYTES = 512 * 1024 * 1024
MAX_TEXT = 16_000
MAX_LABEL = 200
TEXT_TYPES = ("text", "multimodal_text")
# json.loads joins escaped surrogate pairs into one character, so any left are lone.
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


class ChatGPTExportError(Exception):
    """The file cannot be read as a ChatGPT export at all."""


@dataclass
class ChatGPTExport:
    messages: list[IncomingMessage] = field(default_factory=list)
    conversations: int = 0
    found: int = 0  # the owner's messages in the file, imported or skipped
    skipped: Counter[str] = field(default_factory=Counter)
    truncated: int = 0
    cleaned: int = 0


def read_export(path: str | Path) -> ChatGPTExport:
    return parse_export(_load(Path(path)))


def parse_export(data: Any) -> ChatGPTExport:
    if not isinstance(data, list):
        raise ChatGPTExportError(
            f"expected a JSON list of conversations, found a JSON {_json_type(data)}"
        )
    export = ChatGPTExport(conversations=len(data))
    dated: list[tuple[float, int, IncomingMessage]] = []
    seen: set[str] = set()
    for index, conversation in enumerate(data):
        for message in _conversation_messages(index, conversation, export):
            if message.source_id in seen:
                export.skipped["duplicate id"] += 1
                continue
            seen.add(message.source_id)
            when = message.occurred_at.timestamp() if message.occurred_at else math.inf
            dated.append((when, len(dated), message))
    export.messages = [message for _, _, message in sorted(dated, key=lambda d: d[:2])]
    return export


def _load(path: Path) -> Any:
    try:
        if path.is_dir():
            raise ChatGPTExportError(
                f"{path} is a directory: pass the conversations.json inside the unzipped export"
            )
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise ChatGPTExportError(
                f"{path} is {size // 2**20} MB; the limit is {MAX_FILE_BYTES // 2**20} MB"
            )
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ChatGPTExportError(f"{path}: no such file") from None
    except OSError as e:
        raise ChatGPTExportError(f"{path}: cannot read it ({e.strerror or e})") from e
    if raw.startswith(b"PK\x03\x04"):
        raise ChatGPTExportError(
            f"{path} is a ZIP archive: unzip the export and pass the conversations.json inside it"
        )
    try:
        return json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError as e:
        raise ChatGPTExportError(f"{path} is not UTF-8 text (byte {e.start})") from None
    except json.JSONDecodeError as e:
        raise ChatGPTExportError(
            f"{path} is not valid JSON: {e.msg} at line {e.lineno}, column {e.colno}"
        ) from None
    except RecursionError:
        raise ChatGPTExportError(f"{path} is nested too deeply to be an export") from None


def _conversation_messages(index: int, conversation: Any, export: ChatGPTExport):
    where = f"conversation #{index + 1}"
    if not isinstance(conversation, dict):
        raise ChatGPTExportError(f"{where} is a JSON {_json_type(conversation)}, not an object")
    mapping = conversation.get("mapping")
    title = conversation.get("title")
    if isinstance(title, str) and title.strip():
        where += f" ({_clean(title)[:60]!r})"
    if not isinstance(mapping, dict):
        raise ChatGPTExportError(
            f"{where} has no 'mapping' object: this is not a ChatGPT conversations.json"
        )
    conversation_id = _label(conversation.get("conversation_id") or conversation.get("id"))
    fallback_time = _utc(conversation.get("create_time"))
    metadata = {"conversation_title": _clean(title)[:MAX_LABEL]} if isinstance(title, str) else {}
    for node_id, node in mapping.items():
        # A node or message that is not an object may have been the owner's: count it.
        message = node.get("message") if isinstance(node, dict) else node
        if message is None or _role(message) != "user":
            continue
        export.found += 1
        text, problem = _text_of(message)
        source_id = _label(message.get("id") or node_id) if problem is None else None
        if problem is not None or source_id is None:
            problem = problem or "malformed"
            export.skipped[problem] += 1
            continue
        cleaned = _clean(text)
        export.cleaned += cleaned != text
        if len(cleaned) > MAX_TEXT:
            export.truncated += 1
            cleaned = cleaned[:MAX_TEXT]
        yield IncomingMessage(
            text=cleaned,
            source=SOURCE,
            source_id=source_id,
            conversation_id=conversation_id,
            author="owner",
            occurred_at=_utc(message.get("create_time")) or fallback_time,
            metadata=metadata,
        )


def _role(message: Any) -> str | None:
    if not isinstance(message, dict):
        return "user"
    author = message.get("author")
    return author.get("role") if isinstance(author, dict) else None


def _text_of(message: Any) -> tuple[str, str | None]:
    """The message's text, or the reason it has none worth importing."""
    if not isinstance(message, dict):
        return "", "malformed"
    content = message.get("content")
    if not isinstance(content, dict) or not isinstance(content.get("content_type"), str):
        return "", "malformed"
    if content["content_type"] not in TEXT_TYPES:
        return "", "not text"
    parts = content.get("parts")
    if not isinstance(parts, list):
        return "", "malformed"
    text = "\n".join(part for part in parts if isinstance(part, str) and part.strip())
    return (text, None) if _clean(text).strip() else ("", "empty")


def _clean(text: str) -> str:
    text = text.replace("\x00", "")
    # ASCII holds no surrogates; most texts are ASCII, and the test is quick.
    return text if text.isascii() else _LONE_SURROGATE.sub("\ufffd", text)


def _label(value: Any) -> str | None:
    """An id both databases store and the API would accept: 1 to 200 clean characters."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not 0 < len(value) <= MAX_LABEL or _clean(value) != value:
        return None
    return value


def _utc(value: Any) -> datetime | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError):
        return None


def _json_type(value: Any) -> str:
    names = {dict: "object", list: "list", str: "string", bool: "boolean", type(None): "null"}
    return names.get(type(value), "number")
