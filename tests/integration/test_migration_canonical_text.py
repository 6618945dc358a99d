"""Migration 20261206_0006 on PostgreSQL: events whose JSONB normalised the numbers their
hash covers (1e16 read back as 10000000000000000, -0.0 as 0.0) verify again after it,
and an event that was really altered is still reported."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from domain.chain import GENESIS_HASH, canonical_json, event_hash
from domain.event_log import EventLog
from infrastructure.database import create_engine
from infrastructure.migrate import downgrade, upgrade
from infrastructure.unit_of_work import SqlUnitOfWorkFactory
from tests.fakes import FakeClock

pytestmark = pytest.mark.postgres

BEFORE = "20261126_0005"
START = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
COLUMNS = (
    "seq, event_id, type, aggregate_type, aggregate_id, payload, metadata, "
    "idempotency_key, occurred_at, recorded_at, schema_version, prev_hash, hash"
)
INSERT = text(
    f"INSERT INTO events ({COLUMNS}) VALUES (:seq, :event_id, :type, "
    ":aggregate_type, :aggregate_id, CAST(:payload AS jsonb), CAST(:metadata AS jsonb), "
    ":idempotency_key, :occurred_at, :recorded_at, :schema_version, :prev_hash, :hash)"
)

# (payload sealed, metadata sealed, payload stored if not the sealed one)
EVENTS = [
    ({"text": "plain", "n": 1}, {"channel": "http"}, None),
    ({"x": 1e16}, {"z": -0.0}, None),
    # Several numbers JSONB normalises, next to look-alikes that are what they seem: the
    # repair has to find which of them were floats.
    (
        {
            "a": 1e16,
            "b": 10**16,
            "c": 0.0,
            "d": -0.0,
            "e": [1.5e300, 12345678901234567890.0, 2**70, 1e-7, 5e-324],
        },
        {"deep": {"list": [{"k": -1e16}]}, "big": int("7" * 400)},
        None,
    ),
    ({"text": "untouched numbers", "f": 0.5, "i": 10**20}, {}, None),
    # Really altered: its hash covers n = 1.
    ({"n": 1, "x": 1e16}, {}, {"n": 2, "x": 1e16}),
]
ALTERED_SEQ = 5


def sealed_rows() -> list[dict]:
    rows, prev_hash = [], GENESIS_HASH
    for seq, (payload, metadata, stored) in enumerate(EVENTS, start=1):
        row = {
            "seq": seq,
            "event_id": f"00000000-0000-7000-8000-{seq:012d}",
            "type": "test.happened",
            "aggregate_type": "test",
            "aggregate_id": f"a{seq}",
            "idempotency_key": None,
            "occurred_at": START + timedelta(minutes=seq),
            "recorded_at": START + timedelta(minutes=seq, microseconds=seq),
            "schema_version": 1,
            "prev_hash": prev_hash,
        }
        row["hash"] = event_hash(payload=payload, metadata=metadata, **row)
        row["payload"] = canonical_json(stored if stored is not None else payload)
        row["metadata"] = canonical_json(metadata)
        rows.append(row)
        prev_hash = row["hash"]
    return rows


async def stored(engine) -> list[tuple[int, str, str]]:
    async with engine.connect() as conn:
        result = await conn.execute(
            text("SELECT seq, payload::text, metadata::text FROM events ORDER BY seq")
        )
        return [tuple(row) for row in result]


async def verify(engine):
    return await EventLog(SqlUnitOfWorkFactory(engine, FakeClock())).verify()


async def not_matching_their_hash(engine) -> list[int]:
    """On the JSONB schema (which this code no longer reads): the seqs whose content, as
    the database gives it back, does not hash to their recorded hash."""
    columns = COLUMNS.replace("payload,", "payload::text AS payload,").replace(
        "metadata,", "metadata::text AS metadata,"
    )
    async with engine.connect() as conn:
        rows = [
            dict(row._mapping)
            for row in await conn.execute(text(f"SELECT {columns} FROM events ORDER BY seq"))
        ]
    broken = []
    for row in rows:
        recorded = row.pop("hash")
        row["payload"], row["metadata"] = json.loads(row["payload"]), json.loads(row["metadata"])
        if event_hash(**row) != recorded:
            broken.append(row["seq"])
    return broken


async def test_jsonb_normalised_numbers_are_repaired_and_an_altered_event_is_still_found(
    postgres_url,
):
    engine = create_engine(postgres_url)
    try:
        await upgrade(engine, "dev", BEFORE)
        rows = sealed_rows()
        async with engine.begin() as conn:
            await conn.execute(INSERT, rows)
        # The broken state: JSONB kept the numbers, not the text that was hashed.
        jsonb = await stored(engine)
        assert "10000000000000000" in jsonb[1][1] and '"z": 0.0' in jsonb[1][2]
        assert await not_matching_their_hash(engine) == [2, 3, ALTERED_SEQ]

        await upgrade(engine, "dev")

        report = await verify(engine)
        assert report.first_bad_seq == ALTERED_SEQ, report.problem
        assert "does not match its hash" in report.problem
        # Every event before it holds exactly the text that was sealed...
        after = await stored(engine)
        for row, (seq, payload, metadata) in zip(rows, after, strict=True):
            if seq != ALTERED_SEQ:
                assert (payload, metadata) == (row["payload"], row["metadata"]), seq
        # ...and reads back as the values it was sealed with, sign of zero included.
        async with SqlUnitOfWorkFactory(engine, FakeClock())() as uow:
            read = await uow.events.read(after_seq=0, limit=10)
        for (payload, metadata, altered), event in zip(EVENTS, read, strict=True):
            if altered is None:
                assert canonical_json([event.payload, event.metadata]) == canonical_json(
                    [payload, metadata]
                )
        # The altered event is left as it was found (JSONB's spelling, not repaired).
        assert after[ALTERED_SEQ - 1][1] == jsonb[ALTERED_SEQ - 1][1]

        # The guard trigger is back on, and refuses updates as before.
        async with engine.connect() as conn:
            enabled = (
                await conn.execute(
                    text(
                        "SELECT t.tgenabled::text FROM pg_trigger t "
                        "JOIN pg_class c ON c.oid = t.tgrelid "
                        "WHERE c.relname = 'events' AND t.tgname = 'events_reject_update_delete'"
                    )
                )
            ).scalar_one()
        assert enabled == "O"
        with pytest.raises(Exception, match="append-only"):
            async with engine.begin() as conn:
                await conn.execute(text("UPDATE events SET type = 'x' WHERE seq = 1"))

        # Down to JSONB (normalised again) and up: repaired again, the same way.
        await downgrade(engine, "dev", BEFORE)
        assert await not_matching_their_hash(engine) == [2, 3, ALTERED_SEQ]
        await upgrade(engine, "dev")
        assert await stored(engine) == after
        assert (await verify(engine)).first_bad_seq == ALTERED_SEQ
    finally:
        await engine.dispose()


async def test_new_events_after_the_migration_keep_their_numbers(postgres_url):
    engine = create_engine(postgres_url)
    try:
        await upgrade(engine, "dev")
        async with engine.connect() as conn:
            types = dict(
                (
                    await conn.execute(
                        text(
                            "SELECT column_name, data_type FROM information_schema.columns "
                            "WHERE table_name = 'events' AND column_name IN ('payload', 'metadata')"
                        )
                    )
                ).all()
            )
        assert types == {"payload": "text", "metadata": "text"}
    finally:
        await engine.dispose()
