"""A message's keys, fingerprint and event, prepared here or in an import's worker."""

from __future__ import annotations

import hashlib
import random
from datetime import UTC, datetime, timedelta, timezone

from domain.chain import canonical_json, iso_utc
from domain.message_events import prepare
from domain.messages import IncomingMessage
from infrastructure.chatgpt.worker import from_wire, to_wire
from infrastructure.sealing import as_json

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
            occurred_at=rng.choice(
                [
                    None,
                    datetime(2024, 1, 1, tzinfo=rng.choice(zones))
                    + timedelta(microseconds=rng.randint(0, 10**13)),
                ]
            ),
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


def test_fingerprints_already_stored_stay_what_they_were():
    """Idempotency records hold fingerprints made by earlier releases: these two were
    computed by the hand-spelled version this one replaced, and must not change."""
    said = IncomingMessage(
        'Buy milk "2%" ü 😀',
        source="telegram",
        source_id="42:7",
        author="owner",
        occurred_at=datetime(2024, 5, 29, 18, 26, 50, 500000, tzinfo=timezone(timedelta(hours=1))),
    )
    assert said.fingerprint() == (
        "8f6c6b4b3dfbcc0c52f0db1ee462eb22b32525380404172a6699ab78b803b29a"
    )
    assert IncomingMessage("x").fingerprint() == (
        "28e7106fa6b77db763cc63a1da018d01a1939bc97cee161eaa0208cc30272e47"
    )


def test_a_prepared_message_crosses_to_the_importer_unchanged():
    for item in prepare(_messages(200), CONTEXT):
        back = from_wire(to_wire(item))
        assert back == item
        if item.event.occurred_at is not None:
            assert back.event.occurred_at.utcoffset() == timedelta(0)


def test_payload_and_metadata_cross_with_their_canonical_text_which_sealing_takes():
    """The worker spells each payload and metadata; sealing stores and hashes that text,
    so it must be what sealing would have spelled, and the value handed on must equal
    the original."""
    for item in prepare(_messages(200), CONTEXT):
        event = from_wire(to_wire(item)).event
        for crossed, original in (
            (event.payload, item.event.payload),
            (event.metadata, item.event.metadata),
        ):
            value, text = as_json(crossed)
            assert text == canonical_json(dict(original))
            assert value == original
            assert as_json(dict(crossed))[1] == text  # the same without the text it came with
