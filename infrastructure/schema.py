"""What the database says about itself: dialect, migration revision, recorded tier."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import inspect, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from infrastructure.tables import helionyx_meta


@dataclass(frozen=True)
class DatabaseState:
    dialect: str
    revision: str | None
    tier: str | None


async def database_state(engine: AsyncEngine) -> DatabaseState:
    async with engine.connect() as connection:
        tables = await connection.run_sync(lambda conn: set(inspect(conn).get_table_names()))
        revision = tier = None
        if "alembic_version" in tables:
            revision = (
                await connection.execute(text("SELECT version_num FROM alembic_version"))
            ).scalar()
        if helionyx_meta.name in tables:
            tier = (
                await connection.execute(
                    select(helionyx_meta.c.value).where(helionyx_meta.c.key == "tier")
                )
            ).scalar()
    return DatabaseState(engine.dialect.name, revision, tier)


def problems(state: DatabaseState, *, expected_revision: str, expected_tier: str) -> list[str]:
    """Why the service must not serve this database, or nothing when it may."""
    found: list[str] = []
    if state.revision is None:
        found.append("the database has no schema: run `make migrate`")
    elif state.revision != expected_revision:
        found.append(
            f"schema is at {state.revision}, the code expects {expected_revision}: "
            "run `make migrate`"
        )
    if state.tier is not None and state.tier != expected_tier:
        found.append(f"this database belongs to the {state.tier} tier, not {expected_tier}")
    return found
