"""The composition root: the only place that builds engines, repositories and services.

Built from the validated tier settings (config/base.yaml + config/<tier>.yaml + the
environment). Tests build one per test and swap providers with `override()`.
"""

from __future__ import annotations

from dependency_injector import containers, providers

from app.api.app import create_app
from app.health import Readiness
from app.settings import Settings
from domain.clock import SystemClock
from domain.event_log import EventLog
from domain.ingest import IngestService
from infrastructure.database import create_engine
from infrastructure.migrate import head_revision
from infrastructure.unit_of_work import SqlUnitOfWorkFactory


class Container(containers.DeclarativeContainer):
    __self__ = providers.Self()
    settings = providers.Dependency(instance_of=Settings)

    clock = providers.Singleton(SystemClock)
    engine = providers.Singleton(create_engine, settings.provided.database_url)
    uow_factory = providers.Singleton(SqlUnitOfWorkFactory, engine=engine, clock=clock)

    ingest_service = providers.Singleton(IngestService, uow_factory=uow_factory)
    event_log = providers.Singleton(EventLog, uow_factory=uow_factory)

    readiness = providers.Singleton(
        Readiness, engine=engine, tier=settings.provided.tier,
        expected_revision=providers.Callable(head_revision),
    )
    http_app = providers.Singleton(create_app, container=__self__)


def build_container(settings: Settings) -> Container:
    return Container(settings=settings)


async def close_container(container: Container) -> None:
    """Release what the container opened (an engine connects lazily, so this is cheap)."""
    await container.engine().dispose()
