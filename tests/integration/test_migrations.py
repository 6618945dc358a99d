"""Migrations on SQLite and PostgreSQL: schema at head, idempotence, downgrade, the guard
triggers, the tier fence, what `schema.problems()` reports, and `alembic upgrade head`."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
import uuid
from contextlib import closing
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from domain.events import NewEvent
from infrastructure.database import create_engine
from infrastructure.migrate import (
    TierMismatchError,
    alembic_config,
    downgrade,
    head_revision,
    upgrade,
)
from infrastructure.schema import DatabaseState, database_state, problems
from infrastructure.tables import helionyx_meta, metadata
from infrastructure.unit_of_work import SqlUnitOfWorkFactory
from tests.fakes import FakeClock

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SCHEMA_TABLES = {"events", "idempotency_records", "helionyx_meta", "alembic_version"}
TRIGGERS = {
    "sqlite": {"events_reject_update", "events_reject_delete", "events_reject_replace"},
    "postgresql": {"events_reject_update_delete", "events_reject_truncate"},
}


async def table_names(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as conn:
        return await conn.run_sync(lambda sync: set(inspect(sync).get_table_names()))


async def event_triggers(engine: AsyncEngine) -> set[str]:
    if engine.dialect.name == "sqlite":
        query = "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'events'"
    else:
        query = (
            "SELECT t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "WHERE c.relname = 'events' AND NOT t.tgisinternal"
        )
    async with engine.connect() as conn:
        return set((await conn.execute(text(query))).scalars())


async def rows(engine: AsyncEngine, query: str) -> list[tuple]:
    async with engine.connect() as conn:
        return [tuple(row) for row in (await conn.execute(text(query))).all()]


async def snapshot(engine: AsyncEngine) -> dict[str, object]:
    """Everything a migration could change that these tests look at."""
    tables = await table_names(engine)
    return {
        "tables": tables,
        "triggers": await event_triggers(engine),
        "state": await database_state(engine),
        "meta": await rows(engine, "SELECT key, value FROM helionyx_meta ORDER BY key")
        if "helionyx_meta" in tables
        else None,
        "events": await rows(engine, "SELECT seq, type, hash FROM events ORDER BY seq")
        if "events" in tables
        else None,
    }


async def append_event(engine: AsyncEngine) -> None:
    factory = SqlUnitOfWorkFactory(engine, FakeClock())
    async with factory(write=True) as uow:
        await uow.events.append(
            [
                NewEvent(
                    type="test.happened", aggregate_type="test", aggregate_id="a1", payload={"n": 1}
                )
            ]
        )
        await uow.commit()


# --- upgrade, again, downgrade ---------------------------------------------------------


async def test_upgrade_creates_the_schema_at_head_with_triggers_and_the_tier(engine):
    assert await table_names(engine) == set()

    await upgrade(engine, "dev")

    tables = await table_names(engine)
    assert tables >= SCHEMA_TABLES
    assert set(metadata.tables) <= tables, "tables.py names tables no migration creates"
    assert await database_state(engine) == DatabaseState(
        engine.dialect.name, head_revision(), "dev"
    )
    meta = dict(await rows(engine, "SELECT key, value FROM helionyx_meta"))
    assert meta.pop("tier") == "dev"
    assert uuid.UUID(meta.pop("log_id")).version == 4  # the id its digests are filed under
    assert meta == {}
    assert await rows(engine, "SELECT version_num FROM alembic_version") == [(head_revision(),)]
    assert await event_triggers(engine) == TRIGGERS[engine.dialect.name]


async def test_upgrading_again_changes_nothing(engine):
    await upgrade(engine, "dev")
    await append_event(engine)
    before = await snapshot(engine)

    await upgrade(engine, "dev")

    assert await snapshot(engine) == before
    assert before["events"] and len(before["events"]) == 1


async def test_downgrade_to_base_removes_the_schema_and_upgrade_works_again(engine):
    await upgrade(engine, "dev")
    await append_event(engine)

    await downgrade(engine, "dev", "base")

    assert await table_names(engine) <= {"alembic_version"}
    assert await event_triggers(engine) == set()
    assert await database_state(engine) == DatabaseState(engine.dialect.name, None, None)
    if engine.dialect.name == "postgresql":
        functions = await rows(
            engine, "SELECT proname FROM pg_proc WHERE proname = 'events_reject_change'"
        )
        assert functions == []

    await upgrade(engine, "dev")

    assert await table_names(engine) >= SCHEMA_TABLES
    assert await event_triggers(engine) == TRIGGERS[engine.dialect.name]
    assert await database_state(engine) == DatabaseState(
        engine.dialect.name, head_revision(), "dev"
    )
    assert await rows(engine, "SELECT count(*) FROM events") == [(0,)]


# --- the tier fence ---------------------------------------------------------------------


async def test_migrating_another_tiers_database_is_refused_and_changes_nothing(engine):
    await upgrade(engine, "dev")
    await append_event(engine)
    before = await snapshot(engine)

    with pytest.raises(TierMismatchError) as refused:
        await upgrade(engine, "staging")
    assert "dev" in str(refused.value) and "staging" in str(refused.value)
    with pytest.raises(TierMismatchError):
        await downgrade(engine, "staging", "base")

    assert await snapshot(engine) == before


async def test_the_fence_is_checked_before_any_migration_runs(engine):
    # A database recorded for dev that has nothing else yet: migrating it for staging must
    # not create a single table.
    async with engine.begin() as conn:
        await conn.run_sync(lambda sync: helionyx_meta.create(sync))
        await conn.execute(helionyx_meta.insert().values(key="tier", value="dev"))

    with pytest.raises(TierMismatchError):
        await upgrade(engine, "staging")

    assert await table_names(engine) == {"helionyx_meta"}
    assert await rows(engine, "SELECT key, value FROM helionyx_meta") == [("tier", "dev")]


# --- what the service checks before it serves -----------------------------------------


def previous_revision() -> str | None:
    scripts = ScriptDirectory.from_config(alembic_config("dev"))
    down = scripts.get_revision(head_revision()).down_revision
    return down if isinstance(down, str) else None


async def check(engine: AsyncEngine, tier: str = "dev") -> list[str]:
    return problems(
        await database_state(engine), expected_revision=head_revision(), expected_tier=tier
    )


async def test_problems_reports_no_schema_an_old_revision_and_a_tier_mismatch(engine):
    [missing] = await check(engine)
    assert "no schema" in missing

    old = previous_revision()
    if old is not None:  # a real older schema
        await upgrade(engine, "dev", old)
    else:  # only one revision so far: pretend to be behind
        old = "20200101_0000"
        await upgrade(engine, "dev")
        async with engine.begin() as conn:
            await conn.execute(text("UPDATE alembic_version SET version_num = :old"), {"old": old})
    [behind] = await check(engine)
    assert old in behind and head_revision() in behind

    await upgrade(engine, "dev")
    assert await check(engine) == []

    [mismatch] = await check(engine, tier="live")
    assert "dev" in mismatch and "live" in mismatch


# --- the shell path ---------------------------------------------------------------------


def shell_environ(**values: str) -> dict[str, str]:
    """The caller's environment minus anything that configures Helionyx, plus `values`."""
    base = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("HELIONYX_", "TELEGRAM_")) and key != "ENV"
    }
    return {**base, **values}


async def test_alembic_upgrade_head_from_a_shell(database_url):
    # dev on SQLite; on PostgreSQL as staging, which also shows the tier comes from ENV.
    tier = "dev" if database_url.startswith("sqlite") else "staging"
    environ = shell_environ(
        ENV=tier,
        HELIONYX_DATABASE_URL=database_url,
        HELIONYX_API_TOKEN="shell-test-api-token",
        TELEGRAM_MODE="off",
    )

    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "alembic", "upgrade", "head"],
        cwd=PROJECT_ROOT,
        env=environ,
        capture_output=True,
        text=True,
        timeout=30,
    )

    assert done.returncode == 0, done.stderr
    if tier == "dev":  # read it back without our own code
        with closing(sqlite3.connect(make_url(database_url).database)) as conn:
            revision = conn.execute("SELECT version_num FROM alembic_version").fetchall()
            recorded = conn.execute("SELECT value FROM helionyx_meta WHERE key = 'tier'")
            assert (revision, recorded.fetchall()) == ([(head_revision(),)], [("dev",)])
    engine = create_engine(database_url)
    try:
        assert await database_state(engine) == DatabaseState(
            engine.dialect.name, head_revision(), tier
        )
        assert await event_triggers(engine) == TRIGGERS[engine.dialect.name]
        other = "staging" if tier == "dev" else "dev"
        with pytest.raises(TierMismatchError):
            await upgrade(engine, other)
    finally:
        await engine.dispose()


# A rolled-back deploy takes the schema down with the failed release's own migrations,
# never below the previous release's head (docs/DEPLOYMENT.md): every downgrade above
# this revision must keep the log exactly. A new migration's downgrade is checked here.
ROLLBACK_FLOOR = "20261206_0007"


async def test_downgrades_a_rollback_may_run_keep_every_event(engine):
    await upgrade(engine, "dev")
    for _ in range(3):
        await append_event(engine)
    before = await snapshot(engine)
    assert len(before["events"]) == 3  # type: ignore[arg-type]

    await downgrade(engine, "dev", ROLLBACK_FLOOR)
    assert (await database_state(engine)).revision == ROLLBACK_FLOOR
    assert await rows(engine, "SELECT seq, type, hash FROM events ORDER BY seq") == before["events"]

    await upgrade(engine, "dev")
    assert await snapshot(engine) == before
