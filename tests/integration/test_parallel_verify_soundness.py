"""The bytes verify spells from a row are accepted only when no other content spells them:
an alteration that keeps the text whole (moving bytes from one column to the next) is
still named, and a row spelled in a way its hash does not cover is judged by its content."""

from __future__ import annotations

import hashlib
import sqlite3
from contextlib import closing
from pathlib import Path

from domain.chain import canonical_json, event_hash, iso_utc
from infrastructure.sqlite.event_rows import SELECT_EVENTS, stored_time, to_event
from tests.integration.test_parallel_verify import (
    EVENTS,
    altered,
    message,
    verify,
    verify_in_process,
    write_log,
)

FORGED_TIME = "2020-01-01T00:00:00.000000"
OCCURRED_KEY = ',"occurred_at":"'
PAYLOAD_KEY = '+00:00","payload":'


def row(path: Path, seq: int) -> tuple:
    with closing(sqlite3.connect(path)) as db:
        return db.execute(f"{SELECT_EVENTS} WHERE seq = ?", (seq,)).fetchone()


def spelled(path: Path, seq: int) -> str:
    """The text a row spells with its columns put in place as stored, unchecked."""
    (
        seq,
        event_id,
        type_,
        aggregate_type,
        aggregate_id,
        payload,
        metadata,
        _,
        occurred,
        recorded,
        version,
        prev_hash,
        _,
    ) = row(path, seq)
    return (
        f'{{"aggregate_id":"{aggregate_id}","aggregate_type":"{aggregate_type}",'
        f'"event_id":"{event_id}","idempotency_key":null,"metadata":{metadata},'
        f'"occurred_at":"{occurred.replace(" ", "T")}+00:00","payload":{payload},'
        f'"prev_hash":"{prev_hash}","recorded_at":"{recorded.replace(" ", "T")}+00:00",'
        f'"schema_version":{version},"seq":{seq},"type":"{type_}"}}'
    )


def sql(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


async def text_moved_into_metadata(directory: Path, seq: int, count: int) -> Path:
    """A log of `count` messages whose row `seq` held a payload with the keys around the
    time: part of it, moved to the end of the metadata, leaves a forged time in
    occurred_at and every byte of the row's text in place. Returns the altered copy."""
    events = [message(n) for n in range(1, count + 1)]
    events[seq - 1] = message(
        seq, payload={"a": 1, "occurred_at": f"{FORGED_TIME}+00:00", "payload": {"b": 2}}
    )
    await write_log(directory / "log.db", events)
    _, _, _, _, _, _, metadata, _, occurred, *_ = row(directory / "log.db", seq)
    moved = f'{metadata}{OCCURRED_KEY}{occurred.replace(" ", "T")}{PAYLOAD_KEY}{{"a":1'
    return altered(
        directory / "log.db",
        f"""UPDATE events SET metadata = {sql(moved)},
        occurred_at = '{FORGED_TIME.replace("T", " ")}', payload = '{{"b":2}}}}'
        WHERE seq = {seq}""",
    )


async def test_text_moved_from_payload_into_metadata_is_named(tmp_path: Path):
    seq = 14
    path = await text_moved_into_metadata(tmp_path, seq, EVENTS)

    assert hashlib.sha256(spelled(path, seq).encode()).hexdigest() == row(path, seq)[-1]
    report = await verify(path)
    assert report.first_bad_seq == seq and "cannot be read" in (report.problem or "")
    assert report.count == EVENTS and report.problems_total == 1


async def test_text_moved_from_metadata_into_payload_is_named(tmp_path: Path):
    seq = 23
    events = [message(n) for n in range(1, EVENTS + 1)]
    events[seq - 1] = message(
        seq, metadata={"k": 1, "occurred_at": f"{FORGED_TIME}+00:00", "payload": {"x": 1}}
    )
    await write_log(tmp_path / "log.db", events)
    _, _, _, _, _, payload, _, _, occurred, *_ = row(tmp_path / "log.db", seq)
    moved = f'{{"x":1}}}}{OCCURRED_KEY}{occurred.replace(" ", "T")}{PAYLOAD_KEY}{payload}'
    path = altered(
        tmp_path / "log.db",
        f"""UPDATE events SET metadata = '{{"k":1',
        occurred_at = '{FORGED_TIME.replace("T", " ")}', payload = {sql(moved)}
        WHERE seq = {seq}""",
    )

    assert hashlib.sha256(spelled(path, seq).encode()).hexdigest() == row(path, seq)[-1]
    report = await verify(path)
    assert report.first_bad_seq == seq and "cannot be read" in (report.problem or "")


async def test_an_event_appended_with_json_spelled_its_own_way_is_intact(tmp_path: Path):
    await write_log(tmp_path / "log.db", [message(n) for n in range(1, EVENTS + 1)])
    head = to_event(row(tmp_path / "log.db", EVENTS))
    fields = dict(
        seq=EVENTS + 1,
        event_id="0a0b0c0d-0000-4000-8000-000000000031",
        type="message.ingested",
        aggregate_type="message",
        aggregate_id="m31",
        payload={"n": 31, "text": "spelled"},
        metadata={"channel": "test"},
        idempotency_key="k31",
        occurred_at=head.occurred_at,
        recorded_at=head.recorded_at,
        schema_version=1,
        prev_hash=head.hash,
    )
    hash_ = event_hash(**fields)  # over the canonical content
    when = stored_time(iso_utc(head.occurred_at))
    path = altered(
        tmp_path / "log.db",
        f"""INSERT INTO events VALUES ({EVENTS + 1},
        '{fields["event_id"]}', 'message.ingested', 'message', 'm31',
        '{{ "text": "spelled",  "n": 31 }}', {sql(canonical_json(fields["metadata"]))}, 'k31',
        '{when}', '{when}', 1, '{head.hash}', '{hash_}')""",
    )

    report = await verify(path)
    assert report.intact and report.count == EVENTS + 1 and report.head_hash == hash_
    assert report == await verify_in_process(path)


async def test_a_string_altered_to_its_own_json_spelling_is_named(tmp_path: Path):
    # 'a"b' is sealed as "a\"b": the stored value a\"b spells the same bytes unescaped.
    events = [message(n) for n in range(1, EVENTS + 1)]
    events[17] = message(18, aggregate_id='a"b')
    await write_log(tmp_path / "log.db", events)
    path = altered(
        tmp_path / "log.db", """UPDATE events SET aggregate_id = 'a\\"b' WHERE seq = 18"""
    )

    assert hashlib.sha256(spelled(path, 18).encode()).hexdigest() == row(path, 18)[-1]
    report = await verify(path)
    assert (report.first_bad_seq, report.problem) == (18, "seq 18: content does not match its hash")
