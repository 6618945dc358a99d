"""A database that fails inside a transaction (a dropped connection) is the service's
outage, not the client's mistake: StorageUnavailable (503), never a driver error (500)."""

from __future__ import annotations

import pytest
from sqlalchemy import text

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
