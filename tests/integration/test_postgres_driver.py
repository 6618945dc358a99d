"""What infrastructure/postgres/copy.py relies on: COPY inside the unit of work's
transaction when the driver has one open, and nothing at all when it has none."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from domain.errors import Conflict
from infrastructure.database import create_engine
from infrastructure.migrate import upgrade
from infrastructure.postgres.driver import copy_rows

pytestmark = pytest.mark.postgres

ROWS = [(f"key-{n}", n, "0" * 64) for n in range(100)]
COLUMNS = ("key", "event_seq", "request_hash")
COUNT = text("SELECT count(*) FROM idempotency_records")


async def test_copy_goes_into_the_open_transaction_and_rolls_back_with_it(postgres_url):
    engine = create_engine(postgres_url)
    try:
        await upgrade(engine, "dev")
        async with engine.connect() as conn:
            await conn.begin()
            # No statement yet: the driver has no transaction, and nothing is copied.
            assert await copy_rows(conn, "idempotency_records", COLUMNS, ROWS) is False
            assert await conn.scalar(COUNT) == 0  # this statement opens it
            assert await copy_rows(conn, "idempotency_records", COLUMNS, ROWS) is True
            assert await conn.scalar(COUNT) == 100
            await conn.rollback()
        async with engine.connect() as conn:
            await conn.begin()
            assert await conn.scalar(COUNT) == 0
            assert await copy_rows(conn, "idempotency_records", COLUMNS, ROWS[:1])
            with pytest.raises(Conflict):
                await copy_rows(conn, "idempotency_records", COLUMNS, ROWS[:1])
    finally:
        await engine.dispose()
