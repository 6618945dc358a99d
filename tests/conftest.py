"""Shared fixtures: real databases (a SQLite file, a fresh PostgreSQL database), settings
built explicitly (never from the developer's own .env files), and containers per test."""

from __future__ import annotations

import asyncio
import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from app.config import load_settings
from app.container import Container, build_container, close_container
from app.settings import Settings
from infrastructure.database import create_engine
from infrastructure.migrate import upgrade
from tests.support.schema_templates import SchemaTemplates

POSTGRES_ENV = "HELIONYX_TEST_POSTGRES_URL"
API_TOKEN = "test-api-token-0123456789"

# `make test` runs the tests in parallel processes (pytest-xdist, `--dist loadgroup`).
# `make run` and the bench's `make` targets create the checkout's `.env.dev` where it is
# missing (a fresh clone): the tests that run them share one process, so two never race
# to create it.
MAKE_IN_CHECKOUT = pytest.mark.xdist_group("make-in-checkout")

# For a test whose outcome is settled before anything reaches storage (the bearer check
# runs before every route): the SQLite file alone, where `database_url` would run it on
# PostgreSQL too only to create and drop a database it never uses.
BEFORE_STORAGE = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def postgres_admin_url() -> str | None:
    url = os.environ.get(POSTGRES_ENV)
    if not url and os.environ.get("HELIONYX_REQUIRE_POSTGRES"):
        pytest.fail(
            f"{POSTGRES_ENV} is not set but HELIONYX_REQUIRE_POSTGRES is: "
            "PostgreSQL tests must run here"
        )
    return url


def pytest_report_header(config: pytest.Config) -> str:
    url = os.environ.get(POSTGRES_ENV)
    if url:
        return f"PostgreSQL tests: on ({make_url(url).render_as_string(hide_password=True)})"
    return f"PostgreSQL tests: SKIPPED, set {POSTGRES_ENV} to run them"


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """In an xdist worker under `--dist loadgroup`: every test marked `xdist_group` must
    carry its group in its node id by now, or the groups are run apart without a word
    (pytest 9.2 with pytest-xdist 3.8: pytest-dev/pytest-xdist#1386). Stop instead."""
    if not getattr(config.option, "loadgroup", False):
        return
    for item in items:
        if item.get_closest_marker("xdist_group") is not None and "@" not in item.nodeid:
            raise pytest.UsageError(
                f"pytest-xdist did not group {item.nodeid} (--dist loadgroup): this pytest "
                "and pytest-xdist do not work together (pytest-dev/pytest-xdist#1386)"
            )


# This process's databases migrated once and copied for each test that starts at the
# latest schema (tests/support/schema_templates.py); removed at the session's end.
TEMPLATES = SchemaTemplates(os.environ.get(POSTGRES_ENV))
AT_HEAD: set[str] = set()  # the URLs of databases made at the latest schema


def pytest_sessionfinish(session: pytest.Session) -> None:
    asyncio.run(TEMPLATES.remove())


def starts_at_head(request: pytest.FixtureRequest) -> bool:
    """Whether the test's database is made at the latest schema (of the dev tier) rather
    than empty: when the test asks for a `container`, which migrates it first anyway.
    A test that wants another tier's schema builds its container itself."""
    return "container" in request.fixturenames


async def create_postgres_database(at_head: bool = False) -> str:
    """A fresh database on the test server, empty or (`at_head`) copied from this
    process's migrated template of the dev tier; returns its URL."""
    import asyncpg

    admin = make_url(postgres_admin_url() or "")
    name = f"helionyx_test_{uuid.uuid4().hex[:12]}"
    if at_head:
        url = await TEMPLATES.create_postgres("dev", name)
        AT_HEAD.add(url)
        return url
    conn = await asyncpg.connect(_asyncpg_dsn(admin))
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return admin.set(database=name).render_as_string(hide_password=False)


async def drop_postgres_database(url: str) -> None:
    import asyncpg

    target = make_url(url)
    admin = make_url(postgres_admin_url() or "")
    conn = await asyncpg.connect(_asyncpg_dsn(admin))
    try:
        # With the databases a restore into it kept, those its printed command to go back
        # sets aside, and any scratch one a failed test left (infrastructure/postgres/backup.py).
        kept = await conn.fetch(
            "SELECT datname FROM pg_database WHERE starts_with(datname, $1) "
            "AND split_part(substr(datname, length($1) + 1), '_', 1) = ANY($2::text[])",
            f"{target.database}_",
            ["replaced", "restored", "restoring", "replacing"],
        )
        for name in [target.database, *(row["datname"] for row in kept)]:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


def _asyncpg_dsn(url) -> str:
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture
def sqlite_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    path = tmp_path / "helionyx.db"
    url = f"sqlite+aiosqlite:///{path}"
    if starts_at_head(request):
        TEMPLATES.copy_sqlite("dev", path)
        AT_HEAD.add(url)
    return url


@asynccontextmanager
async def fresh_postgres_database(at_head: bool = False) -> AsyncIterator[str]:
    """A fresh database on the test server for the block, empty or at the latest schema,
    dropped after it (the test is skipped where no server is configured)."""
    if not postgres_admin_url():
        pytest.skip(f"PostgreSQL not configured: set {POSTGRES_ENV}")
    url = await create_postgres_database(at_head)
    try:
        yield url
    finally:
        await drop_postgres_database(url)


@pytest.fixture
async def postgres_url(request: pytest.FixtureRequest) -> AsyncIterator[str]:
    async with fresh_postgres_database(starts_at_head(request)) as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def database_url(request: pytest.FixtureRequest) -> AsyncIterator[str]:
    """Each test using it runs once on a SQLite file and once on PostgreSQL."""
    if request.param == "sqlite":
        yield request.getfixturevalue("sqlite_url")
    else:
        async with fresh_postgres_database(starts_at_head(request)) as url:
            yield url


def test_environ(database_url: str, **extra: str) -> dict[str, str]:
    """A complete, explicit environment for a tier: nothing leaks in from the machine."""
    return {
        "HELIONYX_DATABASE_URL": database_url,
        "HELIONYX_API_TOKEN": API_TOKEN,
        "TELEGRAM_MODE": "off",
        "HELIONYX_LOG_LEVEL": "INFO",
        "HELIONYX_DIGEST_DIR": str(digest_dir()),
        **extra,
    }


def digest_dir() -> Path:
    """Where the tests' logs keep their digests: one file per log (its id is random), in a
    directory of this run's own, never the checkout's var/."""
    global _DIGEST_DIR
    if _DIGEST_DIR is None:
        _DIGEST_DIR = Path(tempfile.mkdtemp(prefix="helionyx-test-digests-"))
    return _DIGEST_DIR


_DIGEST_DIR: Path | None = None


def make_settings(database_url: str, tier: str = "dev", **extra: str) -> Settings:
    # Never the developer's own .env.<tier>: tests pass every value explicitly.
    return load_settings(tier, environ=test_environ(database_url, **extra), use_env_file=False)


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine on the test database, not migrated: tests of migrations start from none."""
    engine = create_engine(database_url)
    try:
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(database_url)


@pytest.fixture
async def container(settings: Settings) -> AsyncIterator[Container]:
    container = build_container(settings)
    if not (settings.database_url in AT_HEAD and settings.tier == "dev"):
        await upgrade(container.engine(), settings.tier)
    try:
        yield container
    finally:
        await close_container(container)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def _no_ambient_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Tests choose their configuration explicitly; the caller's ENV must not leak in."""
    monkeypatch.delenv("ENV", raising=False)
    yield


@pytest.fixture
async def client(container: Container) -> AsyncIterator:
    """The real app and container over HTTP-in-process, authenticated as the owner."""
    import httpx

    transport = httpx.ASGITransport(app=container.http_app())
    async with httpx.AsyncClient(
        transport=transport,
        base_url="http://testserver",
        headers={"Authorization": f"Bearer {API_TOKEN}"},
    ) as http:
        yield http
