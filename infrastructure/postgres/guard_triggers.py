"""The PostgreSQL event log's guard triggers, as migration 20261126_0001 created them (the
migration keeps its own copy, as history that never changes): what `make migrate` puts
back when one is missing or was disabled by hand."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

_POSTGRES_FUNCTION = """CREATE OR REPLACE FUNCTION events_reject_change() RETURNS trigger
       LANGUAGE plpgsql AS $$
       BEGIN
         RAISE EXCEPTION 'events are append-only: % is not allowed', TG_OP;
       END $$"""
TRIGGERS = {
    "events_reject_update_delete": """CREATE TRIGGER events_reject_update_delete
       BEFORE UPDATE OR DELETE ON events
       FOR EACH ROW EXECUTE FUNCTION events_reject_change()""",
    "events_reject_truncate": """CREATE TRIGGER events_reject_truncate BEFORE TRUNCATE ON events
       FOR EACH STATEMENT EXECUTE FUNCTION events_reject_change()""",
}


# tgenabled is 'D' when disabled
# (https://www.postgresql.org/docs/current/catalog-pg-trigger.html).
ENABLED = text(
    "SELECT tgname FROM pg_trigger WHERE tgrelid = 'events'::regclass "
    "AND NOT tgisinternal AND tgenabled <> 'D'"
)
_PRESENT = text(
    "SELECT tgname FROM pg_trigger WHERE tgrelid = 'events'::regclass AND NOT tgisinternal"
)


async def enabled_triggers(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as conn:
        return set((await conn.execute(ENABLED)).scalars())


async def restore_triggers(engine: AsyncEngine, missing: list[str]) -> None:
    async with engine.begin() as conn:
        await conn.execute(text(_POSTGRES_FUNCTION))
        present = set((await conn.execute(_PRESENT)).scalars())
        for name in missing:
            if name in present:  # disabled by hand: enable it again
                await conn.execute(text(f"ALTER TABLE events ENABLE TRIGGER {name}"))
            else:
                await conn.execute(text(TRIGGERS[name]))
