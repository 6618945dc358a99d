"""A message's keys, fingerprint and event, prepared here or in an import's worker."""

from __future__ import annotations

import hashlib
import random
from datetime import UTC, datetime, timedelta, timezone

from domain.chain import canonical_json, iso_utc
from domain.message_events import prepare
from domain.messages import IncomingMessage
from infrastructure.chatgpt_export_worker import from_wire, to_wire

_PIECES = ["a", "ü", "\n", '"', "\\", "\u2028", "😀", "\x01", "/", " "]
CONTEXT = {"channel": "import", "importer": "import-chatgpt"}


def _text(rng: random.Random) -> str:
    return "".join(rng.choice(_PIECES) for _ in range(rng.randint(0, 8)))


def _messages(count: int) -> list[IncomingMessage]:
    rng = random.Random(11)
    zones = [UTC, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-8))]
    return [
        IncomingMessage(
            text=_text(rng) or "x",
            source=rng.choice(["chatgpt", "api", _text(rng)]),
            source_id=rng.choice([None, _text(rng) or "id"]),
            author=rng.choice([None, "owner", _text(rng)]),
            conversation_id=rng.choice([None, _text(rng)]),
            occurred_at=rng.choice([None, datetime(2024, 1, 1, tzinfo=rng.choice(zones))
                                    + timedelta(microseconds=rng.randint(0, 10**13))]),
            metadata=rng.choice([{}, {"conversation_title": _text(rng)}]),
        )
        for _ in range(count)
    ]


def test_the_fingerprint_is_the_hash_of_the_canonical_json_of_what_was_said():
    for message in _messages(300):
        body = {
            "text": message.text,
            "source": message.source,
            "source_id": message.source_id,
            "author": message.author,
            "conversation_id": message.conversation_id,
            "occurred_at": iso_utc(message.occurred_at) if message.occurred_at else None,
        }
        expected = hashlib.sha256(canonical_json(body).encode("utf-8")).hexdigest()
        assert message.fingerprint() == expected
        if message.occurred_at is not None:
            assert message.fingerprint(iso_utc(message.occurred_at)) == expected


def test_encoding_adds_the_serialized_fields_and_changes_nothing_else():
    messages = _messages(200)
    plain = prepare(messages, CONTEXT)
    ahead = prepare(messages, CONTEXT, encode=canonical_json)
    for one, other in zip(plain, ahead, strict=True):
        assert (one.keys, one.fingerprint) == (other.keys, other.fingerprint)
        event, encoded = one.event, other.event
        assert event._replace(aggregate_id="", encoded=None) == encoded._replace(
            aggregate_id="", encoded=None)
        assert encoded.encoded == (
            canonical_json(event.payload),
            canonical_json(dict(event.metadata)),
            iso_utc(event.occurred_at) if event.occurred_at else None,
        )


def test_a_prepared_message_crosses_to_the_importer_unchanged():
    for item in prepare(_messages(200), CONTEXT, encode=canonical_json):
        back = from_wire(to_wire(item))
        assert back == item
        if item.event.occurred_at is not None:
            assert back.event.occurred_at.utcoffset() == timedelta(0)
