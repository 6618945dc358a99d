"""Backups are consistent copies with a verified chain; restores verify before and after,
refuse damaged backups and never replace events (or cross tiers) without the flag."""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
import threading
from pathlib import Path

import httpx
import pytest
from sqlalchemy import make_url, text

from app.cli.backup import cmd_restore
from app.cli.main import parser
from domain.clock import SystemClock
from domain.ingest import IngestService
from domain.messages import IncomingMessage
from domain.rules_extractor import RulesExtractor
from infrastructure.backup.base import connected
from infrastructure.backup.manifest import manifest_path, sha256_of
from infrastructure.backup.orchestration import BackupCorrupt, RestoreRefused, backup, restore
from infrastructure.migrate import upgrade
from infrastructure.postgres.backup import run_tool, scratch_name
from infrastructure.unit_of_work import SqlUnitOfWorkFactory
from tests.conftest import (
    API_TOKEN,
    create_postgres_database,
    drop_postgres_database,
    make_settings,
)
from tests.e2e.service import Service, cli

NAME = re.compile(r"helionyx-(dev|staging|live)-\d{8}T\d{6}Z-seq(\d+)\.(sqlite3|dump)")


async def seed(url: str, *texts: str, tier: str = "dev") -> None:
    async with connected(url) as engine:
        await upgrade(engine, tier)
        clock = SystemClock()
        ingest = IngestService(SqlUnitOfWorkFactory(engine, clock), RulesExtractor(), clock)
        for message in texts:
            await ingest.ingest(IncomingMessage(message))


async def rows(url: str) -> dict[str, list[tuple]]:
    """Every row of the event log and a read model, as the database returns them."""
    async with connected(url) as engine, engine.connect() as conn:
        return {
            table: [tuple(r) for r in await conn.execute(text(f"SELECT * FROM {table} {order}"))]
            for table, order in (("events", "ORDER BY seq"), ("todos", "ORDER BY id"))
        }


async def recorded_tier(url: str) -> str:
    async with connected(url) as engine, engine.connect() as conn:
        query = text("SELECT value FROM helionyx_meta WHERE key = 'tier'")
        return (await conn.execute(query)).scalar_one()


MESSAGES = ("todo: buy milk", "note: wifi is on the router", "hello", "todo: call mum")
SEEDED = 7  # four messages, and a todo, a note and a todo derived from them


def sqlite_at(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


@pytest.fixture
async def sqlite_backup(tmp_path: Path) -> tuple[str, Path]:
    live = sqlite_at(tmp_path / "live.db")
    await seed(live, *MESSAGES)
    return live, (await backup(live, "dev", tmp_path / "backups")).path


@pytest.fixture
async def other_target(tmp_path: Path) -> str:
    url = sqlite_at(tmp_path / "other.db")
    await seed(url, "an event the restore must not lose by accident")
    return url


async def test_sqlite_backup_names_and_manifest_match_the_chain(tmp_path: Path):
    live = sqlite_at(tmp_path / "live.db")
    await seed(live, *MESSAGES)
    result = await backup(live, "dev", tmp_path / "backups")

    match = NAME.fullmatch(result.path.name)
    assert match and match.groups() == ("dev", str(SEEDED), "sqlite3")
    assert result.manifest_path == manifest_path(result.path)
    manifest = json.loads(result.manifest_path.read_text())
    events = (await rows(live))["events"]
    assert manifest["count"] == manifest["last_seq"] == len(events)
    assert manifest["head_hash"] == events[-1][-1]
    assert manifest["sha256"] == sha256_of(result.path)
    assert manifest["file_size"] == result.path.stat().st_size
    assert (manifest["tier"], manifest["dialect"]) == ("dev", "sqlite")
    assert manifest["schema_revision"]
    assert sorted(p.name for p in result.path.parent.iterdir()) == sorted(
        [result.path.name, result.manifest_path.name]
    ), "no temporary, -wal or -shm files are left next to a backup"


async def test_sqlite_restore_into_an_empty_database_gives_identical_rows(
    sqlite_backup, tmp_path: Path
):
    live, path = sqlite_backup
    target = sqlite_at(tmp_path / "restored" / "new.db")
    result = await restore(path, target, "dev")
    assert result.replaced_events == 0 and result.restored.report.intact
    assert await rows(target) == await rows(live)


def test_sqlite_restore_refuses_a_database_with_events_unless_confirmed(
    sqlite_backup, other_target: str
):
    live, path = sqlite_backup
    before = _rows(other_target)
    refused = cli(other_target, "restore", str(path))
    assert refused.returncode == 1
    assert "holds 1 events" in refused.stderr and "--yes-overwrite" in refused.stderr
    assert _rows(other_target) == before

    done = cli(other_target, "restore", str(path), "--yes-overwrite")
    assert done.returncode == 0, done.stderr
    assert f"{SEEDED} events" in done.stdout and "replacing 1 events" in done.stdout
    assert _rows(other_target) == _rows(live)


async def test_usage_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    with pytest.raises(SystemExit) as exited:
        parser().parse_args(["restore"])
    assert exited.value.code == 2
    args = parser().parse_args(["restore", str(tmp_path / "nope.sqlite3")])
    settings = make_settings(sqlite_at(tmp_path / "x.db"))
    assert await cmd_restore(None, settings, args) == 2  # type: ignore[arg-type]
    assert "no such backup file" in capsys.readouterr().err


def _tamper(db: Path, statement: str) -> None:
    with sqlite3.connect(db) as conn:
        conn.execute("DROP TRIGGER events_reject_update")
        conn.execute("DROP TRIGGER events_reject_delete")
        conn.execute(statement)
    conn.close()


def _refresh_manifest(path: Path, **changes) -> None:
    """What a careless (or malicious) hand does: make the manifest match the file again."""
    manifest = manifest_path(path)
    data = json.loads(manifest.read_text())
    data.update(sha256=sha256_of(path), file_size=path.stat().st_size, **changes)
    manifest.write_text(json.dumps(data))


FORGE = "UPDATE events SET payload = json_set(payload, '$.text', 'forged') WHERE seq = 3"


def corrupt_forged_keeping_manifest(path: Path) -> str:
    _tamper(path, FORGE)
    return "SHA-256 does not match"


def corrupt_forged_with_refreshed_manifest(path: Path) -> str:
    _tamper(path, FORGE)
    _refresh_manifest(path)
    return "broken at seq 3"


def corrupt_forged_without_manifest(path: Path) -> str:
    _tamper(path, FORGE)
    manifest_path(path).unlink()
    return "broken at seq 3"


def corrupt_tail_removed(path: Path) -> str:
    _tamper(path, "DELETE FROM events WHERE seq = (SELECT max(seq) FROM events)")
    _refresh_manifest(path)  # the chain that is left is intact: only the manifest knows
    return "its manifest says"


def corrupt_truncated(path: Path) -> str:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    manifest_path(path).unlink()
    return "SQLite"


def corrupt_garbage(path: Path) -> str:
    path.write_bytes(b"this is not a database at all\n" * 100)
    manifest_path(path).unlink()
    return "neither a SQLite database nor a pg_dump archive"


@pytest.mark.parametrize(
    "corrupt",
    [
        corrupt_forged_keeping_manifest,
        corrupt_forged_with_refreshed_manifest,
        corrupt_forged_without_manifest,
        corrupt_tail_removed,
        corrupt_truncated,
        corrupt_garbage,
    ],
)
async def test_sqlite_a_damaged_backup_is_refused_and_the_target_untouched(
    sqlite_backup, other_target: str, corrupt
):
    _, path = sqlite_backup
    expected = corrupt(path)
    before = await rows(other_target)
    with pytest.raises(BackupCorrupt, match=expected) as refused:
        await restore(path, other_target, "dev", overwrite=True)
    if "seq 3" in expected:
        assert refused.value.first_bad_seq == 3
    assert await rows(other_target) == before


def test_sqlite_cli_names_the_first_bad_seq(sqlite_backup, other_target: str):
    _, path = sqlite_backup
    corrupt_forged_without_manifest(path)
    before = _rows(other_target)
    result = cli(other_target, "restore", str(path), "--yes-overwrite")
    assert result.returncode == 1
    assert "broken at seq 3" in result.stderr and "Nothing was changed" in result.stderr
    assert _rows(other_target) == before


@pytest.mark.e2e
def test_sqlite_backup_while_the_service_is_ingesting(tmp_path: Path):
    live = sqlite_at(tmp_path / "service.db")
    asyncio.run(seed(live))
    service = Service(live, tmp_path / "service.log")
    stop, acked, failed = threading.Event(), [], []

    def post() -> None:
        headers = {"Authorization": f"Bearer {API_TOKEN}"}
        with httpx.Client(base_url=service.base_url, headers=headers, timeout=10) as http:
            while not stop.is_set():
                response = http.post("/api/v1/ingest/message", json={"text": "todo: load"})
                if response.status_code != 201:
                    failed.append(response.text)
                    return
                acked.append(response.json()["seq"])

    service.start()
    writer = threading.Thread(target=post)
    writer.start()
    try:
        while len(acked) < 20 and writer.is_alive():
            stop.wait(0.05)
        seen = len(acked)
        result = cli(live, "backup", "--dir", str(tmp_path / "backups"))
        written_during = len(acked) - seen
    finally:
        stop.set()
        writer.join(10)
        service.stop()
    assert not failed, failed
    assert result.returncode == 0, result.stderr
    path = Path(result.stdout.split()[1])
    manifest = json.loads(manifest_path(path).read_text())
    assert manifest["count"] >= 2 * seen  # each message records a message and a todo
    assert written_during > 0, "the service kept acknowledging while the backup ran"
    restored = asyncio.run(restore(path, sqlite_at(tmp_path / "restored.db"), "dev"))
    assert restored.restored.report.intact
    assert restored.restored.report.count == manifest["count"]


def _rows(url: str) -> dict[str, list[tuple]]:
    return asyncio.run(rows(url))


# PostgreSQL -------------------------------------------------------------------------------


@pytest.fixture
async def postgres_target(postgres_url: str):
    url = await create_postgres_database()
    try:
        yield url
    finally:
        await drop_postgres_database(url)


def _scratch_of(target: str) -> re.Pattern[str]:
    return re.compile(re.escape(target[:40]) + r"_(restoring|replacing)_[0-9a-f]{12}")


def test_scratch_databases_are_named_after_their_target_within_postgres_length():
    for target in ("helionyx_test_b4308384c5a5", "x" * 63):
        for purpose in ("restoring", "replacing"):
            name = scratch_name(target, purpose)
            assert _scratch_of(target).fullmatch(name) and len(name) <= 63
    assert scratch_name("live", "restoring") != scratch_name("live", "restoring")


async def _scratch_databases(url: str) -> list[str]:
    """What restores into this database made for themselves and left behind."""
    own = _scratch_of(str(make_url(url).database))
    async with connected(url) as engine, engine.connect() as conn:
        names = (await conn.execute(text("SELECT datname FROM pg_database"))).scalars()
        return [name for name in names if own.fullmatch(name)]


@pytest.mark.postgres
async def test_postgres_backup_restore_and_the_overwrite_fence(
    postgres_url: str, postgres_target: str, tmp_path: Path
):
    await seed(postgres_url, *MESSAGES)
    result = await backup(postgres_url, "dev", tmp_path)
    match = NAME.fullmatch(result.path.name)
    assert match and match.groups() == ("dev", str(SEEDED), "dump")
    live = await rows(postgres_url)
    assert result.manifest.head_hash == live["events"][-1][-1]
    assert result.manifest.sha256 == sha256_of(result.path)

    restored = await restore(result.path, postgres_target, "dev")
    assert restored.restored.report.count == SEEDED
    assert await rows(postgres_target) == live

    await seed(postgres_url, "one more, after the backup")
    newer = await backup(postgres_url, "dev", tmp_path)
    with pytest.raises(RestoreRefused, match=f"holds {SEEDED} events"):
        await restore(newer.path, postgres_target, "dev")
    assert await rows(postgres_target) == live

    replaced = await restore(newer.path, postgres_target, "dev", overwrite=True)
    assert replaced.replaced_events == SEEDED
    assert await rows(postgres_target) == await rows(postgres_url)
    assert await _scratch_databases(postgres_target) == []


@pytest.mark.postgres
async def test_postgres_a_dump_of_a_tampered_database_is_refused(
    postgres_url: str, postgres_target: str, tmp_path: Path
):
    await seed(postgres_url, *MESSAGES)
    await seed(postgres_target, "the target's own event")
    async with connected(postgres_url) as engine, engine.begin() as conn:
        await conn.execute(text("ALTER TABLE events DISABLE TRIGGER USER"))
        await conn.execute(text('UPDATE events SET payload = \'{"text":"forged"}\' WHERE seq = 2'))
    dump = tmp_path / "tampered.dump"
    await run_tool("pg_dump", "--format=custom", f"--file={dump}", url=postgres_url)
    before = await rows(postgres_target)

    with pytest.raises(BackupCorrupt, match="broken at seq 2") as refused:
        await restore(dump, postgres_target, "dev", overwrite=True)
    assert refused.value.first_bad_seq == 2
    assert await rows(postgres_target) == before
    assert await _scratch_databases(postgres_target) == []
    with pytest.raises(BackupCorrupt, match="broken at seq 2"):
        await backup(postgres_url, "dev", tmp_path / "refused")
    assert not list((tmp_path / "refused").iterdir())


@pytest.mark.postgres
async def test_postgres_another_tiers_backup_needs_the_flag_and_is_refenced(
    postgres_url: str, postgres_target: str, tmp_path: Path
):
    await seed(postgres_url, *MESSAGES, tier="staging")
    result = await backup(postgres_url, "staging", tmp_path)
    assert result.path.name.startswith("helionyx-staging-")
    await seed(postgres_target, tier="dev")  # migrated, empty

    with pytest.raises(RestoreRefused, match="backup of the staging tier, not dev"):
        await restore(result.path, postgres_target, "dev")
    restored = await restore(result.path, postgres_target, "dev", overwrite=True)
    assert restored.backup_tier == "staging"
    assert await recorded_tier(postgres_target) == "dev"
    assert (await rows(postgres_target))["events"] == (await rows(postgres_url))["events"]
