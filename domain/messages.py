"""What the owner says, as the domain receives it from any channel."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType
from typing import Any, NamedTuple

from domain.chain import canonical_json, iso_utc

MESSAGE_INGESTED = "message.ingested"


_NO_METADATA: Mapping[str, Any] = MappingProxyType({})


def unstorable(text: str) -> str | None:
    """Why a text cannot be stored as it was given, on every backend alike, or None.
    PostgreSQL's text refuses NUL, and UTF-8 cannot hold a lone surrogate (SQLite's
    driver refuses it): such text is refused whole rather than stored altered."""
    if "\x00" in text:
        return "text must not contain NUL characters"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "text must be valid Unicode (no lone surrogates)"
    return None


class IncomingMessage(NamedTuple):
    """Immutable, as a tuple: a bulk ingest builds one per message, and a frozen
    dataclass's init costs five times as much."""

    text: str
    source: str = "api"
    source_id: str | None = None
    author: str | None = None
    conversation_id: str | None = None
    occurred_at: datetime | None = None
    metadata: Mapping[str, Any] = _NO_METADATA

    def fingerprint(self) -> str:
        """Identifies what was said, so a reused idempotency key with another message is
        caught. Client metadata is annotation, not content: a re-import that renamed a
        conversation title is the same message.

        SHA-256 of the `canonical_json` of text, source, source_id, author,
        conversation_id and occurred_at (`iso_utc`, or null)."""
        occurred_at = None if self.occurred_at is None else iso_utc(self.occurred_at)
        said = {
            "author": self.author,
            "conversation_id": self.conversation_id,
            "occurred_at": occurred_at,
            "source": self.source,
            "source_id": self.source_id,
            "text": self.text,
        }
        return hashlib.sha256(canonical_json(said).encode("utf-8")).hexdigest()

    def source_key(self) -> str | None:
        """The natural idempotency key of a message that names its origin."""
        if self.source_id is None:
            return None
        return f"source:{self.source}:{self.source_id}"

    def payload(self) -> dict[str, Any]:
        """What was said and where from; fields the message does not have are left out
        rather than stored as null (a short message is mostly its text)."""
        payload = {"text": self.text, "source": self.source}
        if self.source_id is not None:
            payload["source_id"] = self.source_id
        if self.author is not None:
            payload["author"] = self.author
        if self.conversation_id is not None:
            payload["conversation_id"] = self.conversation_id
        return payload
