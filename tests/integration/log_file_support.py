"""What the export and import tests share: a log with every kind of change and awkward
values, an export of it to a file, and the rows to compare between databases."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Text, select, type_coerce
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.events import NewEvent
from infrastructure.log_file.export import jsonl_export, write_chunks
from infrastructure.read_models import DECISION_ROWS, NOTE_ROWS, TODO_ROWS, TRACK_ROWS
from infrastructure.tables import events, idempotency_records
from infrastructure.unit_of_work import SqlUnitOfWorkFactory
from tests.fakes import FakeClock
from tests.integration.test_rebuild import run_scenario

# Numbers whose spelling a database or a JSON round trip could change, and text in
# several scripts: each must come back bit for bit.
AWKWARD = [
    NewEvent(
        "test.numbers",
        "test",
        "numbers-1",
        {
            "e16": 1e16,
            "negative_zero": -0.0,
            "huge": 1.5e300,
            "float_of_int": 12345678901234567890.0,
            "big_int": 2**70,
            "negative_big": -(10**30),
            "tiny": 5e-324,
            "list": [1e16, -0.0, 0.1, 2**64],
        },
        metadata={"source": "tests", "n": -0.0},
    ),
    NewEvent(
        "test.text",
        "test",
        "text-1",
        {
            "accents": "Crème brûlée à la française, ÄÖÜ ß",
            "cyrillic": "Привет, мир",
            "emoji": "🎉🚀👍🏽",
            "mixed": 'line\nbreak \u2028 "quoted" \\ tab\t',
        },
        idempotency_key="ключ-🎉",
    ),
]

EVENT_COLUMNS = (
    events.c.seq,
    events.c.event_id,
    events.c.type,
    events.c.aggregate_type,
    events.c.aggregate_id,
    type_coerce(events.c.payload, Text()),
    type_coerce(events.c.metadata, Text()),
    events.c.idempotency_key,
    events.c.occurred_at,
    events.c.recorded_at,
    events.c.schema_version,
    events.c.prev_hash,
    events.c.hash,
)


async def write_scenario(factory: SqlUnitOfWorkFactory, clock: FakeClock) -> None:
    await run_scenario(factory, clock)
    async with factory(write=True) as uow:
        await uow.events.append(AWKWARD)
        await uow.commit()


async def export_to(path: Path, factory: SqlUnitOfWorkFactory, clock: FakeClock) -> Path:
    with path.open("wb") as stream:
        await write_chunks(jsonl_export(factory, clock), stream)
    return path


async def event_rows(engine: AsyncEngine) -> list[tuple[Any, ...]]:
    """Every column of every event, payload and metadata as the stored text."""
    async with engine.connect() as conn:
        return [
            tuple(row) for row in await conn.execute(select(*EVENT_COLUMNS).order_by(events.c.seq))
        ]


async def read_models(engine: AsyncEngine) -> dict[str, list[Any]]:
    """Every object of every read model, and every idempotency record, by key."""
    found: dict[str, list[Any]] = {}
    async with engine.connect() as conn:
        for codec in (TODO_ROWS, NOTE_ROWS, TRACK_ROWS, DECISION_ROWS):
            query = select(*codec.columns).order_by(codec.table.c.id)
            found[codec.table.name] = [codec.from_row(row) for row in await conn.execute(query)]
        query = select(idempotency_records).order_by(idempotency_records.c.key)
        found["idempotency_records"] = [tuple(row) for row in await conn.execute(query)]
    return found
