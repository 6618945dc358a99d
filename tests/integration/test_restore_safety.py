"""A restore never runs under a serving service, always keeps the database it replaces
(and says how to go back to it), needs the tier typed on live; a backup's manifest says
what it is a copy of, without one secret."""

from __future__ import annotations

import argparse
import asyncio
import json
import shlex
import socket
import sqlite3
import subprocess
from collections.abc import AsyncIterator, Iterator
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from app.cli.backup import cmd_backup, cmd_restore
from app.cli.main import parser
from app.config import PROJECT_ROOT, load_settings
from app.container import build_container, close_container
from app.run_file import run_file_path
from app.settings import Settings
from infrastructure.backup.base import connected, snapshot_of
from infrastructure.backup.manifest import manifest_path
from infrastructure.backup.orchestration import RestoreRefused, backup, restore
from infrastructure.migrate import head_revision
from infrastructure.postgres.backup import libpq_environ
from infrastructure.sqlite.backup import inspect_file
from tests.conftest import create_postgres_database, drop_postgres_database
from tests.conftest import test_environ as environ_for  # not collected as a test
from tests.integration.test_backup_restore import rows, seed, sqlite_at

OLDER = tuple(f"todo: older {n}" for n in range(9))  # 18 events: a message and a todo each
NEWER = (*(f"todo: newer {n}" for n in range(7)), "hello")  # 15 more: 33


def settings_at(root: Path, url: str, tier: str = "dev", **extra: str) -> Settings:
    """Settings whose run file and var/ live under `root`, not the checkout."""
    if not (root / "config").exists():
        (root / "config").symlink_to(PROJECT_ROOT / "config")
    return load_settings(tier, environ=environ_for(url, **extra), root=root, use_env_file=False)


async def run_restore(
    settings: Settings, file: Path, *, yes: bool = False, confirm: str | None = None
) -> int:
    container = build_container(settings)
    try:
        args = argparse.Namespace(file=file, yes_overwrite=yes, confirm=confirm)
        return await cmd_restore(container, settings, args)
    finally:
        await close_container(container)


def data_dir(root: Path) -> Path:
    (root / "data").mkdir()
    return root / "data"


def replaced_in(directory: Path) -> list[str]:
    return [path.name for path in directory.iterdir() if "replaced" in path.name]


async def count(url: str) -> int:
    async with connected(url) as engine, engine.connect() as conn:
        state = await snapshot_of(conn)
    assert state.report.intact, state.report.problem
    return state.report.count


@pytest.fixture
def serving(tmp_path: Path) -> Iterator[tuple[int, int]]:
    """What a running service looks like from outside: a live process named by the run
    file, and its port accepting connections. Returns (port, pid)."""
    listener = socket.create_server(("127.0.0.1", 0))
    sleeper = subprocess.Popen(["sleep", "60"])
    try:
        yield listener.getsockname()[1], sleeper.pid
    finally:
        sleeper.kill()
        sleeper.wait()
        listener.close()


def write_run_file_for(settings: Settings, pid: int) -> Path:
    # app.run_file.write_run_file names the calling process, which running_instance
    # never counts as another instance: this names the stand-in.
    path = run_file_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps(
            {
                "pid": pid,
                "port": settings.service.port,
                "host": "127.0.0.1",
                "started_at": datetime.now(UTC).isoformat(),
            }
        )
    )
    return path


async def test_restore_is_refused_while_the_tiers_service_runs(
    database_url: str, serving: tuple[int, int], tmp_path: Path, capsys
):
    port, pid = serving
    await seed(database_url, *OLDER)
    made = await backup(database_url, "dev", tmp_path / "backups")
    settings = settings_at(tmp_path, database_url, HELIONYX_PORT=str(port))
    run_file = write_run_file_for(settings, pid)
    before = await rows(database_url)

    assert await run_restore(settings, made.path, yes=True) == 1
    err = capsys.readouterr().err
    assert f"the service is running as pid {pid} ({run_file})" in err
    assert "stop it first with `make stop ENV=dev`" in err and "Nothing was changed" in err
    assert await rows(database_url) == before
    assert replaced_in(made.path.parent) == []


async def test_sqlite_restore_is_refused_while_another_connection_has_the_file(
    tmp_path: Path,
):
    url = sqlite_at(tmp_path / "live.db")
    await seed(url, *OLDER)
    made = await backup(url, "dev", tmp_path / "backups")
    with closing(sqlite3.connect(tmp_path / "live.db")) as holder:  # like an idle service
        holder.execute("SELECT count(*) FROM events").fetchall()
        with pytest.raises(RestoreRefused, match="another process has .*live.db open"):
            await restore(made.path, url, "dev", overwrite=True)
    assert replaced_in(tmp_path) == []
    assert (await restore(made.path, url, "dev", overwrite=True)).restored.report.count == 18


async def test_sqlite_restore_keeps_the_replaced_database_and_says_how_to_return(
    tmp_path: Path, capsys
):
    url = sqlite_at(data_dir(tmp_path) / "helionyx.db")
    await seed(url, *OLDER)
    older = await backup(url, "dev", tmp_path / "backups")
    await seed(url, *NEWER)
    newest = await rows(url)
    assert len(newest["events"]) == 33
    settings = settings_at(tmp_path, url)

    assert await run_restore(settings, older.path) == 1  # events, and no YES: nothing kept
    assert "holds 33 events" in capsys.readouterr().err
    assert replaced_in(tmp_path / "data") == []

    assert await run_restore(settings, older.path, yes=True) == 0
    out = capsys.readouterr().out
    assert await count(url) == 18
    kept_line = out.strip().splitlines()[-1]
    assert "the replaced database (33 events) is kept at" in kept_line
    command = shlex.split(kept_line.split("to return to it: ")[1])
    assert command[:3] == ["make", "restore", "ENV=dev"] and command[4] == "YES=1"
    kept = Path(command[3].removeprefix("FILE="))
    assert kept.parent == tmp_path / "data" and kept.name.startswith("helionyx-dev-replaced-")
    manifest = json.loads(manifest_path(kept).read_text())
    assert (manifest["count"], manifest["head_hash"]) == (33, newest["events"][-1][-1])
    assert manifest["configuration"]["tier"] == "dev"
    assert (await inspect_file(kept)).report.count == 33  # a verified backup of its own

    assert await run_restore(settings, kept, yes=True) == 0
    assert await rows(url) == newest


@pytest.mark.postgres
async def test_postgres_restore_keeps_the_replaced_database_and_the_command_returns_to_it(
    postgres_url: str, tmp_path: Path, capsys
):
    await seed(postgres_url, *OLDER)
    older = await backup(postgres_url, "dev", tmp_path)
    await seed(postgres_url, *NEWER)
    newest = await rows(postgres_url)
    settings = settings_at(tmp_path, postgres_url)

    assert await run_restore(settings, older.path, yes=True) == 0
    assert await count(postgres_url) == 18
    kept_line = capsys.readouterr().out.strip().splitlines()[-1]
    assert "the replaced database (33 events) is kept as the database" in kept_line
    kept = kept_line.split("kept as the database ")[1].split()[0]
    assert await count(make_url(postgres_url).set(database=kept)) == 33

    command = shlex.split(kept_line.split("as the tables' owner: ")[1])
    assert command[0] == "psql"
    done = await asyncio.to_thread(
        subprocess.run,
        command,
        env=libpq_environ(postgres_url),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert await rows(postgres_url) == newest


@pytest.fixture
async def live_target(postgres_url: str) -> AsyncIterator[str]:
    url = await create_postgres_database()
    try:
        await seed(url, "the live database's own event", tier="live")
        yield url
    finally:
        await drop_postgres_database(url)


@pytest.mark.postgres
async def test_live_needs_the_tier_typed(
    postgres_url: str, live_target: str, tmp_path: Path, capsys
):
    await seed(postgres_url, *OLDER)
    made = await backup(postgres_url, "dev", tmp_path)
    settings = settings_at(tmp_path, live_target, tier="live")
    before = await rows(live_target)

    for yes, confirm in ((True, None), (False, None), (True, "dev"), (True, "LIVE")):
        assert await run_restore(settings, made.path, yes=yes, confirm=confirm) == 1
        [line] = capsys.readouterr().err.strip().splitlines()
        assert "CONFIRM=live" in line and "Nothing was changed" in line
    assert await rows(live_target) == before

    assert await run_restore(settings, made.path, confirm="live") == 0
    assert await count(live_target) == 18
    assert "kept as the database" in capsys.readouterr().out


async def test_a_word_that_is_not_the_tier_is_refused_and_the_tier_confirms(tmp_path: Path, capsys):
    url = sqlite_at(data_dir(tmp_path) / "helionyx.db")
    await seed(url, *OLDER)
    made = await backup(url, "dev", tmp_path / "backups")
    settings = settings_at(tmp_path, url)
    assert await run_restore(settings, made.path, yes=True, confirm="staging") == 1
    assert "CONFIRM=staging does not name the tier" in capsys.readouterr().err
    assert await run_restore(settings, made.path, confirm="dev") == 0
    args = parser().parse_args(["restore", str(made.path), "--confirm", "live"])
    assert (args.confirm, args.yes_overwrite) == ("live", False)


SECRETS = {
    "HELIONYX_API_TOKEN": "api-token-never-in-a-manifest-1",
    "HELIONYX_DIGEST_KEY": "digest-key-never-in-a-manifest-2",
    "TELEGRAM_BOT_TOKEN": "123456:bot-token-never-in-a-manifest-3",
    "TELEGRAM_WEBHOOK_SECRET": "webhook-secret-never-in-a-manifest-4",
    "HELIONYX_LLM_API_KEY": "llm-key-never-in-a-manifest-5",
}


async def test_a_backup_manifest_says_what_it_copied_and_holds_no_secret(
    database_url: str, tmp_path: Path
):
    secrets = dict(SECRETS)
    url = make_url(database_url)
    if url.get_backend_name() == "postgresql":  # the test server trusts 127.0.0.1
        secrets["HELIONYX_MIGRATION_DATABASE_URL"] = url.set(
            password="owner-password-never-in-a-manifest-6"
        ).render_as_string(False)
        database_url = url.set(password="db-password-never-in-a-manifest-7").render_as_string(False)
    settings = settings_at(tmp_path, database_url, **secrets)
    await seed(settings.database_url, *OLDER)
    container = build_container(settings)
    try:
        args = argparse.Namespace(dir=tmp_path / "backups")
        assert await cmd_backup(container, settings, args) == 0
        head = await container.event_log().head()
    finally:
        await close_container(container)

    [written] = (tmp_path / "backups").glob("*.manifest.json")
    raw = written.read_text()
    manifest = json.loads(raw)
    assert manifest["tier"] == "dev"
    created = datetime.fromisoformat(manifest["created_at"])
    assert created.utcoffset() is not None and created.utcoffset().total_seconds() == 0
    assert manifest["schema_revision"] == head_revision()
    assert (manifest["last_seq"], manifest["head_hash"]) == (head.last_seq, head.last_hash)
    assert (manifest["digest"]["seq"], manifest["digest"]["hash"]) == (18, head.last_hash)
    assert manifest["configuration"] == json.loads(json.dumps(settings.redacted()))
    assert manifest["configuration"]["database"]["url"]
    passwords = [make_url(u).password for u in (database_url, settings.migration_database_url)]
    for name, secret in [*secrets.items(), *(("a database password", p) for p in passwords)]:
        if name.endswith("DATABASE_URL"):
            secret = make_url(secret).password
        assert secret is None or secret not in raw, f"{name} is in the manifest"
