"""Sealing new events: their seqs, ids and hashes, and the canonical JSON a store keeps.

Both backends append through `seal`. The hash is `domain.chain.event_hash` of the
event's content; `sealed_text` spells that text from payload and metadata already in
canonical JSON (which the store keeps as they are, so each is serialized once, not twice).
`tests/unit/test_sealed_spellings.py` holds `sealed_text`, and every other spelling a
backend uses to verify, to `event_hash` on a corpus of awkward events.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from hashlib import sha256
from json.encoder import encode_basestring
from typing import Any, NamedTuple

from domain.chain import iso_utc
from domain.errors import InvalidInput
from domain.events import LogHead, NewEvent, RecordedEvent
from domain.ids import new_uuids
from infrastructure.fast_json import canonical_json

_JSON_SCALARS = (str, int, float, bool, type(None))
# A str, quoted as canonical_json quotes it: the C function JSONEncoder.encode calls for
# a str when ensure_ascii is off, without the method call around it (half the time).
_QUOTE = encode_basestring

# The key between metadata and payload in `sealed_text`: a verifier that spells the text
# from stored columns gives no text for a row where it appears (see
# infrastructure/sqlite/chain_scan.py).
SEALED_SPLIT = ',"occurred_at":"'


class SpelledObject(dict[str, Any]):
    """A payload or metadata that comes with its canonical JSON text, spelled where it was
    made: the ChatGPT import's worker (infrastructure/chatgpt/worker.py) spells each
    message's on the other core, and `as_json` takes that text rather than spelling it
    again (sealing 500 imported messages: 10.1 us an event spelling both, 5.6 with the
    worker's texts). Its keys are str and its values plain JSON, as parsed; the
    text must be `canonical_json` of it, and nothing changes it after
    (tests/unit/test_message_events.py holds both across the worker's wire)."""

    __slots__ = ("canonical",)

    def __init__(self, value: dict[str, Any], canonical: str) -> None:
        super().__init__(value)
        self.canonical = canonical


class Sealed(NamedTuple):
    """An appended event, with what its store writes besides the event itself."""

    event: RecordedEvent
    payload_json: str
    metadata_json: str
    occurred_iso: str
    recorded_iso: str


def seal(new_events: Sequence[NewEvent], head: LogHead, recorded_at: datetime) -> list[Sealed]:
    """The events after `head`, recorded at `recorded_at`, chained and hashed."""
    recorded_iso = iso_utc(recorded_at)
    prev_hash, seq = head.last_hash, head.last_seq
    sealed: list[Sealed] = []
    # Events of one batch often share their metadata (the request's): serialize once.
    shared: tuple[Any, tuple[Any, str]] | None = None
    for new, event_id in zip(new_events, new_uuids(len(new_events)), strict=True):
        seq += 1
        if shared is None or shared[0] is not new.metadata:
            shared = (new.metadata, as_json(new.metadata))
        metadata, metadata_json = shared[1]
        payload, payload_json = as_json(new.payload)
        occurred_at = recorded_at if new.occurred_at is None else new.occurred_at
        occurred_iso = recorded_iso if new.occurred_at is None else iso_utc(occurred_at)
        text = sealed_text(
            seq,
            event_id,
            new.type,
            new.aggregate_type,
            new.aggregate_id,
            payload_json,
            metadata_json,
            new.idempotency_key,
            occurred_iso,
            recorded_iso,
            new.schema_version,
            prev_hash,
        )
        hash_ = sha256(text.encode("utf-8")).hexdigest()
        event = RecordedEvent(
            seq=seq,
            event_id=event_id,
            type=new.type,
            aggregate_type=new.aggregate_type,
            aggregate_id=new.aggregate_id,
            payload=payload,
            metadata=metadata,
            idempotency_key=new.idempotency_key,
            occurred_at=occurred_at,
            recorded_at=recorded_at,
            schema_version=new.schema_version,
            prev_hash=prev_hash,
            hash=hash_,
        )
        sealed.append(Sealed(event, payload_json, metadata_json, occurred_iso, recorded_iso))
        prev_hash = hash_
    return sealed


def sealed_text(
    seq: int,
    event_id: str,
    type: str,
    aggregate_type: str,
    aggregate_id: str,
    payload_json: str,
    metadata_json: str,
    idempotency_key: str | None,
    occurred_at_iso: str,
    recorded_at_iso: str,
    schema_version: int,
    prev_hash: str,
) -> str:
    """The text `event_hash` hashes, byte for byte, from payload and metadata already in
    canonical JSON and times already in `iso_utc` form: `canonical_json` of the content,
    spelled out in sorted key order."""
    quote = _QUOTE
    key = "null" if idempotency_key is None else quote(idempotency_key)
    return (
        f'{{"aggregate_id":{quote(aggregate_id)},'
        f'"aggregate_type":{quote(aggregate_type)},'
        f'"event_id":{quote(event_id)},'
        f'"idempotency_key":{key},'
        f'"metadata":{metadata_json},'
        f'"occurred_at":{quote(occurred_at_iso)},'
        f'"payload":{payload_json},'
        f'"prev_hash":{quote(prev_hash)},'
        f'"recorded_at":{quote(recorded_at_iso)},'
        f'"schema_version":{int.__repr__(schema_version)},'
        f'"seq":{int.__repr__(seq)},'
        f'"type":{quote(type)}}}'
    )


def as_json(value: Any) -> tuple[Any, str]:
    """The value as it will read back from the database, and its canonical JSON text.
    Plain JSON (str keys; str, finite numbers, bools, None, lists, dicts) reads back equal
    to itself, so only other values (tuples, int keys, ...) are parsed back from the
    text, so that the event handed back hashes as the stored one does."""
    if value.__class__ is SpelledObject:
        return value, value.canonical
    if value.__class__ is not dict and isinstance(value, Mapping):
        value = dict(value)  # read-only (NO_METADATA, ...): JSON knows only dicts
    try:
        text = canonical_json(value)
    except (TypeError, ValueError, RecursionError) as e:
        raise InvalidInput(f"not storable as JSON: {e}") from e
    return (value if _plain(value) else json.loads(text)), text


def _plain(value: Any) -> bool:
    # Loops rather than all(<generator>): this runs for every payload and metadata.
    kind = value.__class__
    if kind is dict:
        for key, item in value.items():
            if key.__class__ is not str or (
                item.__class__ not in _JSON_SCALARS and not _plain(item)
            ):
                return False
        return True
    if kind is list:
        for item in value:  # noqa: SIM110 (all() over a generator is what this avoids)
            if item.__class__ not in _JSON_SCALARS and not _plain(item):
                return False
        return True
    return kind in _JSON_SCALARS
