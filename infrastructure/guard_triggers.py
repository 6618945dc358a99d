"""Put the event log's guard triggers back when they are missing or disabled (`make
migrate`, as the table's owner). Their definitions are those of migrations
20261126_0001 and _0003, which created them; the migrations keep their own copy, as
history that never changes."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from infrastructure.log_facts import SqlLogFacts

SQLITE_TRIGGERS = {
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
_POSTGRES_FUNCTION = """CREATE OR REPLACE FUNCTION events_reject_change() RETURNS trigger
       LANGUAGE plpgsql AS $$
       BEGIN
         RAISE EXCEPTION 'events are append-only: % is not allowed', TG_OP;
       END $$"""
_POSTGRES = {
    "events_reject_update_delete": """CREATE TRIGGER events_reject_update_delete
       BEFORE UPDATE OR DELETE ON events
       FOR EACH ROW EXECUTE FUNCTION events_reject_change()""",
    "events_reject_truncate": """CREATE TRIGGER events_reject_truncate BEFORE TRUNCATE ON events
       FOR EACH STATEMENT EXECUTE FUNCTION events_reject_change()""",
}


async def restore_guard_triggers(engine: AsyncEngine) -> list[str]:
    """The triggers put back (created, or enabled again); [] when all were in place."""
    missing = await SqlLogFacts(engine).missing_triggers()
    if not missing:
        return []
    async with engine.begin() as conn:
        if engine.dialect.name == "sqlite":
            for name in missing:
                await conn.execute(text(SQLITE_TRIGGERS[name]))
            return missing
        await conn.execute(text(_POSTGRES_FUNCTION))
        present = set((await conn.execute(text(
            "SELECT tgname FROM pg_trigger WHERE tgrelid = 'events'::regclass "
            "AND NOT tgisinternal"))).scalars())
        for name in missing:
            if name in present:  # disabled by hand: enable it again
                await conn.execute(text(f"ALTER TABLE events ENABLE TRIGGER {name}"))
            else:
                await conn.execute(text(_POSTGRES[name]))
    return missing
