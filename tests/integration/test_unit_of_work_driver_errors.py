"""A database that fails inside a transaction (a dropped connection) is the service's
outage, not the client's mistake: StorageUnavailable (503), never a driver error (500)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from domain.errors import StorageUnavailable
from domain.events import NewEvent

pytestmark = pytest.mark.postgres


@pytest.fixture
def database_url(postgres_url: str) -> str:
    return postgres_url


async def test_a_connection_dropped_mid_transaction_is_storage_unavailable(container, client):
    engine = container.engine()
    with pytest.raises(StorageUnavailable, match="failed during the transaction"):
        async with container.uow_factory()(write=True) as uow:
            await uow.events.append([NewEvent("note.recorded", "note", "n1", {"t": 1})])
            async with engine.connect() as other:
                await other.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                        "AND state LIKE 'idle in transaction%'"
                    )
                )
            await uow.events.get(1)
    # Nothing was committed, and the next request is served on a fresh connection.
    response = await client.post("/api/v1/ingest/message", json={"text": "after"})
    assert response.status_code == 201
    assert response.json()["seq"] == 1


@asynccontextmanager
async def connected_elsewhere(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection of its own, outside the service's pool (and its application_name)."""
    other = create_async_engine(engine.url, poolclass=NullPool)
    try:
        async with other.connect() as conn:
            yield conn
    finally:
        await other.dispose()


async def test_pooled_connections_the_server_dropped_are_replaced_before_use(container, client):
    # A PostgreSQL restart or an idle timeout ends every idle connection of the pool; the
    # requests after it are served on fresh ones (infrastructure/postgres/engine.py).
    for n in range(3):
        assert (
            await client.post("/api/v1/ingest/message", json={"text": f"m{n}"})
        ).status_code == 201
    engine = container.engine()
    pooled = engine.pool.checkedin()
    assert pooled >= 1
    async with connected_elsewhere(engine) as other:
        ended = await other.execute(
            text(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                "AND application_name = 'helionyx'"
            )
        )
        assert ended.scalar_one() >= pooled
    for n in range(3, 6):
        response = await client.post("/api/v1/ingest/message", json={"text": f"m{n}"})
        assert response.status_code == 201, response.text
        assert response.json()["seq"] == n + 1
    assert (await client.get("/api/v1/events/6")).status_code == 200


async def test_a_writer_takes_its_connection_unpinged_and_a_reader_pinged(container):
    # The writer's first statement, the event log's lock, is its check that the connection
    # is alive (infrastructure/postgres/unit_of_work.py): one round trip fewer a write.
    engine = container.engine()
    await engine.dispose()  # the connections from here on log what they are sent
    sent: list[str] = []

    def log_queries(dbapi_connection, _record) -> None:
        raw = dbapi_connection.driver_connection
        raw.add_query_logger(lambda logged: sent.append(logged.query))

    event.listen(engine.sync_engine, "connect", log_queries)
    async with container.uow_factory()(write=True) as uow:
        await uow.events.append([NewEvent("note.recorded", "note", "n1", {"t": 1})])
        await uow.commit()
    await asyncio.sleep(0.05)  # asyncpg calls its query loggers soon after, not at once
    written, sent[:] = list(sent), []
    async with container.uow_factory()() as uow:
        assert (await uow.events.get(1)) is not None
    await asyncio.sleep(0.05)
    assert written[0] == "BEGIN;" and "SELECT 1" not in written, written
    assert sent[0] == "SELECT 1", sent


async def test_a_writer_whose_unpinged_connection_was_dropped_begins_again(container):
    engine = container.engine()
    async with container.uow_factory()(write=True) as uow:
        await uow.events.append([NewEvent("note.recorded", "note", "n1", {"t": 1})])
        await uow.commit()
    assert engine.pool.checkedin() >= 1
    async with connected_elsewhere(engine) as other:
        await other.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid() "
                "AND application_name = 'helionyx'"
            )
        )
    async with container.uow_factory()(write=True) as uow:
        [event] = await uow.events.append([NewEvent("note.recorded", "note", "n2", {"t": 2})])
        await uow.commit()
    assert event.seq == 2
