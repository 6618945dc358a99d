"""The PostgreSQL engine: durable commits, a small pool, connections checked on checkout."""

from __future__ import annotations

import json
from contextvars import ContextVar
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from infrastructure.fast_json import canonical_json

# True while a writer checks out its connection. The writer's first statement, the event
# log's lock, tells as well as the ping whether the connection is alive, and a writer
# that finds it dead starts again on a pinged one (unit_of_work.py): the ping would be a
# round trip of six for nothing.
UNPINGED_CHECKOUT: ContextVar[bool] = ContextVar("helionyx_unpinged_checkout", default=False)


def create_postgres_engine(url: URL, pool_size: int = 5) -> AsyncEngine:
    engine = create_async_engine(
        url,
        json_serializer=canonical_json,
        json_deserializer=json.loads,
        pool_size=pool_size,
        connect_args={
            "server_settings": {
                "synchronous_commit": "on",
                "application_name": "helionyx",
                # asyncpg prepares every statement; after five runs PostgreSQL may keep a
                # generic plan made while a table was small: `key IN ($1 .. $500)` on the
                # idempotency records then stayed a sequential scan as the table grew (20,000
                # imported messages: 200+ ms a lookup instead of ~1 ms, the import 3x slower).
                # https://www.postgresql.org/docs/current/runtime-config-query.html#GUC-PLAN-CACHE-MODE
                "plan_cache_mode": "force_custom_plan",
            }
        },
    )
    event.listen(engine.sync_engine, "checkout", _ping)
    return engine


def _ping(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """A pooled connection answers before it is handed out; one the server has dropped
    (a restart, an idle timeout) is replaced by a fresh one, and the request never sees
    it. SQLAlchemy's own `pool_pre_ping` does the same in three round trips on asyncpg
    (BEGIN, a statement, ROLLBACK: for PgBouncer's transaction mode, which Helionyx does
    not sit behind); this is one. Raising DisconnectionError from a checkout listener
    makes the pool discard the connection and check out another, up to three times
    (https://docs.sqlalchemy.org/en/20/core/pooling.html#disconnect-handling-pessimistic).
    A writer's checkout skips it (UNPINGED_CHECKOUT)."""
    if UNPINGED_CHECKOUT.get():
        return
    try:
        dbapi_connection.run_async(lambda raw: raw.execute("SELECT 1"))
    except Exception as e:  # whatever a dropped connection raises (asyncpg has several,
        # InternalClientError among them when the server's goodbye crossed the ping), a
        # connection that cannot answer `SELECT 1` is not handed out

        raise DisconnectionError(f"the pooled connection is gone ({e})") from e
