"""export → verify --file → import-log, from SQLite to PostgreSQL and back to SQLite: the
same events, every column, byte for byte, and the same read models and idempotency
records; and an import that is refused stores nothing."""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from app.cli.export import cmd_export
from app.cli.import_log import cmd_import_log
from app.cli.verify import verify_file
from app.container import Container, build_container, close_container
from app.settings import Settings
from domain.messages import IncomingMessage
from infrastructure.migrate import upgrade
from infrastructure.unit_of_work import SqlUnitOfWorkFactory
from tests.conftest import make_settings
from tests.fakes import FakeClock
from tests.integration.log_file_support import event_rows, read_models, write_scenario


class Tier:
    """A migrated database and the container of the command that runs on it."""

    def __init__(self, url: str) -> None:
        self.settings: Settings = make_settings(url)
        self.container: Container = build_container(self.settings)

    async def __aenter__(self) -> Tier:
        await upgrade(self.container.engine(), "dev")
        return self

    async def __aexit__(self, *exc: object) -> None:
        await close_container(self.container)

    async def export(self, out: Path) -> int:
        return await cmd_export(
            self.container, self.settings, argparse.Namespace(format="jsonl", out=str(out))
        )

    async def import_log(self, file: Path) -> int:
        return await cmd_import_log(self.container, self.settings, argparse.Namespace(file=file))

    async def head(self):
        return await self.container.event_log().head()


def event_lines(path: Path) -> list[bytes]:
    return path.read_bytes().splitlines()[1:]


@pytest.fixture
async def source(tmp_path: Path) -> AsyncIterator[Tier]:
    async with Tier(f"sqlite+aiosqlite:///{tmp_path / 'source.db'}") as tier:
        clock = FakeClock()
        await write_scenario(SqlUnitOfWorkFactory(tier.container.engine(), clock), clock)
        yield tier


@pytest.mark.postgres
async def test_sqlite_to_postgresql_and_back(
    source: Tier, postgres_url: str, tmp_path: Path, capsys
):
    engine = source.container.engine()
    rows, models = await event_rows(engine), await read_models(engine)
    assert len(models["todos"]) == 3 and len(models["idempotency_records"]) == 8

    first = tmp_path / "from-sqlite.jsonl"
    assert await source.export(first) == 0
    assert verify_file(first) == 0
    async with Tier(postgres_url) as postgres:
        assert await postgres.import_log(first) == 0
        said = capsys.readouterr().out
        assert f"{len(rows)} events from {first}" in said and "chain verified" in said
        assert await event_rows(postgres.container.engine()) == rows
        assert await read_models(postgres.container.engine()) == models
        audit = await postgres.container.integrity().audit()
        assert audit.intact and audit.digests_checked == 1  # the import's digest
        second = tmp_path / "from-postgresql.jsonl"
        assert await postgres.export(second) == 0

    assert event_lines(second) == event_lines(first)
    assert verify_file(second) == 0
    async with Tier(f"sqlite+aiosqlite:///{tmp_path / 'back.db'}") as back:
        assert await back.import_log(second) == 0
        assert await event_rows(back.container.engine()) == rows
        assert await read_models(back.container.engine()) == models
        third = tmp_path / "back.jsonl"
        assert await back.export(third) == 0
    assert event_lines(third) == event_lines(first)
    # Awkward numbers and text are in the file as they were sealed.
    text = first.read_text(encoding="utf-8")
    for spelled in (
        '"e16":1e+16',
        '"negative_zero":-0.0',
        '"huge":1.5e+300',
        '"float_of_int":1.2345678901234567e+19',
        "Привет, мир",
        "🎉🚀👍🏽",
        "Crème brûlée",
        '"idempotency_key":"ключ-🎉"',
    ):
        assert spelled in text


async def test_sqlite_to_sqlite_keeps_every_column(source: Tier, tmp_path: Path):
    export = tmp_path / "export.jsonl"
    assert await source.export(export) == 0
    async with Tier(f"sqlite+aiosqlite:///{tmp_path / 'copy.db'}") as copy:
        assert await copy.import_log(export) == 0
        assert await event_rows(copy.container.engine()) == await event_rows(
            source.container.engine()
        )
        assert await read_models(copy.container.engine()) == await read_models(
            source.container.engine()
        )


async def test_a_database_that_holds_events_is_refused_and_unchanged(
    source: Tier, database_url: str, tmp_path: Path, capsys
):
    export = tmp_path / "export.jsonl"
    assert await source.export(export) == 0
    async with Tier(database_url) as target:
        ingest = target.container.ingest_service()
        for n in range(3):
            await ingest.ingest(IncomingMessage(f"already here {n}"))
        await ingest.close()
        head, rows = await target.head(), await event_rows(target.container.engine())
        capsys.readouterr()
        assert await target.import_log(export) == 1
        err = capsys.readouterr().err
        assert err.count("\n") == 1
        assert (
            "import-log: refused: the database already holds 3 events (head seq 3); "
            "import-log loads only into an empty database. Nothing was stored."
        ) in err
        assert await target.head() == head
        assert await event_rows(target.container.engine()) == rows


@pytest.mark.parametrize("damage", ["edited", "truncated", "not-an-export"])
async def test_a_bad_file_stores_nothing(
    source: Tier, database_url: str, tmp_path: Path, damage: str, capsys
):
    export = tmp_path / "export.jsonl"
    assert await source.export(export) == 0
    lines = export.read_bytes().splitlines(keepends=True)
    if damage == "edited":  # the last line: every line before it would have gone in
        lines[-1] = lines[-1].replace("Привет".encode(), "Пока".encode())
    elif damage == "truncated":
        lines = lines[:-3]
    else:
        lines = [b'{"conversations": []}\n']
    export.write_bytes(b"".join(lines))
    async with Tier(database_url) as target:
        capsys.readouterr()
        assert await target.import_log(export) == 1
        err = capsys.readouterr().err
        assert err.startswith(f"import-log: refused: {export} line ") and err.count("\n") == 1
        assert (await target.head()).last_seq == 0
        assert await read_models(target.container.engine()) == {
            "todos": [],
            "notes": [],
            "tracks": [],
            "decisions": [],
            "idempotency_records": [],
        }


async def test_a_missing_file_is_one_line(database_url: str, tmp_path: Path, capsys):
    async with Tier(database_url) as target:
        assert await target.import_log(tmp_path / "nothing.jsonl") == 1
        assert "cannot read" in capsys.readouterr().err
