"""The SQLite event log's guard triggers, as migrations 20261126_0001 and _0003 created
them (the migrations keep their own copy, as history that never changes): what `make
migrate` puts back when one is missing."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

TRIGGERS = {
    "events_reject_update": """CREATE TRIGGER events_reject_update BEFORE UPDATE ON events
       BEGIN SELECT RAISE(ABORT, 'events are append-only: UPDATE is not allowed'); END""",
    "events_reject_delete": """CREATE TRIGGER events_reject_delete BEFORE DELETE ON events
       BEGIN SELECT RAISE(ABORT, 'events are append-only: DELETE is not allowed'); END""",
    "events_reject_replace": """CREATE TRIGGER events_reject_replace BEFORE INSERT ON events
        WHEN EXISTS (SELECT 1 FROM events WHERE seq = NEW.seq OR event_id = NEW.event_id
                     OR (NEW.idempotency_key IS NOT NULL
                         AND idempotency_key = NEW.idempotency_key))
        BEGIN
          SELECT RAISE(ABORT, 'events are append-only: a recorded event cannot be replaced');
        END""",
}
ENABLED = text("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'events'")


async def enabled_triggers(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as conn:
        return set((await conn.execute(ENABLED)).scalars())


async def restore_triggers(engine: AsyncEngine, missing: list[str]) -> None:
    async with engine.begin() as conn:
        for name in missing:
            await conn.execute(text(TRIGGERS[name]))
