"""Run alembic from our own code, on a connection we already hold."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.ext.asyncio import AsyncEngine

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
