"""The PostgreSQL engine's sessions are set as the service needs them."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from infrastructure.database import create_engine
from tests.conftest import postgres_admin_url

pytestmark = pytest.mark.postgres


@pytest.mark.skipif(postgres_admin_url() is None, reason="needs HELIONYX_TEST_POSTGRES_URL")
async def test_commits_are_durable_and_plans_fit_each_lookup():
    """synchronous_commit: an acknowledged event survives a crash of the server.
    plan_cache_mode: a generic plan made while the idempotency records were few kept
    `key IN (...)` a sequential scan as they grew (the import ran 3x slower)."""
    engine = create_engine(postgres_admin_url() or "")
    try:
        async with engine.connect() as conn:
            shown = {
                name: (await conn.execute(text(f"SHOW {name}"))).scalar()
                for name in ("synchronous_commit", "plan_cache_mode")
            }
    finally:
        await engine.dispose()
    assert shown == {"synchronous_commit": "on", "plan_cache_mode": "force_custom_plan"}
