"""The helionyx-log line format: written from stored text, read back as the same text.

Payload and metadata are the sealed canonical text; reading a line must give that text
back byte for byte (a number's spelling included), so that the hash recomputes from the
file as the databases' verification computes it from the row. Lines written otherwise (by
hand, by another tool) are read member by member and judged the same way.
"""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime

import pytest

from domain.chain import GENESIS_HASH
from domain.events import LogHead, NewEvent
from infrastructure.log_file.lines import (
    Header,
    LineProblem,
    event_line,
    header_line,
    parse_event,
    parse_header,
)
from infrastructure.log_file.reading import FileProblem, LogFileReader
from infrastructure.sealing import Sealed, seal
from tests.unit.test_sealed_spellings import CORPUS

AT = datetime(2026, 12, 6, 12, 0, 0, 123456, tzinfo=UTC)
TRICKY = NewEvent(
    "test.numbers",
    "test",
    "n",
    {
        "e16": 1e16,
        "negative_zero": -0.0,
        "huge": 1.5e300,
        "float_of_int": 12345678901234567890.0,
        "big_int": 2**70,
        "negative_big": -(10**30),
        "tiny": 5e-324,
        "text": 'Crème brûlée, Привет, 🎉, \u2028 "quoted" \\',
    },
)


def line_of(sealed: Sealed) -> str:
    e = sealed.event
    return event_line(
        e.seq,
        e.event_id,
        e.type,
        e.aggregate_type,
        e.aggregate_id,
        sealed.payload_json,
        sealed.metadata_json,
        e.idempotency_key,
        e.occurred_at,
        e.recorded_at,
        e.schema_version,
        e.prev_hash,
        e.hash,
    )


def sealed_log(events: list[NewEvent]) -> list[Sealed]:
    return seal(events, LogHead(0, GENESIS_HASH), AT)


def export_bytes(log: list[Sealed]) -> bytes:
    head = LogHead(log[-1].event.seq, log[-1].event.hash) if log else LogHead(0, GENESIS_HASH)
    body = "".join(line_of(s) for s in log).encode()
    return header_line(Header("log-1", AT.isoformat(), head)) + body


def test_payload_and_metadata_read_back_as_the_stored_text():
    for sealed in sealed_log([*CORPUS, TRICKY]):
        line = line_of(sealed)
        assert line.endswith("\n") and line.count("\n") == 1
        back = parse_event(line)
        assert back.payload_json == sealed.payload_json
        assert back.metadata_json == sealed.metadata_json
        assert back.event == sealed.event


def test_number_spellings_survive():
    [sealed] = sealed_log([TRICKY])
    line = line_of(sealed)
    for spelled in (
        '"e16":1e+16',
        '"negative_zero":-0.0',
        '"huge":1.5e+300',
        '"float_of_int":1.2345678901234567e+19',
        '"big_int":1180591620717411303424',
    ):
        assert spelled in line
    payload = parse_event(line).event.payload
    assert str(payload["negative_zero"]) == "-0.0" and payload["big_int"] == 2**70


def test_every_line_of_a_written_log_checks():
    log = sealed_log([*CORPUS, TRICKY])
    reader = LogFileReader(io.BytesIO(export_bytes(log)))
    assert [s.payload_json for s in reader.events()] == [s.payload_json for s in log]


def test_a_line_spelled_otherwise_is_read_member_by_member():
    [sealed] = sealed_log([TRICKY])
    members = json.loads(line_of(sealed))
    members["payload"] = "PAYLOAD"
    reordered = {"hash": members.pop("hash"), **members}
    line = json.dumps(reordered, ensure_ascii=True, indent=None, separators=(", ", ": "))
    line = line.replace('"PAYLOAD"', sealed.payload_json) + "\n"
    back = parse_event(line)
    assert back.payload_json == sealed.payload_json and back.event == sealed.event


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("[1, 2]\n", "is not a JSON object"),
        ('{"seq": 1}\n', "has no aggregate_id"),
        ('{"seq": NaN}\n', "is not JSON"),
        ('{"seq": 1, "seq": 2}\n', "names seq twice"),
        ('{"seq": 1} extra\n', "has more after its JSON object"),
        ('{"seq": 1\n', "is not JSON"),
    ],
)
def test_lines_that_are_not_events(line: str, problem: str):
    with pytest.raises(LineProblem, match=problem):
        parse_event(line)


def test_wrong_types_are_named():
    [sealed] = sealed_log([TRICKY])
    members = json.loads(line_of(sealed))
    for name, value, problem in (
        ("seq", "1", "seq"),
        ("hash", "ABC", "hash"),
        ("payload", [1], "payload"),
        ("occurred_at", "2026-01-01T00:00:00", "occurred_at"),
    ):
        with pytest.raises(LineProblem, match=problem):
            parse_event(json.dumps({**members, name: value}) + "\n")


def test_headers():
    head = LogHead(3, "a" * 64)
    line = header_line(Header("log-1", "2026-12-06T00:00:00+00:00", head)).decode()
    assert parse_header(line) == Header("log-1", "2026-12-06T00:00:00+00:00", head)
    body = json.loads(line)
    for changed, problem in (
        ({"format": "other"}, "not a Helionyx log export"),
        ({"version": 2}, "version 2"),
        ({"events": 4}, "says 4 events but its head is seq 3"),
        ({"head": {"seq": 3}}, "right types"),
    ):
        with pytest.raises(LineProblem, match=problem):
            parse_header(json.dumps({**body, **changed}))


def test_a_header_alone_is_an_empty_log():
    reader = LogFileReader(io.BytesIO(export_bytes([])))
    assert list(reader.events()) == [] and reader.header.events == 0


def test_a_line_past_the_head_is_named():
    log = sealed_log([TRICKY, TRICKY])
    data = export_bytes(log[:1]) + line_of(log[1]).encode()
    with pytest.raises(FileProblem, match="line 3: seq 2 lies past the header's head"):
        list(LogFileReader(io.BytesIO(data)).events())
