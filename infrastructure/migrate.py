"""Run alembic from our own code, on a connection we already hold; then give the
service's database role what it uses, where the backend has roles (PostgreSQL)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncEngine

from infrastructure.backends import backend_for
from infrastructure.postgres.roles import Grants, RoleSetupError  # the one backend with roles

if TYPE_CHECKING:
    from alembic.config import Config

# alembic is imported where it is used: every operator command imports this module, and
# only `migrate` needs alembic (~0.1 s of every command's start).

ROOT = Path(__file__).resolve().parents[1]


class TierMismatchError(RuntimeError):
    """The database was migrated for another tier; migrating it for this one is refused."""


def alembic_config(tier: str) -> Config:
    from alembic.config import Config

    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    config.attributes["tier"] = tier
    return config


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config("dev")).get_current_head()
    assert head is not None, "no migrations found"
    return head


__all__ = [
    "Grants",
    "RoleSetupError",
    "TierMismatchError",
    "alembic_config",
    "downgrade",
    "grant_runtime_role_at",
    "head_revision",
    "migrate",
    "startup_warning",
    "upgrade",
]


async def migrate(owner_url: str, runtime_url: str, tier: str) -> Grants | None:
    """`make migrate`: upgrade to head as the tables' owner (`owner_url`, the migration
    URL), then, on PostgreSQL when the service connects as another role, create that role
    if missing and grant it exactly what the service uses (infrastructure/postgres/roles.py).
    Every run grants again, so tables a new migration added are covered. None when no
    role was granted anything (SQLite, or one role for both)."""
    from infrastructure.database import create_engine, make_room_for
    from infrastructure.log_facts import restore_guard_triggers

    make_room_for(owner_url)
    engine = create_engine(owner_url, pool_size=1)
    try:
        await upgrade(engine, tier)
        # Guard triggers someone dropped or disabled by hand come back (the service
        # refuses writes without them: domain/log_guard.py).
        await restore_guard_triggers(engine)
        return await backend_for(owner_url).grant_runtime_role(engine, runtime_url)
    finally:
        await engine.dispose()


async def grant_runtime_role_at(owner_url: str, runtime_url: str) -> Grants | None:
    """The role setup of `migrate` alone, on an engine of its own (after a restore)."""
    from infrastructure.database import create_engine

    engine = create_engine(owner_url, pool_size=1)
    try:
        return await backend_for(owner_url).grant_runtime_role(engine, runtime_url)
    finally:
        await engine.dispose()


async def startup_warning(engine: AsyncEngine) -> str | None:
    """Why the role `engine` connects as could get past the append-only triggers, or None
    (the service at start, `migrate` when one role does both)."""
    return await backend_for(engine.url).runtime_role_warning(engine)


async def upgrade(engine: AsyncEngine, tier: str, revision: str = "head") -> None:
    from alembic import command

    await _run(engine, tier, lambda config: command.upgrade(config, revision))


async def downgrade(engine: AsyncEngine, tier: str, revision: str) -> None:
    from alembic import command

    await _run(engine, tier, lambda config: command.downgrade(config, revision))


async def _run(engine: AsyncEngine, tier: str, step) -> None:
    config = alembic_config(tier)
    async with engine.connect() as connection:

        def run(sync_connection) -> None:
            config.attributes["connection"] = sync_connection
            step(config)

        await connection.run_sync(run)
        await connection.commit()
