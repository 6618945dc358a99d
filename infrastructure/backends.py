"""The one place that tells the backends apart: a database URL names its backend.

Each backend (infrastructure/sqlite/, infrastructure/postgres/) implements the same ports
end to end (event store, idempotency records, read models, unit of work, chain
verification, backup and restore, the service's database role) and translates its own
driver's errors; nothing outside them asks which database it is on. The container
(app/container.py) builds from `backend_for(url)`; a backup file names its backend by
how it begins (`backend_of_backup`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

if TYPE_CHECKING:
    from domain.chain import ChainReport
    from domain.event_log import ChainVerification, EventLog
    from infrastructure.backup.base import DatabaseSnapshot, RestoreSteps
    from infrastructure.postgres.roles import Grants
    from infrastructure.unit_of_work import SqlUnitOfWork


@dataclass(frozen=True)
class BackupFormat:
    """How a backend's backups are written, as their manifests and names say it."""

    extension: str  # of the file: "sqlite3", "dump"
    name: str  # the manifest's `format`
    consistency: str  # the manifest's `consistency`: how the copy is one moment's
    magic: bytes  # how every such file begins
    spelled: str  # what such a file is, for people: "a SQLite database"


class Backend(Protocol):
    name: str  # SQLAlchemy's backend name: "sqlite", "postgresql"
    title: str  # for people: "SQLite", "PostgreSQL"
    tiers: tuple[str, ...]  # the tiers it may serve (staging and live: PostgreSQL only)
    guard_triggers: tuple[str, ...]  # the triggers that keep the event log append-only
    backup_format: BackupFormat

    @property
    def unit_of_work(self) -> type[SqlUnitOfWork]: ...

    def create_engine(self, url: URL, *, pool_size: int = 5) -> AsyncEngine: ...

    def database_file(self, url: URL) -> Path | None:
        """The file the database lives in, if it is one (SQLite)."""
        ...

    def chain_verification(
        self, url: URL, engine: AsyncEngine, event_log: EventLog
    ) -> ChainVerification: ...

    async def verify_on(self, conn: AsyncConnection) -> ChainReport:
        """The chain of the database `conn` is on, as `chain_verification` checks it: a
        backup's copy, a restore target."""
        ...

    async def enabled_triggers(self, engine: AsyncEngine) -> set[str]: ...

    async def restore_triggers(self, engine: AsyncEngine, missing: list[str]) -> None:
        """Create (or enable again) the guard triggers named in `missing`."""
        ...

    async def grant_runtime_role(self, owner: AsyncEngine, runtime_url: str) -> Grants | None:
        """As the tables' owner (`owner`), give the service's role exactly what it uses.
        None when there is no role to grant: a backend without roles, or the service
        connecting as the owner itself."""
        ...

    async def runtime_role_warning(self, engine: AsyncEngine) -> str | None:
        """Why the role `engine` connects as could get past the append-only triggers, as
        one warning, or None. Never raises for the database's sake."""
        ...

    async def copy_live(self, live: AsyncEngine, temporary: Path) -> DatabaseSnapshot:
        """Copy the database `live` is on into the file `temporary`, consistently while it
        serves, and verify the chain of exactly what was copied."""
        ...

    def restore_steps(self, backup: Path, target_url: str | URL) -> RestoreSteps:
        """How a backup file of this backend replaces the database at `target_url`."""
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


def backend_of_backup(path: Path) -> Backend:
    """The backend a backup file restores into, told by how the file begins; ValueError
    naming what it could have been when it is none of theirs."""
    from infrastructure.postgres.backend import POSTGRES
    from infrastructure.sqlite.backend import SQLITE

    known: tuple[Backend, ...] = (SQLITE, POSTGRES)
    with path.open("rb") as f:
        start = f.read(max(len(backend.backup_format.magic) for backend in known))
    for backend in known:
        if start.startswith(backend.backup_format.magic):
            return backend
    raise ValueError("neither " + " nor ".join(b.backup_format.spelled for b in known))
