"""The tests' copies of a migrated database (tests/support/schema_templates.py): at the
latest revision, each with a log id of its own, and the templates gone at the end."""

from __future__ import annotations

import sqlite3
import uuid
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url

from infrastructure.database import create_engine
from infrastructure.migrate import head_revision
from tests.conftest import drop_postgres_database, postgres_admin_url
from tests.support.schema_templates import TEMPLATE_PREFIX, SchemaTemplates


async def facts(url: str) -> tuple[str, str, str]:
    """The revision, tier and log id a database holds."""
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            revision = await connection.scalar(text("SELECT version_num FROM alembic_version"))
            rows = await connection.execute(text("SELECT key, value FROM helionyx_meta"))
            meta = dict(rows.all())
    finally:
        await engine.dispose()
    return revision, meta["tier"], meta["log_id"]


async def test_sqlite_copies_are_at_head_with_a_log_id_each(tmp_path: Path) -> None:
    templates = SchemaTemplates(None)
    first, second = tmp_path / "first.db", tmp_path / "second.db"
    templates.copy_sqlite("dev", first)
    templates.copy_sqlite("dev", second)

    one = await facts(f"sqlite+aiosqlite:///{first}")
    other = await facts(f"sqlite+aiosqlite:///{second}")
    assert one[:2] == other[:2] == (head_revision(), "dev")
    assert one[2] != other[2]
    assert uuid.UUID(one[2]) and uuid.UUID(other[2])

    with pytest.raises(FileExistsError):
        templates.copy_sqlite("dev", first)
    directory = templates.directory
    assert directory is not None and (directory / "dev.db").exists()
    await templates.remove()
    assert not directory.exists()
    assert first.exists() and sqlite3.connect(first).execute("SELECT 1").fetchone() == (1,)


@pytest.mark.postgres
async def test_postgres_copies_are_at_head_with_a_log_id_each() -> None:
    admin = postgres_admin_url()
    if not admin:
        pytest.skip("PostgreSQL not configured")
    templates = SchemaTemplates(admin)
    names = [f"helionyx_test_{uuid.uuid4().hex[:12]}" for _ in range(2)]
    urls = [await templates.create_postgres("staging", name) for name in names]
    made = templates.postgres_names
    assert len(made) == 1 and made[0].startswith(TEMPLATE_PREFIX)
    try:
        one, other = [await facts(url) for url in urls]
        assert one[:2] == other[:2] == (head_revision(), "staging")
        assert one[2] != other[2]
    finally:
        await templates.remove()
        for url in urls:
            await drop_postgres_database(url)

    dsn = make_url(admin).set(drivername="postgresql").render_as_string(hide_password=False)
    connection = await asyncpg.connect(dsn)
    try:
        left = await connection.fetch(
            "SELECT datname FROM pg_database WHERE datname = ANY($1::text[])", made
        )
    finally:
        await connection.close()
    assert left == []
