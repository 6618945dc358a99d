"""Alembic environment, async, for SQLite and PostgreSQL.

Two ways in:
- `alembic upgrade head` from a shell: the URL and tier come from the Helionyx
  configuration of the tier named by ENV.
- `infrastructure.migrate.upgrade()` from our own code: it passes an open connection and
  the tier through `config.attributes`, so no second event loop is started.
"""

from __future__ import annotations

import asyncio
import os
import sys
from logging.config import fileConfig

from alembic import context
from sqlalchemy import Connection, inspect, select
from sqlalchemy.exc import DBAPIError

from infrastructure.database import create_engine
from infrastructure.migrate import TierMismatchError
from infrastructure.tables import helionyx_meta, metadata

config = context.config
if config.config_file_name is not None and not config.attributes.get("connection"):
    fileConfig(config.config_file_name, disable_existing_loggers=False)


def _check_tier(connection: Connection, tier: str) -> None:
    """Refuse to migrate a database that was migrated for another tier (fencing)."""
    if not inspect(connection).has_table(helionyx_meta.name):
        return
    recorded = connection.execute(
        select(helionyx_meta.c.value).where(helionyx_meta.c.key == "tier")
    ).scalar()
    if recorded is not None and recorded != tier:
        raise TierMismatchError(f"this database belongs to the {recorded} tier, not {tier}")


def _run(connection: Connection) -> None:
    _check_tier(connection, config.attributes["tier"])
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=True,
        transaction_per_migration=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_from_shell() -> None:
    """Says which tier and database it migrates, and why it cannot, in one line each."""
    # Imported here so that migrating from our own code does not load the app layer.
    from app.config import ConfigError, load_settings
    from infrastructure.connection_problems import explain
    from infrastructure.database import describe, make_room_for

    try:
        settings = load_settings(os.environ.get("ENV"))
    except ConfigError as e:
        raise SystemExit(f"alembic: {e}") from None
    url = settings.migration_database_url  # as the tables' owner
    print(f"alembic: tier {settings.tier} (ENV), database {describe(url)}", file=sys.stderr)
    config.attributes["tier"] = settings.tier
    make_room_for(url)
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run)
            await connection.commit()
    except TierMismatchError as e:
        raise SystemExit(f"alembic: {e}: set ENV to the database's tier") from None
    except (DBAPIError, OSError) as e:
        raise SystemExit(f"alembic: {explain(e, url, tier=settings.tier)}") from None
    finally:
        await engine.dispose()


if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported: triggers differ per dialect")

connection = config.attributes.get("connection")
if connection is None:
    asyncio.run(_run_from_shell())
else:
    _run(connection)
