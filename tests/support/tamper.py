"""What someone with write access to the database could do behind the service's back:
the guard triggers taken away (and put back), rows changed, removed or re-chained."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from domain.chain import canonical_json, hash_of
from infrastructure.postgres.event_store import PostgresEventStore
from infrastructure.sqlite.event_store import SqliteEventStore
from infrastructure.sqlite.guard_triggers import TRIGGERS as SQLITE_TRIGGERS

# Only these two stand in the way of UPDATE and DELETE on SQLite.
SQLITE_GUARDS = ("events_reject_update", "events_reject_delete")


@asynccontextmanager
async def unguarded(engine: AsyncEngine, *, restore: bool = True) -> AsyncIterator[AsyncConnection]:
    """A transaction in which the events table takes UPDATE and DELETE; the triggers are
    back afterwards unless `restore` is False."""
    sqlite = engine.dialect.name == "sqlite"
    async with engine.begin() as conn:
        if sqlite:
            for name in SQLITE_GUARDS:
                await conn.execute(text(f"DROP TRIGGER IF EXISTS {name}"))
        else:
            await conn.execute(text("ALTER TABLE events DISABLE TRIGGER USER"))
        yield conn
        if restore:
            if sqlite:
                for name in SQLITE_GUARDS:
                    await conn.execute(text(SQLITE_TRIGGERS[name]))
            else:
                await conn.execute(text("ALTER TABLE events ENABLE TRIGGER USER"))


async def drop_triggers(engine: AsyncEngine) -> None:
    async with unguarded(engine, restore=False):
        pass


async def truncate_tail(engine: AsyncEngine, count: int) -> None:
    async with unguarded(engine) as conn:
        last = (await conn.execute(text("SELECT max(seq) FROM events"))).scalar_one()
        await conn.execute(text("DELETE FROM events WHERE seq > :s"), {"s": last - count})


async def delete_rows(engine: AsyncEngine, *seqs: int) -> None:
    async with unguarded(engine) as conn:
        for seq in seqs:
            await conn.execute(text("DELETE FROM events WHERE seq = :s"), {"s": seq})


async def change_payload(engine: AsyncEngine, seq: int, payload: dict) -> None:
    async with unguarded(engine) as conn:
        await conn.execute(
            text("UPDATE events SET payload = :p WHERE seq = :s"),
            {"p": canonical_json(payload), "s": seq},
        )


async def rechain_from(engine: AsyncEngine, seq: int, payload: dict) -> None:
    """Change one event's payload and recompute its hash and every later one, as anyone
    who has read domain/chain.py could: the chain alone then verifies intact."""
    async with unguarded(engine) as conn:
        reader = SqliteEventStore if conn.dialect.name == "sqlite" else PostgresEventStore
        store = reader(conn, clock=None)  # type: ignore[arg-type]  # reads only
        events = await store.read(after_seq=seq - 1, limit=1_000_000)
        prev_hash = events[0].prev_hash
        for event in events:
            if event.seq == seq:
                event = event._replace(payload=payload)
            event = event._replace(prev_hash=prev_hash)
            event = event._replace(hash=hash_of(event))
            await conn.execute(
                text("UPDATE events SET payload = :p, prev_hash = :ph, hash = :h WHERE seq = :s"),
                {
                    "p": canonical_json(dict(event.payload)),
                    "ph": event.prev_hash,
                    "h": event.hash,
                    "s": event.seq,
                },
            )
            prev_hash = event.hash


async def point_record_past_head(engine: AsyncEngine, key: str) -> None:
    async with engine.begin() as conn:
        last = (await conn.execute(text("SELECT max(seq) FROM events"))).scalar_one()
        await conn.execute(
            text("UPDATE idempotency_records SET event_seq = :s WHERE key = :k"),
            {"s": last + 10, "k": key},
        )


async def delete_rows_guarded(engine: AsyncEngine, seq: int) -> None:
    """A DELETE with the triggers left as they are."""
    async with engine.begin() as conn:
        await conn.execute(text("DELETE FROM events WHERE seq = :s"), {"s": seq})
