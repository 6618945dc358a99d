"""The one place that tells the backends apart: a database URL names its backend.

Each backend (infrastructure/sqlite/, infrastructure/postgres/) implements the same ports
end to end (event store, idempotency records, read models, unit of work, chain
verification) and translates its own driver's errors; nothing outside them asks which
database it is on. The container (app/container.py) builds from `backend_for(url)`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

if TYPE_CHECKING:
    from domain.chain import ChainReport
    from domain.event_log import ChainVerification, EventLog
    from infrastructure.unit_of_work import SqlUnitOfWork


class Backend(Protocol):
    name: str  # SQLAlchemy's backend name: "sqlite", "postgresql"
    title: str  # for people: "SQLite", "PostgreSQL"
    guard_triggers: tuple[str, ...]  # the triggers that keep the event log append-only

    @property
    def unit_of_work(self) -> type[SqlUnitOfWork]: ...

    def create_engine(self, url: URL, *, pool_size: int = 5) -> AsyncEngine: ...

    def database_file(self, url: URL) -> Path | None:
        """The file the database lives in, if it is one (SQLite)."""
        ...

    def chain_verification(self, url: URL, engine: AsyncEngine,
                           event_log: EventLog) -> ChainVerification: ...

    async def verify_on(self, conn: AsyncConnection) -> ChainReport:
        """The chain of the database `conn` is on, as `chain_verification` checks it: a
        backup's copy, a restore target."""
        ...

    async def enabled_triggers(self, engine: AsyncEngine) -> set[str]: ...

    async def restore_triggers(self, engine: AsyncEngine, missing: list[str]) -> None:
        """Create (or enable again) the guard triggers named in `missing`."""
        ...


def backend_for(url: str | URL) -> Backend:
    name = make_url(url).get_backend_name()
    # Imported on demand: a process uses one backend, and needs only its driver.
    if name == "sqlite":
        from infrastructure.sqlite.backend import SQLITE

        return SQLITE
    if name == "postgresql":
        from infrastructure.postgres.backend import POSTGRES

        return POSTGRES
    raise ValueError(f"unsupported database {name!r}: use SQLite or PostgreSQL")
