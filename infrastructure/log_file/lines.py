"""The helionyx-log file format, line by line: JSON Lines, a header, then the events.

Line 1 is the header:
    {"format": "helionyx-log", "version": 1, "log_id": ..., "exported_at": ...,
     "head": {"seq": N, "hash": H}, "events": N}
then one line per event, in seq order, with every column of the events table. `payload`
and `metadata` are the canonical JSON text the database keeps (and the hash covers),
written into the line as they are, never parsed and spelled again; `parse_event` reads
each back as the very text the line holds, so a number keeps its spelling (`1e+16`,
`-0.0`, `1.2345678901234567e+19`) and the hash recomputes from the line exactly as the
database's own verification computes it from the row.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from json.encoder import encode_basestring
from typing import Any, NamedTuple

from domain.chain import GENESIS_HASH, iso_utc
from domain.events import LogHead, RecordedEvent
from infrastructure.fast_json import canonical_json
from infrastructure.log_file.json_members import DECODER, NotMembers, members, value_at
from infrastructure.sealing import Sealed

FORMAT = "helionyx-log"
VERSION = 1
COLUMNS = RecordedEvent._fields  # seq, event_id, type, ..., prev_hash, hash: in this order
_COLUMN_SET = frozenset(COLUMNS)

# A str, quoted as canonical_json quotes it (JSONEncoder.encode's own call for a str with
# ensure_ascii=False, without its per-call checks).
_QUOTE = encode_basestring
_HASH = re.compile(r"[0-9a-f]{64}")
_PAYLOAD, _METADATA = ',"payload":', ',"metadata":'


class LineProblem(ValueError):
    """What is wrong with one line, said without its number (the reader adds it)."""


class Header(NamedTuple):
    log_id: str
    exported_at: str
    head: LogHead

    @property
    def events(self) -> int:
        return self.head.last_seq


def header_line(header: Header) -> bytes:
    body = {
        "format": FORMAT,
        "version": VERSION,
        "log_id": header.log_id,
        "exported_at": header.exported_at,
        "head": {"seq": header.head.last_seq, "hash": header.head.last_hash},
        "events": header.events,
    }
    return (json.dumps(body, ensure_ascii=False) + "\n").encode("utf-8")


def event_line(
    seq: int,
    event_id: str,
    type_: str,
    aggregate_type: str,
    aggregate_id: str,
    payload_json: str,
    metadata_json: str,
    idempotency_key: str | None,
    occurred_at: datetime,
    recorded_at: datetime,
    schema_version: int,
    prev_hash: str,
    hash_: str,
) -> str:
    """One event's line (with its newline), payload and metadata as the stored text."""
    return _line(
        seq,
        event_id,
        type_,
        aggregate_type,
        aggregate_id,
        _one_line(payload_json),
        _one_line(metadata_json),
        idempotency_key,
        iso_utc(occurred_at),
        iso_utc(recorded_at),
        schema_version,
        prev_hash,
        hash_,
    )


def _line(
    seq: int,
    event_id: str,
    type_: str,
    aggregate_type: str,
    aggregate_id: str,
    payload_json: str,
    metadata_json: str,
    idempotency_key: str | None,
    occurred_iso: str,
    recorded_iso: str,
    schema_version: int,
    prev_hash: str,
    hash_: str,
) -> str:
    quote = _QUOTE
    key = "null" if idempotency_key is None else quote(idempotency_key)
    return (
        f'{{"seq":{int.__repr__(seq)},"event_id":{quote(event_id)},"type":{quote(type_)},'
        f'"aggregate_type":{quote(aggregate_type)},"aggregate_id":{quote(aggregate_id)},'
        f'"payload":{payload_json},"metadata":{metadata_json},"idempotency_key":{key},'
        f'"occurred_at":{quote(occurred_iso)},"recorded_at":{quote(recorded_iso)},'
        f'"schema_version":{int.__repr__(schema_version)},"prev_hash":{quote(prev_hash)},'
        f'"hash":{quote(hash_)}}}\n'
    )


def _one_line(stored: str) -> str:
    # Canonical JSON holds no line break (a string's are escaped). A text stored before
    # it was canonical might: its content is kept, and judged by content as the
    # databases' verification judges such a row (`domain.chain.hash_of`).
    if "\n" in stored or "\r" in stored:
        return canonical_json(json.loads(stored))
    return stored


def parse_header(text: str) -> Header:
    try:
        body = DECODER.decode(text)
    except ValueError as e:
        raise LineProblem(f"is not a {FORMAT} header (not JSON: {e})") from None
    if not isinstance(body, dict) or body.get("format") != FORMAT:
        raise LineProblem(
            f'is not a {FORMAT} header (no "format": "{FORMAT}"): not a Helionyx log export'
        )
    if body.get("version") != VERSION:
        raise LineProblem(
            f"has version {body.get('version')!r}; this Helionyx reads version {VERSION}"
        )
    head, events = body.get("head"), body.get("events")
    if not (
        isinstance(body.get("log_id"), str)
        and isinstance(body.get("exported_at"), str)
        and isinstance(head, dict)
        and _count(head.get("seq"))
        and _is_hash(head.get("hash"))
        and _count(events)
    ):
        raise LineProblem(
            'is a header without "log_id", "exported_at", "head" '
            '{"seq", "hash"} and "events" of the right types'
        )
    if events != head["seq"]:
        raise LineProblem(
            f"says {events} events but its head is seq {head['seq']} (seq runs from 1 without gaps)"
        )
    if head["seq"] == 0 and head["hash"] != GENESIS_HASH:
        raise LineProblem("says the log is empty but names a head hash")
    return Header(body["log_id"], body["exported_at"], LogHead(head["seq"], head["hash"]))


def parse_event(text: str) -> Sealed:
    """The event a line states, with payload and metadata as the line spells them."""
    as_written = _as_written(text)
    if as_written is not None:
        return as_written
    try:
        found = members(text)
    except NotMembers as e:
        raise LineProblem(str(e)) from None
    if found.keys() != _COLUMN_SET:
        missing, extra = _COLUMN_SET - found.keys(), found.keys() - _COLUMN_SET
        raise LineProblem(
            "has "
            + "; ".join(
                part
                for part in (
                    f"no {', '.join(sorted(missing))}" if missing else "",
                    f"unknown {', '.join(sorted(extra))}" if extra else "",
                )
                if part
            )
        )
    return _sealed(
        {name: value for name, (value, _) in found.items()},
        found["payload"][1],
        found["metadata"][1],
    )


def _as_written(text: str) -> Sealed | None:
    """The fast path, for a line exactly as `event_line` writes it (every line an export
    wrote): read whole by the json module, payload and metadata found where the writer
    puts them, and the line written again from what was read must be the line itself.
    None for any other line, which `members` then reads member by member."""
    try:
        value = DECODER.decode(text)
    except (ValueError, RecursionError):
        return None
    if value.__class__ is not dict or value.keys() != _COLUMN_SET:
        return None
    # The first ',"payload":' is the member's: the values before it are a number and
    # strings, inside which a quote is always escaped.
    begin = text.find(_PAYLOAD) + len(_PAYLOAD)
    if begin < len(_PAYLOAD):
        return None
    try:
        _, length = value_at(text, begin)
        payload = text[begin : begin + length]
        begin += length + len(_METADATA)
        if not text.startswith(_METADATA, begin - len(_METADATA)):
            return None
        _, length = value_at(text, begin)
        metadata = text[begin : begin + length]
    except (ValueError, RecursionError):
        return None
    sealed = _sealed(value, payload, metadata)
    event = sealed.event
    again = _line(
        event.seq,
        event.event_id,
        event.type,
        event.aggregate_type,
        event.aggregate_id,
        payload,
        metadata,
        event.idempotency_key,
        sealed.occurred_iso,
        sealed.recorded_iso,
        event.schema_version,
        event.prev_hash,
        event.hash,
    )
    return sealed if again == text else None


def _sealed(value: dict[str, Any], payload_json: str, metadata_json: str) -> Sealed:
    for name in ("seq", "schema_version"):
        if not _count(value[name]) or (name == "seq" and value[name] == 0):
            raise LineProblem(f"has a {name} that is not a positive integer")
    for name in ("event_id", "type", "aggregate_type", "aggregate_id"):
        if not isinstance(value[name], str):
            raise LineProblem(f"has a {name} that is not a string")
    if not (value["idempotency_key"] is None or isinstance(value["idempotency_key"], str)):
        raise LineProblem("has an idempotency_key that is neither a string nor null")
    for name in ("payload", "metadata"):
        if not isinstance(value[name], dict):
            raise LineProblem(f"has a {name} that is not a JSON object")
    for name in ("prev_hash", "hash"):
        if not _is_hash(value[name]):
            raise LineProblem(f"has a {name} that is not 64 lower-case hex digits")
    occurred, recorded = _moment(value, "occurred_at"), _moment(value, "recorded_at")
    event = RecordedEvent(
        value["seq"],
        value["event_id"],
        value["type"],
        value["aggregate_type"],
        value["aggregate_id"],
        value["payload"],
        value["metadata"],
        value["idempotency_key"],
        occurred,
        recorded,
        value["schema_version"],
        value["prev_hash"],
        value["hash"],
    )
    return Sealed(event, payload_json, metadata_json, iso_utc(occurred), iso_utc(recorded))


def _moment(value: dict[str, Any], name: str) -> datetime:
    text = value[name]
    try:
        moment = datetime.fromisoformat(text) if isinstance(text, str) else None
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise LineProblem(f"has an {name} that is not an ISO 8601 time with its offset")
    return moment


def _count(value: Any) -> bool:
    return value.__class__ is int and value >= 0


def _is_hash(value: Any) -> bool:
    return isinstance(value, str) and _HASH.fullmatch(value) is not None
