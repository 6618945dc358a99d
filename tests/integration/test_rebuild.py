"""Rebuilding the read models from the log gives back every row the live path wrote."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.decisions import record_decision, revoke_decision, supersede_decision
from domain.errors import IdempotencyConflict
from domain.ingest import IngestService
from domain.messages import IncomingMessage
from domain.notes import record_note
from domain.todos import cancel_todo, complete_todo, create_todo, reopen_todo
from domain.tracks import check_in_track, finish_track, pause_track, resume_track, start_track
from infrastructure.database import create_engine
from infrastructure.migrate import upgrade
from infrastructure.rebuild import RebuildReport, rebuild_read_models
from infrastructure.unit_of_work import SqlUnitOfWorkFactory
from tests.conftest import API_TOKEN
from tests.fakes import FakeClock

ROOT = Path(__file__).resolve().parents[2]
PRIMARY_KEYS = {
    "todos": "id",
    "notes": "id",
    "tracks": "id",
    "decisions": "id",
    "idempotency_records": "key",
}
MILK = IncomingMessage("todo: buy milk", source="telegram", source_id="1001", author="owner")
WIFI = IncomingMessage("note: wifi is on the router", conversation_id="c-1")


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    await upgrade(engine, "dev")
    try:
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def factory(engine: AsyncEngine, clock: FakeClock) -> SqlUnitOfWorkFactory:
    return SqlUnitOfWorkFactory(engine, clock)


async def run_scenario(factory: SqlUnitOfWorkFactory, clock: FakeClock) -> None:
    """Messages with and without keys, and every kind of change to every kind of object."""
    ingest = IngestService(factory)
    milk = await ingest.ingest(MILK, idempotency_key="key-milk")
    await ingest.ingest(WIFI, idempotency_key="key-wifi")
    earlier = clock.now() - timedelta(hours=1, microseconds=7)
    await ingest.ingest(
        IncomingMessage(
            "hello", source="telegram", source_id="1002", occurred_at=earlier, metadata={"chat": 42}
        )
    )
    await ingest.ingest(IncomingMessage("no key at all"))
    await ingest.ingest_batch(
        [
            IncomingMessage("batch a", source="import", source_id="a"),
            IncomingMessage("batch b", source="import", source_id="b"),
        ]
    )
    clock.advance(minutes=3)
    async with factory(write=True) as uow:
        await create_todo(
            uow,
            title="buy milk",
            priority="high",
            due=date(2026, 12, 1),
            tags=("shop", "ünï"),
            source_event_seq=milk.event.seq,
        )
        await create_todo(uow, title="file taxes", description="before April", due="2027-04-15")
        await create_todo(uow, title="call mum", tags=["family"])
        await record_note(uow, title="wifi", content="50% of the_password", tags=["home"])
        await record_note(uow, title="Ärger im Büro")
        await start_track(uow, title="running", description="5k", check_in_every=3)
        await start_track(uow, title="guitar")
        await record_decision(
            uow, title="Use SQLite", rationale="one user", options=["SQLite", "PostgreSQL"]
        )
        await record_decision(uow, title="No meetings on Friday")
        await uow.commit()
    clock.advance(days=1)
    async with factory(write=True) as uow:
        await complete_todo(uow, 1)
        await cancel_todo(uow, 3)
        await check_in_track(uow, 1, note="5 km")
        await supersede_decision(
            uow, 1, title="Use PostgreSQL", rationale="two writers", options=["PostgreSQL"]
        )
        await uow.commit()
    async with factory(write=True) as uow:  # rolled back: leaves no trace anywhere
        await create_todo(uow, title="dropped")
        await complete_todo(uow, 2)
    clock.advance(hours=5, microseconds=123457)
    async with factory(write=True) as uow:
        await reopen_todo(uow, 1)
        clock.advance(minutes=1)
        await complete_todo(uow, 1)
        await reopen_todo(uow, 3)
        await pause_track(uow, 1)
        await resume_track(uow, 1)
        await check_in_track(uow, 1)
        await pause_track(uow, 2)
        await finish_track(uow, 2)
        await revoke_decision(uow, 2, reason="too strict")
        await record_note(uow, title="third", content="STRASSE")
        await uow.commit()
    await ingest.ingest(
        IncomingMessage("done", source="telegram", source_id="1003"), idempotency_key="key-done"
    )


async def snapshot(engine: AsyncEngine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every read model, as the database returns it."""
    rows = {}
    async with engine.connect() as conn:
        for table, key in PRIMARY_KEYS.items():
            result = await conn.execute(text(f"SELECT * FROM {table} ORDER BY {key}"))
            rows[table] = [tuple(row) for row in result]
    return rows


def counts(rows: dict[str, list[tuple[Any, ...]]]) -> dict[str, int]:
    return {table: len(found) for table, found in rows.items()}


async def event_count(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return (await conn.execute(text("SELECT count(*) FROM events"))).scalar_one()


async def test_a_rebuild_gives_back_every_row(engine, factory, clock):
    await run_scenario(factory, clock)
    live = await snapshot(engine)
    assert counts(live) == {
        "todos": 3,
        "notes": 3,
        "tracks": 2,
        "decisions": 3,
        "idempotency_records": 8,
    }
    events = await event_count(engine)

    clock.advance(days=400)  # a rebuild takes nothing from the clock
    for page_size in (1, 4, 5000):  # objects created in one page, changed in a later one
        report = await rebuild_read_models(factory, page_size=page_size)
        assert await snapshot(engine) == live
        assert report == RebuildReport(
            events=events, todos=3, notes=3, tracks=2, decisions=3, idempotency=8
        )


async def test_idempotency_still_replays_after_a_rebuild(engine, factory, clock):
    await run_scenario(factory, clock)
    ingest = IngestService(factory)
    first = await ingest.ingest(MILK, idempotency_key="key-milk")
    assert first.replayed
    await rebuild_read_models(factory)

    again = await ingest.ingest(MILK, idempotency_key="key-milk")
    assert again.replayed and again.event == first.event
    by_source = await ingest.ingest(MILK)  # the (source, source_id) key alone
    assert by_source.replayed and by_source.event.seq == first.event.seq
    batch_item = await ingest.ingest(IncomingMessage("batch a", source="import", source_id="a"))
    assert batch_item.replayed
    with pytest.raises(IdempotencyConflict):
        await ingest.ingest(IncomingMessage("another text"), idempotency_key="key-wifi")
    new = await ingest.ingest(IncomingMessage("new"), idempotency_key="key-new")
    assert not new.replayed and new.event.seq == await event_count(engine)


async def test_the_services_carry_on_after_a_rebuild(engine, factory, clock):
    await run_scenario(factory, clock)
    await rebuild_read_models(factory)
    async with factory(write=True) as uow:
        todo, _ = await create_todo(uow, title="after the rebuild")
        done, _ = await complete_todo(uow, 2)
        newest, _ = await supersede_decision(uow, 3, title="Use both")
        await uow.commit()
    assert (todo.number, done.status, newest.number) == (4, "done", 4)
    live = await snapshot(engine)
    await rebuild_read_models(factory)
    assert await snapshot(engine) == live


async def test_a_rebuild_repairs_read_models_that_drifted(engine, factory, clock):
    await run_scenario(factory, clock)
    live = await snapshot(engine)
    async with engine.begin() as conn:
        await conn.execute(text("DELETE FROM todos WHERE number = 1"))
        await conn.execute(text("UPDATE notes SET title = 'tampered'"))
        await conn.execute(text("UPDATE decisions SET status = 'active'"))
        await conn.execute(text("DELETE FROM idempotency_records WHERE key = 'key-milk'"))
        stray = "INSERT INTO idempotency_records (key, event_seq, request_hash) VALUES (:k, 1, 'h')"
        await conn.execute(text(stray), {"k": "stray"})
    assert await snapshot(engine) != live
    await rebuild_read_models(factory)
    assert await snapshot(engine) == live


async def test_an_empty_log_rebuilds_to_empty_models(factory):
    report = await rebuild_read_models(factory)
    assert report == RebuildReport(0, 0, 0, 0, 0, 0)


async def test_progress_is_reported_per_page(engine, factory, clock):
    await run_scenario(factory, clock)
    pages: list[int] = []
    report = await rebuild_read_models(factory, page_size=10, progress=pages.append)
    assert sum(pages) == report.events == await event_count(engine)
    assert all(size == 10 for size in pages[:-1]) and 0 < pages[-1] <= 10


async def test_appends_during_a_rebuild_wait_for_it_and_are_kept(engine, factory, clock):
    await run_scenario(factory, clock)

    async def writer(n: int) -> None:
        for i in range(3):
            async with factory(write=True) as uow:
                await create_todo(uow, title=f"writer {n} item {i}")
                await record_note(uow, title=f"note {n}.{i}")
                await uow.commit()

    await asyncio.gather(
        rebuild_read_models(factory, page_size=7),
        *(writer(n) for n in range(4)),
        rebuild_read_models(factory, page_size=3),
    )
    live = await snapshot(engine)
    assert counts(live)["todos"] == 3 + 12 and counts(live)["notes"] == 3 + 12
    await rebuild_read_models(factory)
    assert await snapshot(engine) == live


async def test_the_cli_rebuilds_a_sqlite_database(sqlite_url, clock):
    engine = create_engine(sqlite_url)
    try:
        await upgrade(engine, "dev")
        await run_scenario(SqlUnitOfWorkFactory(engine, clock), clock)
        live = await snapshot(engine)
        events = await event_count(engine)
        async with engine.begin() as conn:
            await conn.execute(text("DELETE FROM todos"))
    finally:
        await engine.dispose()

    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("HELIONYX_", "TELEGRAM_")) and key != "ENV"
    }
    env.update(HELIONYX_DATABASE_URL=sqlite_url, HELIONYX_API_TOKEN=API_TOKEN)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "app.cli",
        "--env",
        "dev",
        "rebuild",
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
    output = stdout.decode()
    assert process.returncode == 0, stderr.decode()
    assert f"from {events} events" in output
    for part in ("3 todos", "3 notes", "2 tracks", "3 decisions", "8 idempotency records"):
        assert part in output

    engine = create_engine(sqlite_url)
    try:
        assert await snapshot(engine) == live
    finally:
        await engine.dispose()


async def test_a_scripted_day_of_every_command_rebuilds_row_for_row(engine, factory, clock):
    from zoneinfo import ZoneInfo

    from domain.conversation import ConversationService
    from domain.rules_extractor import RulesExtractor

    zone = ZoneInfo("America/New_York")
    ingest = IngestService(factory, RulesExtractor(), clock, zone=zone)
    chat = ConversationService(factory, ingest, clock, zone=zone)
    day = [
        "/todo call the dentist tomorrow 9am !high #health",
        "/todo pay rent by friday",
        "/edit 1 call the dentist monday 10:30",
        "/done 2",
        "/reopen 2",
        "/cancel 2",
        "/undo",
        "/note wifi is on the router #home",
        "/edit note 1 wifi moved",
        "/archive 1",
        "/track running every 2 days",
        "/checkin running 5 km",
        "/pause 1",
        "/resume 1",
        "/decide use SQLite because one user review in 3 months",
        "/supersede 1 use PostgreSQL because backups",
        "/revoke 2 dropped",
        "/outcome 1 fine",
        "/undo",
        "/finish 1",
    ]
    for text_ in day:
        clock.advance(minutes=1)
        await chat.handle(text_, channel="http")
    live = await snapshot(engine)
    assert counts(live)["todos"] == 2 and counts(live)["decisions"] == 2
    await rebuild_read_models(factory)
    assert await snapshot(engine) == live
